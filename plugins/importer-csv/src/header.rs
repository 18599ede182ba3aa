//! The header row: column names, checked.
//!
//! Names are trimmed. Trailing blank names (from delimiters at the end of the
//! header line) are dropped; any other blank name, a name that is not UTF-8,
//! or two names equal without regard to case make the header invalid.

use std::collections::HashMap;

use crate::records::{Fields, is_blank};

/// The column names of a file, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
}

impl Header {
    /// Checks the first record of a file and takes its names.
    pub fn parse(fields: Fields<'_>) -> Result<Header, String> {
        let kept = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| !is_blank(f))
            .last()
            .map_or(0, |(i, _)| i + 1);
        let mut names: Vec<String> = Vec::with_capacity(kept);
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(kept);
        for (index, field) in fields.iter().take(kept).enumerate() {
            let name = column_name(index + 1, field)?;
            check_unique(&mut seen, &name, index + 1)?;
            names.push(name);
        }
        Ok(Header { names })
    }

    /// The column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no column (never the case for a parsed header).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The trimmed name of column `number` (1-based).
fn column_name(number: usize, field: &[u8]) -> Result<String, String> {
    let name = std::str::from_utf8(field)
        .map_err(|_| format!("the name of column {number} is not valid UTF-8"))?
        .trim();
    if name.is_empty() {
        return Err(format!("column {number} has no name"));
    }
    Ok(name.to_string())
}

/// Records `name` as the name of column `number`; fails if an earlier
/// column in `seen` has the same name, compared without regard to case.
fn check_unique(
    seen: &mut HashMap<String, usize>,
    name: &str,
    number: usize,
) -> Result<(), String> {
    match seen.insert(name.to_lowercase(), number) {
        Some(first) => Err(format!(
            "columns {first} and {number} have the same name {name:?} (names are compared without regard to case)"
        )),
        None => Ok(()),
    }
}
