//! Starts the real `switchboard run` on a loopback port with a temporary data directory and
//! talks to it over plain HTTP/1.1 (a tiny client on `TcpStream`: the tests see exactly the
//! bytes a client would, with no HTTP library between).
//!
//! The fixtures the end-to-end tests share: a [`Site`] (one test's directory, its workflows
//! and its daemons), the [`Config`] it runs with, and the checks on answers
//! ([`expect_status`], [`error_code`], [`get_json`], [`count`]) and the mock provider's
//! [`webhook`]. What differs between test files (the API token, the webhook token) is a
//! parameter, so each file keeps its own values.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running daemon.
pub struct Daemon {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its log so far.
    pub log: Arc<Mutex<String>>,
    /// The API token the tests use.
    pub token: Option<String>,
}

/// An answer.
#[derive(Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Daemon {
    /// Starts `switchboard run --config <dir>/switchboard.toml` (written from `config`) in
    /// `dir`, and waits until it listens.
    pub fn start(dir: &Path, config: &str, token: Option<&str>) -> Daemon {
        Self::try_start(dir, config, token)
            .unwrap_or_else(|log| panic!("the daemon did not start listening:\n{log}"))
    }

    /// Like [`Daemon::start`], but a daemon that exits (or does not listen within two
    /// minutes) is an `Err` with its log, for tests of refusals.
    pub fn try_start(dir: &Path, config: &str, token: Option<&str>) -> Result<Daemon, String> {
        let config_path = dir.join("switchboard.toml");
        std::fs::write(&config_path, config).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .args(["run", "--config"])
            .arg(&config_path)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(token) = token {
            command.env("SWITCHBOARD_TEST_TOKEN", token);
        }
        let mut child = command.spawn().expect("start switchboard run");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (found, addr) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = found.send(addr);
                }
                if std::env::var_os("SWITCHBOARD_TEST_LOG").is_some() {
                    eprintln!("daemon: {line}");
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let addr = match addr.recv_timeout(Duration::from_secs(120)) {
            Ok(addr) => addr.parse().expect("address"),
            Err(_) => {
                // Ended (the reader thread saw stderr close) or hung: either way, no daemon.
                let _ = child.kill();
                let _ = child.wait();
                let log = log.lock().map(|l| l.clone()).unwrap_or_default();
                return Err(log);
            }
        };
        Ok(Daemon {
            child,
            addr,
            log,
            token: token.map(str::to_string),
        })
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The log once it contains `needle` (or the timeout passed): a line is read from the
    /// daemon's stderr a moment after what it reports became visible through the API.
    pub fn log_with(&self, needle: &str, timeout: Duration) -> String {
        log_with(&self.log, needle, timeout)
    }

    /// A request with the test token.
    pub fn call(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Response {
        let token = self.token.clone();
        let mut headers = Vec::new();
        if let Some(token) = &token {
            headers.push(("authorization".to_string(), format!("Bearer {token}")));
        }
        self.raw(method, path, &headers, body)
    }

    /// GET with the token.
    pub fn get(&self, path: &str) -> Response {
        self.call("GET", path, None)
    }

    /// POST JSON with the token.
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> Response {
        let bytes = serde_json::to_vec(body).expect("json");
        self.call("POST", path, Some(("application/json", &bytes)))
    }

    /// Any request, headers as given.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<(&str, &[u8])>,
    ) -> Response {
        request(self.addr, method, path, headers, body)
    }

    /// Waits until `check` passes on GET `path` (polling), or panics with the last answer.
    pub fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let answer = self.get(path);
            let value: serde_json::Value =
                serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
            if answer.status == 200 && check(&value) {
                return value;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting on {path}; last answer: {} {}\nlog:\n{}",
                    answer.status,
                    answer.text(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process outright (SIGKILL): no shutdown, no flush.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits for it; returns its exit success.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }

    /// Opens an SSE stream.
    pub fn events(&self, path: &str) -> EventStream {
        let mut stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n{auth}\r\n",
            self.addr
        )
        .expect("send");
        // The handler subscribes before it answers: once the head is here, no event the
        // caller causes next can be missed.
        let mut reader = BufReader::new(stream);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            assert!(
                Instant::now() < deadline,
                "no answer to GET {path}: {head:?}\nlog:\n{}",
                self.log()
            );
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => panic!(
                    "GET {path}: connection closed after {head:?}\nlog:\n{}",
                    self.log()
                ),
                Ok(_) => head.push_str(&line),
                Err(_) => continue,
            }
        }
        assert!(
            head.starts_with("HTTP/1.1 200"),
            "GET {path}: {head}\nlog:\n{}",
            self.log()
        );
        EventStream {
            reader,
            pending: String::new(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `log` once it contains `needle`, or when `timeout` has passed; it keeps filling after the
/// process ended, until its stderr is read to the end.
pub fn log_with(log: &Arc<Mutex<String>>, needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let text = log.lock().map(|l| l.clone()).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Server-Sent Events stream being read.
pub struct EventStream {
    reader: BufReader<TcpStream>,
    pending: String,
}

/// One SSE event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// `event:`.
    pub event: String,
    /// `data:` as JSON.
    pub data: serde_json::Value,
}

impl EventStream {
    /// Reads events until `want` matches one, or the timeout passes; returns all read.
    pub fn until(&mut self, timeout: Duration, want: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        let mut event = String::new();
        while Instant::now() < deadline {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => continue, // read timeout: look at the deadline again
            }
            self.pending.push_str(&line);
            if !self.pending.ends_with('\n') {
                continue;
            }
            let line = std::mem::take(&mut self.pending);
            let line = line.trim_end_matches(['\r', '\n']);
            // Chunk-size lines of the chunked encoding are skipped by not matching below.
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_string();
            } else if let Some(data) = line.strip_prefix("data:")
                && let Ok(data) = serde_json::from_str(data.trim())
            {
                let sse = SseEvent {
                    event: std::mem::take(&mut event),
                    data,
                };
                let done = want(&sse);
                seen.push(sse);
                if done {
                    return seen;
                }
            }
        }
        panic!("no matching event within {timeout:?}; saw {seen:#?}");
    }
}

/// One HTTP/1.1 request on a new connection.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<(&str, &[u8])>,
) -> Response {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let (content_type, bytes) = body.unwrap_or(("application/octet-stream", &[]));
    if body.is_some() || method == "POST" || method == "PATCH" {
        head.push_str(&format!(
            "content-type: {content_type}\r\ncontent-length: {}\r\n",
            bytes.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send head");
    // The server may answer (and close) before the body is all sent (a refused upload).
    let _ = stream.write_all(bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-test-{name}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Sends `head` (request line and headers, without the blank line that ends them), then
/// whatever `body` writes, while the answer is read on this thread: the server may answer and
/// close before the body is all sent (a refused upload), and the writer's errors then are
/// expected. Returns the answer and how long it took to come.
pub fn exchange(
    addr: SocketAddr,
    head: &str,
    body: impl FnOnce(&mut TcpStream) -> std::io::Result<()> + Send + 'static,
) -> (Response, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone the socket");
    let head = format!("{head}\r\n");
    let sending = std::thread::spawn(move || {
        writer.write_all(head.as_bytes())?;
        body(&mut writer)?;
        writer.flush()
    });
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buffer[..n]),
            // A reset after the answer (the server closed on an unread body): keep what came.
            Err(_) => break,
        }
    }
    let took = started.elapsed();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    (parse_response(&raw), took)
}

// ---------------------------------------------------------------------------------------------
// Sites

/// One test's directory: `switchboard.toml`, `workflows/`, `data/`. Removed when the test
/// passes; kept for a look when it fails.
pub struct Site {
    /// The directory; the daemons run in it.
    pub dir: PathBuf,
    /// The API token its daemons are given (as `SWITCHBOARD_TEST_TOKEN`).
    token: String,
}

impl Site {
    /// A fresh directory with an empty `workflows/`, for daemons that take `token`.
    pub fn new(name: &str, token: &str) -> Site {
        let dir = temp_dir(name);
        std::fs::create_dir_all(dir.join("workflows")).expect("workflow dir");
        Site {
            dir,
            token: token.to_string(),
        }
    }

    /// Writes `workflows/<file>` whole (a temporary file renamed over it), so the watcher
    /// never reads half a file.
    pub fn workflow(&self, file: &str, text: &str) {
        let temporary = self.dir.join("workflows").join(format!(".{file}.part"));
        std::fs::write(&temporary, text).expect("write workflow");
        std::fs::rename(&temporary, self.dir.join("workflows").join(file))
            .expect("move workflow into place");
    }

    /// Copies an example of `workflows/` as it is.
    pub fn example(&self, file: &str) {
        self.workflow(file, &example(file));
    }

    /// Starts a daemon on the site with `config`, and waits until it listens.
    pub fn start(&self, config: &Config) -> Daemon {
        Daemon::start(&self.dir, &config.to_string(), Some(&self.token))
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The text of an example workflow of `workflows/`.
pub fn example(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../workflows")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading the example {}: {e}", path.display()))
}

/// A `switchboard.toml` for a [`Site`]: `data/` and `workflows/` in the site's directory, the
/// API behind `${SWITCHBOARD_TEST_TOKEN}` (the token [`Daemon::start`] hands over), and what a
/// test adds. Lines and entries are TOML written as they are.
#[derive(Debug, Clone, Default)]
pub struct Config {
    top: String,
    api: String,
    help_text: Option<String>,
    /// The `mock` instance's webhook token, when there is one.
    mock: Option<String>,
    mock_lines: String,
    mock_settings: String,
}

impl Config {
    /// The skeleton: no provider, nothing else.
    pub fn new() -> Config {
        Config::default()
    }

    /// Adds top-level keys (`quiet-hours = ...`).
    pub fn top(mut self, lines: &str) -> Config {
        self.top.push_str(lines);
        self.top.push('\n');
        self
    }

    /// Adds keys to `[api]` (`max-upload-mb = 1`).
    pub fn api(mut self, lines: &str) -> Config {
        self.api.push_str(lines);
        self.api.push('\n');
        self
    }

    /// Sets `[compliance] help-text`, the answer to HELP.
    pub fn help_text(mut self, text: &str) -> Config {
        self.help_text = Some(text.to_string());
        self
    }

    /// Adds a `mock` provider instance whose webhooks must carry `webhook_token` in
    /// `x-mock-token` (see [`webhook`]).
    pub fn mock(mut self, webhook_token: &str) -> Config {
        self.mock = Some(webhook_token.to_string());
        self
    }

    /// Adds keys to `[providers.mock]` (`allow-hosts = [...]`).
    pub fn mock_lines(mut self, lines: &str) -> Config {
        assert!(self.mock.is_some(), "mock lines without the mock instance");
        self.mock_lines.push_str(lines);
        self.mock_lines.push('\n');
        self
    }

    /// Adds entries to the `mock` instance's `settings` table, after its webhook token
    /// (`latency-ms = "20", callback-url = "..."`).
    pub fn mock_settings(mut self, entries: &str) -> Config {
        assert!(
            self.mock.is_some(),
            "mock settings without the mock instance"
        );
        self.mock_settings.push_str(", ");
        self.mock_settings.push_str(entries);
        self
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Config {
            top,
            api,
            help_text,
            mock,
            mock_lines,
            mock_settings,
        } = self;
        write!(
            f,
            "data-dir = \"data\"\nworkflow-dir = \"workflows\"\n{top}\n\
             [api]\ntokens = [\"${{SWITCHBOARD_TEST_TOKEN}}\"]\n{api}"
        )?;
        if let Some(help_text) = help_text {
            write!(f, "\n[compliance]\nhelp-text = \"{help_text}\"\n")?;
        }
        if let Some(webhook_token) = mock {
            write!(
                f,
                "\n[providers.mock]\nplugin = \"mock\"\n{mock_lines}\
                 settings = {{ webhook-token = \"{webhook_token}\"{mock_settings} }}\n"
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Workflows and lists the tests share

/// The head every test campaign shares: the mock provider, `sender`, acknowledged consent,
/// `per_second`, quiet hours lifted (with the reason the validator asks for, so the tests
/// send at any hour) and a required `name` field; `extra` lines (`tags: [...]`) follow `name`.
pub fn campaign_head(id: &str, name: &str, extra: &str, sender: &str, per_second: f64) -> String {
    format!(
        r#"kind: campaign
id: {id}
name: {name}
{extra}provider: mock
sender: "{sender}"
consent:
  acknowledged: true
  source: end-to-end test fixtures
  by: tests@example.com
rate:
  per_second: {per_second}
quiet_hours:
  override: true
  reason: end-to-end tests run at any hour
fields:
  name: {{ required: true }}
"#
    )
}

/// A one-message campaign from `sender`, sending one message every `1 / per_second` seconds.
pub fn paced_notice(id: &str, sender: &str, per_second: f64) -> String {
    campaign_head(id, &format!("Paced notice {id}"), "", sender, per_second)
        + &format!(
            r#"steps:
  - send:
      id: notice
      text: "Hi {{name}}, your order from {id} has shipped."
"#
        )
}

/// A CSV of `count` valid recipients, `+1416555<first + i>`.
pub fn recipients_csv(first: u32, count: u32) -> String {
    let mut csv = String::from("phone,name\n");
    for i in 0..count {
        csv.push_str(&format!("+1416555{:04},Person {i}\n", first + i));
    }
    csv
}

// ---------------------------------------------------------------------------------------------
// Checks on answers

/// A JSON string as an instant; panics on anything else.
#[track_caller]
pub fn timestamp(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("not a timestamp: {value}"))
}

/// A header, as [`Daemon::raw`] takes them.
pub fn header(name: &str, value: &str) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// Panics, with the answer and the daemon's log, unless the answer has `status`.
#[track_caller]
pub fn expect_status(daemon: &Daemon, what: &str, response: &Response, status: u16) {
    assert_eq!(
        response.status,
        status,
        "{what}: expected {status}, got {} {}\nlog:\n{}",
        response.status,
        response.text(),
        daemon.log()
    );
}

/// A JSON error answer's code, checking its shape: `{"error": {"code", "message"}}`.
#[track_caller]
pub fn error_code(daemon: &Daemon, response: &Response) -> String {
    let body = response.json();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "an error answer without a message: {body}\nlog:\n{}",
        daemon.log()
    );
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error answer without a code: {body}"))
        .to_string()
}

/// GET `path` with the token; panics unless the answer is 200.
#[track_caller]
pub fn get_json(daemon: &Daemon, path: &str) -> Value {
    let response = daemon.get(path);
    expect_status(daemon, &format!("GET {path}"), &response, 200);
    response.json()
}

/// A campaign's count of recipients with `status`.
pub fn count(campaign: &Value, status: &str) -> u64 {
    campaign["counts"][status].as_u64().unwrap_or(0)
}

/// A mock webhook request; `token` goes in `x-mock-token` when given.
pub fn webhook(daemon: &Daemon, token: Option<&str>, body: &Value) -> Response {
    let mut headers = Vec::new();
    if let Some(token) = token {
        headers.push(header("x-mock-token", token));
    }
    let bytes = serde_json::to_vec(body).expect("json");
    daemon.raw(
        "POST",
        "/webhooks/mock",
        &headers,
        Some(("application/json", &bytes)),
    )
}

/// Posts mock webhook events (one event or a list) signed with `token`; panics unless they
/// are accepted, and returns the answer.
#[track_caller]
pub fn signed_webhook(daemon: &Daemon, token: &str, events: &Value) -> Value {
    let response = webhook(daemon, Some(token), events);
    expect_status(daemon, "a signed webhook", &response, 200);
    response.json()
}
