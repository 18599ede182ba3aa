//! Load benchmark of the daemon, from a second process on loopback: the rate of signed
//! delivery-status webhooks the daemon sustains while a campaign sends, with their latency,
//! and the latency of API reads made at the same time.
//!
//! `cargo bench -p switchboard --bench webhook_load` (release build of the real binary).
//! Target: 5,000 signed webhooks/s with p99 API latency under 50 ms, on 2 cores.
//!
//! Set `WEBHOOK_LOAD_SECONDS` (default 10), `WEBHOOK_LOAD_CONNECTIONS` (default 32) and
//! `WEBHOOK_LOAD_RECIPIENTS` (default 20,000) to change the run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "load-token";
const WEBHOOK_TOKEN: &str = "load-webhook-token";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = env_number("WEBHOOK_LOAD_SECONDS", 10);
    let connections = env_number("WEBHOOK_LOAD_CONNECTIONS", 32) as usize;
    let recipients = env_number("WEBHOOK_LOAD_RECIPIENTS", 20_000);
    let dir = std::env::temp_dir().join(format!("switchboard-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("workflows")).expect("dir");
    std::fs::write(dir.join("workflows/load.yaml"), WORKFLOW).expect("workflow");
    std::fs::write(
        dir.join("switchboard.toml"),
        format!(
            "data-dir = \"data\"\nworkflow-dir = \"workflows\"\n\
             quiet-hours = {{ start = \"00:00\", end = \"00:01\" }}\n\
             [api]\ntokens = [\"${{LOAD_TOKEN}}\"]\nmax-upload-mb = 50\n\
             [providers.mock]\nplugin = \"mock\"\n\
             settings = {{ webhook-token = \"{WEBHOOK_TOKEN}\", seed = \"load\" }}\n"
        ),
    )
    .expect("config");
    let mut daemon = Daemon::start(&dir);
    let addr = daemon.addr;
    let mut api = Connection::open(addr);

    // A campaign that sends during the whole measurement.
    let created = api.call(
        "POST",
        "/v1/campaigns",
        Some(br#"{"name":"load","workflow":"load"}"#),
    );
    let id = json_number(&created.1, "\"id\":").expect("campaign id");
    let mut csv = String::from("phone,name\n");
    for n in 0..recipients {
        csv.push_str(&format!("+1416{:07},R{n}\n", 2_000_000 + n));
    }
    let uploaded = api.call(
        "POST",
        &format!("/v1/campaigns/{id}/lists?filename=load.csv"),
        Some(csv.as_bytes()),
    );
    assert!(uploaded.0 == 201, "upload: {}", uploaded.1);
    let started = api.call("POST", &format!("/v1/campaigns/{id}/start"), None);
    assert!(started.0 == 200, "start: {}", started.1);

    // Provider ids of messages sent so far, for receipts that hit real messages.
    std::thread::sleep(Duration::from_secs(2));
    let mut ids = Vec::new();
    let mut seq = 0;
    while ids.len() < 2_000 && seq < recipients {
        let (status, body) = api.call("GET", &format!("/v1/campaigns/{id}/recipients/{seq}"), None);
        if status == 200 {
            for part in body.split("\"provider_id\":\"").skip(1) {
                if let Some(end) = part.find('"') {
                    ids.push(part[..end].to_string());
                }
            }
        }
        seq += 1;
    }
    assert!(
        !ids.is_empty(),
        "no message was sent before the measurement"
    );
    let ids = Arc::new(ids);

    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for worker in 0..connections {
        let (ids, stop) = (ids.clone(), stop.clone());
        senders.push(std::thread::spawn(move || {
            let mut connection = Connection::open(addr);
            let mut latencies = Vec::new();
            let mut n = worker;
            while !stop.load(Ordering::Relaxed) {
                let id = &ids[n % ids.len()];
                let status = if n % 3 == 0 { "sent" } else { "delivered" };
                let body = format!(
                    "[{{\"type\":\"status\",\"provider-message-id\":\"{id}\",\"status\":\"{status}\"}}]"
                );
                let began = Instant::now();
                let (code, text) = connection.webhook(body.as_bytes());
                latencies.push(began.elapsed());
                assert_eq!(code, 200, "webhook answered {code}: {text}");
                n += connections;
            }
            latencies
        }));
    }
    let reader_stop = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut connection = Connection::open(addr);
        let mut latencies = Vec::new();
        while !reader_stop.load(Ordering::Relaxed) {
            for path in [
                format!("/v1/campaigns/{id}"),
                format!("/v1/campaigns/{id}/stats"),
                "/v1/campaigns".to_string(),
            ] {
                let began = Instant::now();
                let (code, _) = connection.call("GET", &path, None);
                latencies.push(began.elapsed());
                assert_eq!(code, 200);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        latencies
    });
    let sent_before = sent_count(&api.call("GET", "/metrics", None).1);
    let began = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut webhooks: Vec<Duration> = senders
        .into_iter()
        .flat_map(|s| s.join().expect("sender"))
        .collect();
    let elapsed = began.elapsed();
    let mut reads = reader.join().expect("reader");
    let (_, campaign) = api.call("GET", &format!("/v1/campaigns/{id}"), None);
    let (_, metrics) = api.call("GET", "/metrics", None);
    daemon.stop();

    webhooks.sort();
    reads.sort();
    let rate = webhooks.len() as f64 / elapsed.as_secs_f64();
    // Sends accepted by the provider during the measured window (the campaign's pace).
    let sent = sent_count(&metrics).saturating_sub(sent_before);
    let send_rate = sent as f64 / elapsed.as_secs_f64();
    println!(
        "webhook load ({connections} connections, {seconds} s, campaign of {recipients} sending):"
    );
    println!(
        "  signed status webhooks: {} in {:.1} s = {rate:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms",
        webhooks.len(),
        elapsed.as_secs_f64(),
        ms(percentile(&webhooks, 0.50)),
        ms(percentile(&webhooks, 0.99))
    );
    println!(
        "  API reads meanwhile: {}; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        reads.len(),
        ms(percentile(&reads, 0.50)),
        ms(percentile(&reads, 0.99)),
        ms(reads.last().copied().unwrap_or_default())
    );
    println!(
        "  campaign while measured: {sent} messages sent = {send_rate:.0}/s (limit 300/s); state {}",
        campaign.chars().take(400).collect::<String>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The `sent` message counter of a `/metrics` answer.
fn sent_count(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_messages_total{status=\"sent\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn json_number(body: &str, key: &str) -> Option<u64> {
    let rest = body.split(key).nth(1)?;
    rest.trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

const WORKFLOW: &str = r#"
kind: campaign
id: load
name: Load
provider: mock
sender: "+14165550100"
consent: { acknowledged: true, source: load test, by: bench@example.com }
rate:
  per_second: 300
steps:
  - send: { id: only, text: "Hello {name}" }
"#;

struct Daemon {
    child: Child,
    addr: SocketAddr,
}

impl Daemon {
    fn start(dir: &std::path::Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([
                "run",
                "--config",
                "switchboard.toml",
                "--listen",
                "127.0.0.1:0",
            ])
            .current_dir(dir)
            .env("LOAD_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the daemon");
        let stderr = child.stderr.take().expect("stderr");
        let (found, addr) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = found.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                if line.contains("ERROR") {
                    eprintln!("daemon: {line}");
                }
            }
        });
        let addr = addr
            .recv_timeout(Duration::from_secs(60))
            .expect("the daemon did not start")
            .parse()
            .expect("address");
        Daemon { child, addr }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// A keep-alive HTTP/1.1 connection.
struct Connection {
    reader: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl Connection {
    fn open(addr: SocketAddr) -> Connection {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Connection {
            reader: BufReader::new(stream),
            addr,
        }
    }

    fn call(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, String) {
        let headers =
            format!("authorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\n");
        self.send(method, path, &headers, body.unwrap_or_default())
    }

    fn webhook(&mut self, body: &[u8]) -> (u16, String) {
        let headers =
            format!("x-mock-token: {WEBHOOK_TOKEN}\r\ncontent-type: application/json\r\n");
        self.send("POST", "/webhooks/mock", &headers, body)
    }

    fn send(&mut self, method: &str, path: &str, headers: &str, body: &[u8]) -> (u16, String) {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\n{headers}content-length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).expect("write");
        stream.write_all(body).expect("write");
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).expect("status");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}
