//! Recipient import, the pure core: rows as importer plugins produce them in, recipients and
//! an error log out. No I/O besides the writers it is handed; one row at a time, so memory
//! stays flat whatever the file size (only the numbers seen, for duplicates, are kept).
//!
//! ```text
//! header row ──► HeaderMapping ─┐
//! (line, [(column, value)]) ────┴─► RowNormaliser ──► Ok(Recipient) | Err([Rejection])
//!                                   (phone, timezone, Deduper)          └─► ImportSummary,
//!                                                                           CSV/JSON error log
//! ```
//!
//! # Layout
//! - [`headers`]: which column is the phone, name, last name, company, timezone; snake_case
//!   keys for the others; overrides, clashes, the no-phone-column error.
//! - [`limits`]: file size, rows and columns of one list import.
//! - [`phone`]: E.164 normalisation with a default region, number type, rejection reasons.
//! - `classify` (private): the region and type of a valid number, with `phonenumber`'s rules
//!   and metadata but regexes compiled once per calling code.
//! - [`timezone`]: the row's IANA zone, else the region's single zone, else the list default.
//! - [`dedupe`]: first occurrence wins; can be seeded with other lists' numbers.
//! - [`encoding`]: UTF-8 checked as the file streams; Latin-1 and UTF-16 refused, saying where.
//! - [`row`]: [`RowNormaliser`] turning one row into a [`Recipient`] or [`Rejection`]s.
//! - [`report`]: the error log (CSV, JSON) and the [`ImportSummary`].
//! - [`sample`]: generated rows for benchmarks and load tests.
#![deny(missing_docs)]

mod classify;
pub mod dedupe;
pub mod encoding;
pub mod headers;
pub mod limits;
pub mod phone;
pub mod report;
pub mod row;
pub mod sample;
pub mod timezone;

pub use dedupe::Deduper;
pub use encoding::{EncodingError, Utf8Reader};
pub use headers::{HeaderError, HeaderMapping, HeaderOverrides, Role};
pub use limits::{ImportLimits, LimitError};
pub use phone::{NormalisedPhone, NumberType, PhoneRejection, Region, normalise, warm_up};
pub use report::{
    CsvErrorLog, ErrorLog, ErrorLogEntry, ErrorLogFormat, ImportSummary, JsonErrorLog,
};
pub use row::{ListSettings, Reason, Recipient, Rejection, RowNormaliser};
pub use timezone::TimezonePolicy;
