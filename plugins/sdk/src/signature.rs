//! Building blocks for checking webhook signatures: HMAC-SHA1 and
//! HMAC-SHA256, constant-time comparison, base64 and hex, and Ed25519
//! verification.
//!
//! Everything is pure Rust and works the same natively and in
//! `wasm32-wasip2`, so a plugin's signature checks can be unit-tested with
//! `cargo test`.
//!
//! ```
//! use switchboard_plugin_sdk::signature;
//!
//! // A provider that sends `X-Signature: base64(HMAC-SHA256(secret, body))`:
//! let body = b"{\"event\":\"delivered\"}";
//! let header = signature::hmac_sha256_base64(b"secret", body);
//! let given = signature::base64_decode(&header).unwrap_or_default();
//! let expected = signature::hmac_sha256(b"secret", body);
//! assert!(signature::constant_time_eq(&given, &expected));
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// Length of an Ed25519 public key, in bytes.
pub const ED25519_PUBLIC_KEY_LEN: usize = 32;

/// Length of an Ed25519 signature, in bytes.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// HMAC-SHA1 of `message` under `key` (RFC 2104), as raw bytes.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    hmac::<Hmac<sha1::Sha1>>(key, message).into()
}

/// HMAC-SHA256 of `message` under `key` (RFC 2104), as raw bytes.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    hmac::<Hmac<sha2::Sha256>>(key, message).into()
}

/// HMAC-SHA1 of `message` under `key`, in standard base64.
pub fn hmac_sha1_base64(key: &[u8], message: &[u8]) -> String {
    base64_encode(&hmac_sha1(key, message))
}

/// HMAC-SHA256 of `message` under `key`, in standard base64.
pub fn hmac_sha256_base64(key: &[u8], message: &[u8]) -> String {
    base64_encode(&hmac_sha256(key, message))
}

/// HMAC-SHA256 of `message` under `key`, in lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex_encode(&hmac_sha256(key, message))
}

/// Computes an HMAC with any key length.
fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> hmac::digest::Output<M> {
    // HMAC hashes keys longer than a block and pads shorter ones: every
    // length is valid, so this error cannot happen.
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes()
}

/// Whether `a` and `b` are equal, in a time that depends only on their
/// lengths (not on where they differ). Use it to compare a received
/// signature with the expected one.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Standard base64 (RFC 4648 §4, with padding).
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64 (RFC 4648 §4, padding required). Surrounding
/// whitespace is ignored; any other non-alphabet character is an error.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    STANDARD
        .decode(text.trim())
        .map_err(|e| DecodeError(format!("invalid base64: {e}")))
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes hex, either case. Surrounding whitespace is ignored.
pub fn hex_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let digits = text.trim().as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(DecodeError("invalid hex: odd number of digits".into()));
    }
    digits
        .chunks(2)
        .map(|pair| match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(high), Some(low)) => Ok(high << 4 | low),
            _ => Err(DecodeError("invalid hex: not a hex digit".into())),
        })
        .collect()
}

/// The value of one hex digit.
pub(crate) fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Text that is not valid base64 or hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Checks an Ed25519 signature (RFC 8032) of `message` by `public_key`.
///
/// `public_key` is the raw 32-byte key and `signature` the raw 64 bytes
/// (decode them first, e.g. with [`base64_decode`]). Verification is strict:
/// non-canonical signatures and weak (small-order) keys are rejected.
pub fn verify_ed25519(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), Ed25519Error> {
    let key_bytes: &[u8; ED25519_PUBLIC_KEY_LEN] = public_key
        .try_into()
        .map_err(|_| Ed25519Error::BadKeyLength(public_key.len()))?;
    let key = VerifyingKey::from_bytes(key_bytes).map_err(|_| Ed25519Error::InvalidKey)?;
    let signature_bytes: &[u8; ED25519_SIGNATURE_LEN] = signature
        .try_into()
        .map_err(|_| Ed25519Error::BadSignatureEncoding(signature.len()))?;
    key.verify_strict(message, &Signature::from_bytes(signature_bytes))
        .map_err(|_| Ed25519Error::Mismatch)
}

/// Why [`verify_ed25519`] rejected a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ed25519Error {
    /// The public key is not 32 bytes long (the length it has).
    BadKeyLength(usize),
    /// 32 bytes that are not an Ed25519 public key.
    InvalidKey,
    /// The signature is not 64 bytes long (the length it has).
    BadSignatureEncoding(usize),
    /// A well-formed signature that does not match the message and key.
    Mismatch,
}

impl fmt::Display for Ed25519Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ed25519Error::BadKeyLength(len) => write!(
                f,
                "the Ed25519 public key is {len} bytes long, not {ED25519_PUBLIC_KEY_LEN}"
            ),
            Ed25519Error::InvalidKey => f.write_str("the bytes are not an Ed25519 public key"),
            Ed25519Error::BadSignatureEncoding(len) => write!(
                f,
                "the Ed25519 signature is {len} bytes long, not {ED25519_SIGNATURE_LEN}"
            ),
            Ed25519Error::Mismatch => {
                f.write_str("the Ed25519 signature does not match the message and key")
            }
        }
    }
}

impl std::error::Error for Ed25519Error {}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        hex_decode(text).expect("test vector is hex")
    }

    const LONG_KEY_DATA: &[u8] = b"Test Using Larger Than Block-Size Key - Hash Key First";

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 4] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                vec![0xaa; 80],
                LONG_KEY_DATA.to_vec(),
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex_encode(&hmac_sha1(&key, &data)), expected);
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 3] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 131],
                LONG_KEY_DATA.to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hmac_sha256_hex(&key, &data), expected);
        }
    }

    #[test]
    fn hmac_base64_helpers_encode_the_raw_digest() {
        let key = b"Jefe";
        let data = b"what do ya want for nothing?";
        assert_eq!(
            base64_decode(&hmac_sha1_base64(key, data)),
            Ok(hmac_sha1(key, data).to_vec())
        );
        assert_eq!(
            hmac_sha256_base64(key, data),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn base64_matches_rfc_4648_and_rejects_garbage() {
        for (raw, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(raw.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded), Ok(raw.as_bytes().to_vec()));
        }
        assert_eq!(base64_decode(" Zm9v\n"), Ok(b"foo".to_vec()));
        for bad in ["Zm9", "Zm9v!", "Zm 9v", "Zg"] {
            assert!(base64_decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(hex_encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(hex_decode("00ABff"), Ok(vec![0x00, 0xab, 0xff]));
        assert_eq!(hex_decode(""), Ok(Vec::new()));
        assert!(hex_decode("abc").is_err());
        assert!(hex_decode("zz").is_err());
    }

    /// RFC 8032 §7.1, TEST 1 (empty message).
    const RFC8032_PUBLIC_KEY: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e0652249015\
                                     55fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    #[test]
    fn ed25519_accepts_rfc_8032_test_1() {
        assert_eq!(
            verify_ed25519(&hex(RFC8032_PUBLIC_KEY), b"", &hex(RFC8032_SIGNATURE)),
            Ok(())
        );
    }

    #[test]
    fn ed25519_rejects_other_messages_and_signatures() {
        let key = hex(RFC8032_PUBLIC_KEY);
        let signature = hex(RFC8032_SIGNATURE);
        assert_eq!(
            verify_ed25519(&key, b"x", &signature),
            Err(Ed25519Error::Mismatch)
        );
        let mut flipped = signature.clone();
        flipped[10] ^= 1;
        assert_eq!(
            verify_ed25519(&key, b"", &flipped),
            Err(Ed25519Error::Mismatch)
        );
        let mut other_key = key.clone();
        other_key[0] ^= 1;
        assert!(verify_ed25519(&other_key, b"", &signature).is_err());
    }

    #[test]
    fn ed25519_reports_malformed_input() {
        let key = hex(RFC8032_PUBLIC_KEY);
        let signature = hex(RFC8032_SIGNATURE);
        assert_eq!(
            verify_ed25519(&key[..31], b"", &signature),
            Err(Ed25519Error::BadKeyLength(31))
        );
        assert_eq!(
            verify_ed25519(&key, b"", &signature[..63]),
            Err(Ed25519Error::BadSignatureEncoding(63))
        );
        // y = 2 has no x on the curve: not a point.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(
            verify_ed25519(&not_a_point, b"", &signature),
            Err(Ed25519Error::InvalidKey)
        );
        assert!(Ed25519Error::BadKeyLength(31).to_string().contains("31"));
    }
}
