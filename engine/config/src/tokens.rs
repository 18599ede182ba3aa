//! API bearer tokens. The file holds either a token's SHA-256 (`sha256:<64 hex digits>`, made
//! by [`hash_token`]) or a `${VARIABLE}` whose value is the token: never a token itself.
//!
//! [`ApiTokens::verify`] compares SHA-256 digests of equal length in constant time, for both
//! kinds (an environment token is hashed when the config is loaded): how long a request takes
//! says nothing about how much of a token was right, nor how long the real one is.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::env::{EnvError, EnvLookup, sole_reference};

/// The prefix of a hashed token.
pub const SHA256_PREFIX: &str = "sha256:";

/// The entry to write in `api.tokens` for a token: `sha256:` and its digest in hex.
pub fn hash_token(plain: &str) -> String {
    let digest = Sha256::digest(plain.as_bytes());
    let mut text = String::with_capacity(SHA256_PREFIX.len() + 64);
    text.push_str(SHA256_PREFIX);
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// One configured token.
#[derive(Clone, PartialEq, Eq)]
struct Token {
    /// As written in the file: a hash or a `${VARIABLE}` (never a secret).
    written: String,
    /// The SHA-256 of the token; none until [`ApiTokens::resolve`] read the entry.
    digest: Option<[u8; 32]>,
}

/// The tokens that open the API.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiTokens {
    tokens: Vec<Token>,
}

impl ApiTokens {
    /// Whether `presented` is one of the tokens. Every entry is compared, in constant time.
    pub fn verify(&self, presented: &str) -> bool {
        if presented.is_empty() {
            return false;
        }
        let presented: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut matched = 0u8;
        for token in &self.tokens {
            if let Some(expected) = &token.digest {
                matched |= constant_time_eq(&presented, expected);
            }
        }
        matched == 1
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// How many tokens are configured.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// The entries as written (hashes and variable references: safe to show).
    pub fn written(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|token| token.written.as_str())
    }

    /// Reads every entry: a hash is decoded, a `${VARIABLE}` is looked up and hashed, anything
    /// else is refused. Returns the index and the problem of each entry that fails.
    pub(crate) fn resolve(&mut self, env: EnvLookup<'_>) -> Vec<(usize, String)> {
        let mut failures = Vec::new();
        for (index, token) in self.tokens.iter_mut().enumerate() {
            match digest_of(&token.written, env) {
                Ok(digest) => token.digest = Some(digest),
                Err(problem) => failures.push((index, problem)),
            }
        }
        failures
    }
}

/// 1 when equal, 0 otherwise, looking at every byte whatever the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> u8 {
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |difference, (x, y)| difference | (x ^ y));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    u8::from(std::hint::black_box(difference) == 0)
}

/// The SHA-256 of the token an entry stands for.
fn digest_of(written: &str, env: EnvLookup<'_>) -> Result<[u8; 32], String> {
    if let Some(hex) = written.strip_prefix(SHA256_PREFIX) {
        return decode_hex(hex).ok_or_else(|| {
            format!(
                "`{SHA256_PREFIX}` must be followed by 64 hex digits (the SHA-256 of a token; `switchboard token hash` makes it)"
            )
        });
    }
    if let Some(variable) = sole_reference(written) {
        return match env(variable) {
            Some(plain) if !plain.is_empty() => Ok(Sha256::digest(plain.as_bytes()).into()),
            Some(_) => Err(EnvError::Empty(variable.to_string()).to_string()),
            None => Err(EnvError::Missing(variable.to_string()).to_string()),
        };
    }
    // Never quote the entry: it may be a token pasted in by mistake.
    Err(format!(
        "a token entry is `{SHA256_PREFIX}<64 hex digits>` (see `switchboard token hash`) or `${{VARIABLE}}` naming an environment variable that holds the token; tokens themselves are not written in the file"
    ))
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.written()).finish()
    }
}

impl Serialize for ApiTokens {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.written())
    }
}

/// Reads the entries as written; loading checks them afterwards (where a problem can be
/// placed at its entry: toml places an error raised inside an array at the whole array).
impl<'de> Deserialize<'de> for ApiTokens {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = Vec::<String>::deserialize(deserializer)?;
        Ok(Self {
            tokens: written
                .into_iter()
                .map(|written| Token {
                    written,
                    digest: None,
                })
                .collect(),
        })
    }
}

impl JsonSchema for ApiTokens {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ApiTokens".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "array",
            "items": {
                "type": "string",
                "pattern": r"^(sha256:[0-9a-fA-F]{64}|\$\{[A-Za-z_][A-Za-z0-9_]*\})$"
            },
            "examples": [[
                "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "${SWITCHBOARD_API_TOKEN}"
            ]]
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "API_TOKEN" => Some("beta".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    /// Tokens from entries, resolved; the failures.
    fn tokens(entries: &[&str]) -> (ApiTokens, Vec<(usize, String)>) {
        let mut tokens = ApiTokens {
            tokens: entries
                .iter()
                .map(|written| Token {
                    written: written.to_string(),
                    digest: None,
                })
                .collect(),
        };
        let failures = tokens.resolve(&env);
        (tokens, failures)
    }

    #[test]
    fn hashes_like_sha256sum() {
        // printf test | sha256sum
        assert_eq!(
            hash_token("test"),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn verifies_hashed_and_environment_tokens() {
        let (tokens, failures) = tokens(&[&hash_token("alpha"), "${API_TOKEN}"]);
        assert!(failures.is_empty(), "{failures:?}");
        assert!(tokens.verify("alpha"));
        assert!(tokens.verify("beta"));
        assert!(!tokens.verify("bet"));
        assert!(!tokens.verify("betaa"));
        assert!(!tokens.verify(""));
        assert!(
            !tokens.verify(&hash_token("alpha")),
            "the hash is not the token"
        );
        assert!(
            !tokens.verify("${API_TOKEN}"),
            "the reference is not the token"
        );
        // Upper-case hex is the same digest.
        let upper = hash_token("gamma")
            .replace(SHA256_PREFIX, "")
            .to_uppercase();
        assert!(tokens_of(&format!("sha256:{upper}")).verify("gamma"));
        // Shown as written, never as the secret.
        assert!(!format!("{tokens:?}").contains("beta"));
    }

    #[test]
    fn an_unresolved_entry_matches_nothing() {
        let unresolved = ApiTokens {
            tokens: vec![Token {
                written: "${API_TOKEN}".into(),
                digest: None,
            }],
        };
        assert!(!unresolved.verify("beta"));
    }

    fn tokens_of(entry: &str) -> ApiTokens {
        let (tokens, failures) = tokens(&[entry]);
        assert!(failures.is_empty(), "{failures:?}");
        tokens
    }

    #[test]
    fn refuses_plaintext_bad_hashes_and_unset_variables() {
        let (_, failures) = tokens(&[
            "hunter2-plaintext",
            "sha256:abc",
            &format!("sha256:{}", "g".repeat(64)),
            "${UNSET}",
            "${EMPTY}",
        ]);
        let indexes: Vec<usize> = failures.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, [0, 1, 2, 3, 4]);
        assert!(!failures[0].1.contains("hunter2"), "{}", failures[0].1);
        assert!(failures[1].1.contains("64 hex digits"));
        assert_eq!(failures[3].1, "environment variable UNSET is not set");
        assert_eq!(failures[4].1, "environment variable EMPTY is empty");
    }
}
