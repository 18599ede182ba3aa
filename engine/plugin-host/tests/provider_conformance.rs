//! The bundled Twilio and Telnyx plugins against request-validating mocks of the providers'
//! official OpenAPI descriptions (`../shared/provider-specs/`), served by Prism
//! (`tools/prism`, installed with `npm ci --prefix tools/prism`; this test installs it when it
//! is missing). Prism refuses a wrong path or method, missing auth, a wrong content type and a
//! body that breaks the schema — so a message it accepts is one the real API would parse.
//!
//! The bundled manifests allow only the providers' real hosts; these tests add loopback to a
//! copy of the manifest, as an operator pointing a plugin at a local mock would have to.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use switchboard_plugin_host::bundled::{self, Bundled};
use switchboard_plugin_host::{InstanceConfig, Limits, PluginHost, ProviderPlugin};
use switchboard_runtime::provider::SendOutcome;
use switchboard_runtime::records::Outbound;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn spec(file: &str) -> PathBuf {
    let path = repository().join("../shared/provider-specs").join(file);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

/// The Prism binary, installed from `tools/prism/package-lock.json` if it is not yet.
fn prism_binary() -> PathBuf {
    static INSTALLED: OnceLock<PathBuf> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let tools = repository().join("tools/prism");
            let binary = tools.join("node_modules/.bin/prism");
            if !binary.exists() {
                let status = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                    .arg(&tools)
                    .status()
                    .expect("npm (Node.js) is needed for the provider conformance tests");
                assert!(status.success(), "npm ci --prefix tools/prism failed");
            }
            binary
        })
        .clone()
}

/// A Prism mock server; killed when dropped.
struct Prism {
    child: Child,
    port: u16,
}

impl Prism {
    fn start(spec_file: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(prism_binary())
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg(spec(spec_file))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prism");
        let stdout = child.stdout.take().expect("stdout");
        let (ready, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Prism is listening") {
                    let _ = ready.send(());
                }
            }
        });
        listening
            .recv_timeout(Duration::from_secs(90))
            .expect("prism did not start within 90 s");
        Self { child, port }
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bundled plugin, with loopback added to its manifest's allowed hosts.
fn plugin(bundled: Bundled, settings: &[(&str, &str)]) -> ProviderPlugin {
    let manifest =
        bundled
            .manifest
            .replacen("allowed-hosts = [", "allowed-hosts = [\"127.0.0.1:*\", ", 1);
    let host = PluginHost::new(Limits::default()).expect("host");
    ProviderPlugin::load(
        &host,
        &manifest,
        bundled.component,
        &InstanceConfig::with_settings(settings.iter().copied()).allowing(["127.0.0.1:*"]),
    )
    .expect("load plugin")
}

fn message(body: &str, media: &[&str]) -> Outbound {
    Outbound {
        media: media.iter().map(|m| m.to_string()).collect(),
        ..support::message("+14165550001", body, 0)
    }
}

fn expect_accepted(plugin: &ProviderPlugin, message: &Outbound) -> String {
    let started = Instant::now();
    match plugin.try_send(message).expect("plugin call") {
        SendOutcome::Accepted { provider_id } => {
            assert!(started.elapsed() < Duration::from_secs(30));
            provider_id
        }
        other => panic!("the provider mock refused the request: {other:?}"),
    }
}

#[test]
fn twilio_messages_conform_to_the_twilio_api() {
    let prism = Prism::start("twilio_api_v2010.json");
    let base = prism.base_url();
    let twilio = plugin(
        bundled::PROVIDER_TWILIO,
        &[
            ("account-sid", "AC00000000000000000000000000000000"),
            ("auth-token", "test-auth-token"),
            ("api-base-url", &base),
            (
                "status-callback-url",
                "https://switchboard.example/webhooks/twilio",
            ),
        ],
    );
    let id = expect_accepted(&twilio, &message("Hello from Switchboard", &[]));
    assert!(id.starts_with("SM") || id.starts_with("MM"), "{id}");
    // MMS: Twilio takes one `MediaUrl` form field per URL (what its own SDKs send, and
    // OpenAPI's default form encoding of an array). Prism cannot read a repeated or single
    // form field as an array (stoplightio/prism#2473), so it refuses that field; the test pins
    // that this is what it refuses (the SMS requests above prove the rest of the form).
    match twilio
        .try_send(&message(
            "With a picture",
            &["https://switchboard.example/a.png"],
        ))
        .expect("plugin call")
    {
        SendOutcome::Accepted { .. } => {}
        SendOutcome::Permanent { code, message } if code == "http-422" => {
            assert!(
                message.contains("\"location\":[\"body\",\"MediaUrl\"]"),
                "Prism refused something other than the MediaUrl encoding: {message}"
            );
        }
        other => panic!("the provider mock refused the request: {other:?}"),
    }
    let service = plugin(
        bundled::PROVIDER_TWILIO,
        &[
            ("account-sid", "AC00000000000000000000000000000000"),
            ("auth-token", "test-auth-token"),
            (
                "messaging-service-sid",
                "MG00000000000000000000000000000000",
            ),
            ("api-base-url", &base),
        ],
    );
    expect_accepted(&service, &message("Through a messaging service", &[]));
}

#[test]
fn telnyx_messages_conform_to_the_telnyx_api() {
    let prism = Prism::start("telnyx_messaging.json");
    let base = prism.base_url();
    let telnyx = plugin(
        bundled::PROVIDER_TELNYX,
        &[
            ("api-key", "KEY0123456789"),
            ("api-base-url", &base),
            ("webhook-url", "https://switchboard.example/webhooks/telnyx"),
        ],
    );
    let id = expect_accepted(&telnyx, &message("Hello from Switchboard", &[]));
    assert!(!id.is_empty());
    expect_accepted(
        &telnyx,
        &message("With a picture", &["https://switchboard.example/a.png"]),
    );
    let profile = plugin(
        bundled::PROVIDER_TELNYX,
        &[
            ("api-key", "KEY0123456789"),
            (
                "messaging-profile-id",
                "4001767e-ce0f-4cae-9d5f-0d5e636e7809",
            ),
            ("api-base-url", &base),
        ],
    );
    expect_accepted(&profile, &message("Through a messaging profile", &[]));
}
