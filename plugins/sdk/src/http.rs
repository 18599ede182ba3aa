//! Outgoing HTTP through the host: a request builder, response helpers,
//! authorization headers and the mapping of HTTP failures to [`SendError`].

use crate::form::{self, Form};
use crate::host;
use crate::{ErrorInfo, SendError, ThrottledInfo};

pub use crate::host::{HttpError, HttpRequest, HttpResponse};

/// Wait used for a `429` response that carries no usable `Retry-After`.
pub const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;

/// Longest response excerpt copied into an error message, in bytes.
const ERROR_EXCERPT_BYTES: usize = 300;

/// Builds an [`HttpRequest`] and sends it with [`host::fetch`].
#[derive(Clone, Debug)]
pub struct Request {
    request: HttpRequest,
}

impl Request {
    /// A request with any method.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Request {
            request: HttpRequest {
                method: method.to_string(),
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
            },
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Request::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Request::new("POST", url)
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header given as a pair, as [`basic_auth`] and [`bearer_auth`]
    /// return them.
    pub fn header_pair(self, (name, value): (String, String)) -> Self {
        self.header(name, value)
    }

    /// Sets the body as is.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.request.body = body.into();
        self
    }

    /// Sets a form body and its `Content-Type`.
    pub fn form(self, form: &Form) -> Self {
        self.header("Content-Type", form::CONTENT_TYPE)
            .body(form.encode())
    }

    /// Sets a JSON body (already serialized) and its `Content-Type`.
    pub fn json(self, json: impl Into<String>) -> Self {
        self.header("Content-Type", "application/json")
            .body(json.into())
    }

    /// The request as it will be sent.
    pub fn build(self) -> HttpRequest {
        self.request
    }

    /// Sends the request through the host.
    pub fn send(self) -> Result<HttpResponse, HttpError> {
        host::fetch(&self.request)
    }
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header named `name`, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 replaced with U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Retry-After` in milliseconds, when given in seconds (the HTTP-date
    /// form is not supported and yields `None`).
    pub fn retry_after_ms(&self) -> Option<u64> {
        let seconds: u64 = self.header("retry-after")?.trim().parse().ok()?;
        Some(seconds.saturating_mul(1_000))
    }
}

/// The first header named `name` in `headers`, compared without regard to
/// case.
pub fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An `Authorization: Basic ...` header.
pub fn basic_auth(user: &str, password: &str) -> (String, String) {
    let credentials = format!("{user}:{password}");
    (
        "Authorization".to_string(),
        format!("Basic {}", base64(credentials.as_bytes())),
    )
}

/// An `Authorization: Bearer ...` header.
pub fn bearer_auth(token: &str) -> (String, String) {
    ("Authorization".to_string(), format!("Bearer {token}"))
}

/// Standard base64 (RFC 4648, with padding); the same as
/// [`crate::signature::base64_encode`].
pub fn base64(input: &[u8]) -> String {
    crate::signature::base64_encode(input)
}

/// Classifies a failed response of a send call:
/// - `429`: throttled, after `Retry-After` (or [`DEFAULT_RETRY_AFTER_MS`]);
/// - `408`, `425` and `5xx`: transient;
/// - anything else: permanent.
///
/// The code is `http-<status>`; the message starts with the response body.
/// Providers that return their own error codes should map them first, or
/// pass them to [`send_error_with_info`].
pub fn send_error_for_status(response: &HttpResponse) -> SendError {
    send_error_with_info(response, status_error_info(response))
}

/// Classifies a failed response as [`send_error_for_status`] does, but with
/// the provider's own code and message (parsed from its error body).
pub fn send_error_with_info(response: &HttpResponse, info: ErrorInfo) -> SendError {
    match response.status {
        429 => SendError::Throttled(ThrottledInfo {
            retry_after_ms: response.retry_after_ms().unwrap_or(DEFAULT_RETRY_AFTER_MS),
            info,
        }),
        408 | 425 | 500..=599 => SendError::Transient(info),
        _ => SendError::Permanent(info),
    }
}

/// Code `http-<status>` and the start of the body as the message: what to
/// report when a provider's error body says nothing more useful.
pub fn status_error_info(response: &HttpResponse) -> ErrorInfo {
    ErrorInfo::new(
        format!("http-{}", response.status),
        excerpt(&response.text(), ERROR_EXCERPT_BYTES),
    )
}

impl From<HttpError> for SendError {
    /// A request the host refused (denied, invalid) will be refused again:
    /// permanent. Timeouts and transport failures are transient; the message
    /// may have reached the provider, which `lookup` can tell.
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Denied(why) => SendError::Permanent(ErrorInfo::new("http-denied", why)),
            HttpError::InvalidRequest(why) => {
                SendError::Permanent(ErrorInfo::new("http-invalid-request", why))
            }
            HttpError::Timeout => SendError::transient("http-timeout", "the request timed out"),
            HttpError::Transport(why) => SendError::transient("http-transport", why),
            HttpError::TooLarge => {
                SendError::transient("http-too-large", "the response was too large")
            }
        }
    }
}

/// At most `max` bytes of `text`, cut on a character boundary.
fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::response;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64(input.as_bytes()), expected, "input {input:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn auth_headers() {
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            (
                "Authorization".to_string(),
                "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_string()
            )
        );
        assert_eq!(bearer_auth("t0k").1, "Bearer t0k");
    }

    #[test]
    fn request_builder_sets_form_body_and_headers() {
        let request = Request::post("https://api.example/send")
            .header_pair(bearer_auth("k"))
            .form(&Form::new().field("to", "+1 5"))
            .build();
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "https://api.example/send");
        assert_eq!(
            find_header(&request.headers, "content-type"),
            Some(form::CONTENT_TYPE)
        );
        assert_eq!(
            find_header(&request.headers, "AUTHORIZATION"),
            Some("Bearer k")
        );
        assert_eq!(request.body, b"to=%2B1+5");
    }

    #[test]
    fn response_helpers() {
        let ok = response(201, &[("Retry-After", " 3 ")], "héllo");
        assert!(ok.is_success());
        assert_eq!(ok.text(), "héllo");
        assert_eq!(ok.retry_after_ms(), Some(3_000));
        let date = response(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], "");
        assert!(!date.is_success());
        assert_eq!(date.retry_after_ms(), None);
    }

    #[test]
    fn statuses_map_to_send_errors() {
        assert_eq!(
            send_error_for_status(&response(429, &[("Retry-After", "2")], "slow")),
            SendError::throttled(2_000, "http-429", "slow")
        );
        assert_eq!(
            send_error_for_status(&response(429, &[], "")),
            SendError::throttled(DEFAULT_RETRY_AFTER_MS, "http-429", "")
        );
        assert_eq!(
            send_error_for_status(&response(503, &[], "down")),
            SendError::transient("http-503", "down")
        );
        assert_eq!(
            send_error_for_status(&response(400, &[], "bad number")),
            SendError::permanent("http-400", "bad number")
        );
    }

    #[test]
    fn provider_info_keeps_the_status_classification() {
        let info = ErrorInfo::new("21211", "invalid To");
        assert_eq!(
            send_error_with_info(&response(400, &[], "{}"), info.clone()),
            SendError::Permanent(info.clone())
        );
        assert_eq!(
            send_error_with_info(&response(502, &[], ""), info.clone()),
            SendError::Transient(info.clone())
        );
        assert_eq!(
            send_error_with_info(&response(429, &[("Retry-After", "7")], ""), info.clone()),
            SendError::Throttled(ThrottledInfo {
                retry_after_ms: 7_000,
                info
            })
        );
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(ERROR_EXCERPT_BYTES);
        let error = send_error_for_status(&response(500, &[], &body));
        let message = &error.info().message;
        assert!(message.len() <= ERROR_EXCERPT_BYTES + '…'.len_utf8());
        assert!(message.ends_with('…'));
    }

    #[test]
    fn host_errors_map_to_send_errors() {
        assert!(matches!(
            SendError::from(HttpError::Denied("host api.x not allowed".into())),
            SendError::Permanent(_)
        ));
        assert!(matches!(
            SendError::from(HttpError::Timeout),
            SendError::Transient(_)
        ));
    }
}
