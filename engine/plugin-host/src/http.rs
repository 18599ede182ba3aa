//! `host.fetch`: HTTP requests the host performs for a plugin with reqwest, under the plugin's
//! grant (see [`crate::grant`]), a timeout bounded by the call's own deadline, and a response
//! size cap. No redirects are followed (a redirect could leave the granted hosts).
//!
//! Plugin calls are synchronous (the runtime's dispatch threads call providers directly); the
//! request runs on a small tokio runtime owned by the host, and the calling thread waits for
//! its answer. That works from any thread, including one that belongs to another tokio runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::bindings::v0_1_0::provider::switchboard::plugin::host::{
    HttpError, HttpRequest, HttpResponse,
};
use crate::grant::HttpGrant;

/// Limits on `host.fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest a request may take (also bounded by the call's remaining deadline).
    pub timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_response_bytes: usize,
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_response_bytes: 1024 * 1024,
            max_request_bytes: 1024 * 1024,
        }
    }
}

/// Headers the host sets itself; a plugin may not.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
];

/// The HTTP client shared by every plugin of a host.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    runtime: Arc<IoRuntime>,
    limits: HttpLimits,
}

/// The client's tokio runtime. Dropped without waiting: the last plugin host may well be
/// dropped inside another runtime's task, where a blocking shutdown would panic.
#[derive(Debug)]
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl HttpClient {
    /// A client with its own small I/O runtime.
    pub fn new(limits: HttpLimits) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("plugin-http")
            .enable_all()
            .build()
            .map_err(|e| format!("starting the plugin HTTP runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Never through a proxy from the environment: plain http is allowed to loopback
            // only because it stays on this machine.
            .no_proxy()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(limits.timeout)
            .build()
            .map_err(|e| format!("building the plugin HTTP client: {e}"))?;
        Ok(Self {
            client,
            runtime: Arc::new(IoRuntime(Some(runtime))),
            limits,
        })
    }

    /// Performs `request` if `grant` allows it, answering by `deadline` at the latest.
    pub fn fetch(
        &self,
        grant: &HttpGrant,
        request: HttpRequest,
        deadline: Instant,
    ) -> Result<HttpResponse, HttpError> {
        let url = reqwest::Url::parse(&request.url)
            .map_err(|e| HttpError::InvalidRequest(format!("url `{}`: {e}", request.url)))?;
        grant.check(&url).map_err(HttpError::Denied)?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::InvalidRequest(format!("method `{}`", request.method)))?;
        if request.body.len() > self.limits.max_request_bytes {
            return Err(HttpError::InvalidRequest(format!(
                "request body of {} bytes exceeds {} bytes",
                request.body.len(),
                self.limits.max_request_bytes
            )));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &request.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HttpError::InvalidRequest(format!("header name `{name}`")))?;
            if RESERVED_HEADERS.contains(&name.as_str()) {
                return Err(HttpError::InvalidRequest(format!(
                    "header `{name}` is set by the host"
                )));
            }
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                HttpError::InvalidRequest(format!("header `{name}` has an invalid value"))
            })?;
            headers.append(name, value);
        }
        let timeout = deadline
            .saturating_duration_since(Instant::now())
            .min(self.limits.timeout);
        if timeout.is_zero() {
            return Err(HttpError::Timeout);
        }
        let call = self
            .client
            .request(method, url)
            .headers(headers)
            .body(request.body)
            .timeout(timeout);
        let max_bytes = self.limits.max_response_bytes;
        let Some(runtime) = self.runtime.handle() else {
            return Err(HttpError::Transport("the host is shutting down".into()));
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let task = runtime.spawn(async move {
            let result = perform(call, max_bytes).await;
            let _ = sender.send(result);
        });
        // reqwest enforces `timeout`; the margin covers scheduling only.
        match receiver.recv_timeout(timeout + Duration::from_millis(250)) {
            Ok(result) => result,
            Err(_) => {
                task.abort();
                Err(HttpError::Timeout)
            }
        }
    }
}

async fn perform(
    call: reqwest::RequestBuilder,
    max_bytes: usize,
) -> Result<HttpResponse, HttpError> {
    let mut response = call.send().await.map_err(transport_error)?;
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(HttpError::TooLarge);
    }
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > max_bytes {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn transport_error(error: reqwest::Error) -> HttpError {
    if error.is_timeout() {
        HttpError::Timeout
    } else {
        // Without the URL: a query string may carry a credential.
        let error = error.without_url();
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        HttpError::Transport(text)
    }
}
