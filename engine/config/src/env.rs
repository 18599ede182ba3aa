//! `${NAME}` references to environment variables, resolved through an injected lookup so
//! tests never touch the process environment. `$${` writes a literal `${`; a `$` not followed
//! by `{` is just a dollar sign.

/// How the config reads environment variables: a name in, its value out (none when unset).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for the daemon (values that are not Unicode count as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Why a string's references could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// The variable is not set.
    #[error("environment variable {0} is not set")]
    Missing(String),
    /// The variable is set but empty where a value is required (a token).
    #[error("environment variable {0} is empty")]
    Empty(String),
    /// `${` without its `}`.
    #[error("`${{` without a closing `}}` (write `$${{` for a literal `${{`)")]
    Unterminated,
    /// Not a variable name.
    #[error(
        "`${{{0}}}` is not a variable name: use letters, digits and `_`, not starting with a digit"
    )]
    BadName(String),
}

/// `text` with every `${NAME}` replaced by the variable's value.
pub fn interpolate(text: &str, env: EnvLookup<'_>) -> Result<String, EnvError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or(EnvError::Unterminated)?;
            let name = &tail[..end];
            if !is_variable_name(name) {
                return Err(EnvError::BadName(name.to_string()));
            }
            out.push_str(&env(name).ok_or_else(|| EnvError::Missing(name.to_string()))?);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable named when `text` is exactly one reference, `${NAME}`.
pub fn sole_reference(text: &str) -> Option<&str> {
    text.strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .filter(|name| is_variable_name(name))
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn resolves_escapes_and_refuses() {
        let resolve = |text| interpolate(text, &env);
        assert_eq!(resolve("a ${TOKEN} b").as_deref(), Ok("a s3cret b"));
        assert_eq!(resolve("${TOKEN}${EMPTY}$").as_deref(), Ok("s3cret$"));
        assert_eq!(
            resolve("$${TOKEN} costs $5").as_deref(),
            Ok("${TOKEN} costs $5")
        );
        assert_eq!(resolve("$$${TOKEN}").as_deref(), Ok("$${TOKEN}"));
        assert_eq!(resolve("${NOPE}"), Err(EnvError::Missing("NOPE".into())));
        assert_eq!(resolve("${TOKEN"), Err(EnvError::Unterminated));
        assert_eq!(resolve("${1X}"), Err(EnvError::BadName("1X".into())));
        assert_eq!(resolve("plain"), Ok("plain".into()));
        assert_eq!(sole_reference("${TOKEN}"), Some("TOKEN"));
        assert_eq!(sole_reference("x${TOKEN}"), None);
        assert_eq!(sole_reference("${A-B}"), None);
    }
}
