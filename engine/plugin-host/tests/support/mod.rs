//! Helpers shared by the plugin host's tests and benchmarks: the bundled and test plugins, and
//! a small loopback HTTP server standing in for a provider's API.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use switchboard_plugin_host::{InstanceConfig, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::Provider;
use switchboard_runtime::records::Outbound;
use switchboard_runtime::store::Store;
use switchboard_runtime::{ManualClock, Runtime, RuntimeConfig};

/// The plugins workspace.
pub fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../plugins")
}

/// A plugin built by the build script: (manifest text, component bytes).
pub fn built_plugin(crate_dir: &str, wasm_file: &str) -> (String, Vec<u8>) {
    let manifest = plugins_dir().join(crate_dir).join("plugin.toml");
    let wasm = plugins_dir()
        .join("target/wasm32-wasip2/release")
        .join(wasm_file);
    (
        std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest.display())),
        std::fs::read(&wasm).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (built by this crate's build script)",
                wasm.display()
            )
        }),
    )
}

/// The hostile test guest on `host`, configured with `config`.
pub fn hostile(host: &PluginHost, config: &InstanceConfig) -> ProviderPlugin {
    let (manifest, wasm) = built_plugin("test-hostile", "test_hostile.wasm");
    ProviderPlugin::load(host, &manifest, &wasm, config).expect("load test-hostile")
}

/// A message to `to` with `body`.
pub fn message(to: &str, body: &str, attempt: u32) -> Outbound {
    Outbound {
        campaign: 1,
        recipient: 7,
        pc: 0,
        attempt,
        try_number: 1,
        step_id: "welcome".into(),
        variant: "main".into(),
        provider: "mock".into(),
        from: "+14165550100".into(),
        to: to.into(),
        body: body.into(),
        media: Vec::new(),
        segments: 1,
        conversation: None,
    }
}

/// A runtime on a temporary store and a manual clock at a Monday afternoon, sending through
/// `provider`: (runtime, clock, start).
pub fn campaign_runtime(provider: Arc<dyn Provider>) -> (Runtime, ManualClock, DateTime<Utc>) {
    let start = Utc
        .with_ymd_and_hms(2026, 12, 7, 15, 0, 0)
        .single()
        .expect("instant");
    let clock = ManualClock::new(start);
    let runtime = Runtime::open(
        Store::temporary().expect("store"),
        Arc::new(clock.clone()),
        provider,
        RuntimeConfig::default(),
    )
    .expect("runtime");
    (runtime, clock, start)
}

/// A request the local server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the local server answers: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A loopback HTTP/1.1 server answering every request with `handler`; stops when dropped.
pub struct LocalServer {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl LocalServer {
    pub fn start(handler: impl Fn(&Received) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let received = Arc::new(Mutex::new(Vec::new()));
        let handler = Arc::new(handler);
        let (stop_flag, log) = (stop.clone(), received.clone());
        std::thread::spawn(move || {
            while !stop_flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (handler, log) = (handler.clone(), log.clone());
                        std::thread::spawn(move || serve(stream, &*handler, &log));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Self {
            port,
            received,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, handler: &dyn Fn(&Received) -> Answer, log: &Mutex<Vec<Received>>) {
    stream.set_nonblocking(false).ok();
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    // Keep-alive: serve requests on this connection until the client closes it.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Received {
            method,
            path,
            headers,
            body,
        };
        let (status, answer_headers, answer_body) = handler(&request);
        log.lock().unwrap().push(request);
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\n",
            answer_body.len()
        );
        for (name, value) in answer_headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        // One write: a head and body written apart meet Nagle's algorithm and delayed ACKs.
        let mut answer = head.into_bytes();
        answer.extend_from_slice(&answer_body);
        if writer.write_all(&answer).is_err() {
            return;
        }
    }
}
