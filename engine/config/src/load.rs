//! Loading `switchboard.toml`: parse (keeping every span), deserialize, resolve the
//! `${VARIABLE}` references, then the checks that span several keys. Every problem names its
//! key path and its line and column; one run reports every problem found after the file
//! deserialized (a syntax or type error stops at the first).

use std::io::Read as _;
use std::path::Path;

use serde::Deserialize as _;
use switchboard_model::diagnostic::did_you_mean;
use toml::de::DeTable;

use crate::config::Config;
use crate::error::{ConfigError, Position, Problem};
use crate::source::{SourceMap, join};

/// Largest config file read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

impl Config {
    /// The configuration when there is no file: everything at its default.
    pub fn default_embedded() -> Self {
        Self::default()
    }

    /// Loads the file at `path`, or the embedded defaults without one. `${VARIABLE}`s are
    /// read with `env` ([`process_env`](crate::process_env) for the real environment).
    /// Relative directories are made relative to the file's directory.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default_embedded());
        };
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        let name = path.display().to_string();
        let problem = |code, message: String| ConfigError::Invalid {
            problems: vec![Problem {
                file: name.clone(),
                position: None,
                key: String::new(),
                code,
                message,
            }],
        };
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(problem(
                "too-large",
                format!("larger than the {MAX_CONFIG_BYTES} bytes a config file may have"),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| problem("not-utf8", "the file is not UTF-8 text".into()))?;
        let mut config = Self::from_str(&name, &text, env)?;
        if let Some(base) = path.parent() {
            config.resolve_paths(base);
        }
        Ok(config)
    }

    /// Loads a config text; `name` is how problems name the file.
    pub fn from_str(
        name: &str,
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let invalid = |problems| ConfigError::Invalid { problems };
        let root = DeTable::parse(text).map_err(|error| {
            let map = SourceMap::empty(text);
            invalid(vec![Problem {
                file: name.to_string(),
                position: error.span().map(|span| map.position(span.start)),
                key: String::new(),
                code: "syntax",
                message: format!("invalid TOML: {}", error.message().trim()),
            }])
        })?;
        let map = SourceMap::new(text, root.get_ref());
        let mut config = Config::deserialize(toml::de::Deserializer::from(root))
            .map_err(|error| invalid(vec![deserialize_problem(name, &map, &error)]))?;
        let mut checks = Checks {
            file: name,
            map: &map,
            problems: Vec::new(),
        };
        checks.resolve(&mut config, &env);
        checks.validate(&config);
        if checks.problems.is_empty() {
            Ok(config)
        } else {
            // Stable order: by place, unplaced last.
            checks
                .problems
                .sort_by_key(|p| p.position.map_or((usize::MAX, 0), |p| (p.line, p.column)));
            Err(invalid(checks.problems))
        }
    }

    /// Makes the relative directories relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        for dir in [
            &mut self.data_dir,
            &mut self.workflow_dir,
            &mut self.plugin_dir,
        ] {
            if dir.is_relative() {
                *dir = base.join(dir.strip_prefix(".").unwrap_or(dir));
            }
        }
    }
}

/// A deserialization error, placed and reworded: serde's "field" is a TOML "key", and an
/// unknown key gets a suggestion.
fn deserialize_problem(file: &str, map: &SourceMap<'_>, error: &toml::de::Error) -> Problem {
    let span = error.span();
    let key = span
        .as_ref()
        .map(|span| map.path_at(span.start))
        .unwrap_or_default();
    let message = error.message().trim();
    let (code, message) = if message.starts_with("unknown field") {
        // serde: "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or `b`").
        let names: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
        let (wrong, expected) = names.split_first().map_or(("", &[][..]), |(w, e)| (*w, e));
        let hint = match did_you_mean(wrong, expected.iter().copied()) {
            Some(close) => format!(" (did you mean `{close}`?)"),
            None if expected.is_empty() => String::new(),
            None => format!(
                " (expected {})",
                expected
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ("unknown-key", format!("unknown key `{wrong}`{hint}"))
    } else if let Some(rest) = message.strip_prefix("missing field") {
        ("missing-key", format!("missing key{rest}"))
    } else {
        ("invalid-value", message.to_string())
    };
    Problem {
        file: file.to_string(),
        position: span.map(|span| map.position(span.start)),
        key,
        code,
        message,
    }
}

/// The checks after deserialization, collecting every problem.
struct Checks<'a> {
    file: &'a str,
    map: &'a SourceMap<'a>,
    problems: Vec<Problem>,
}

impl Checks<'_> {
    fn report(
        &mut self,
        key: &str,
        position: Option<Position>,
        code: &'static str,
        message: String,
    ) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            position,
            key: key.to_string(),
            code,
            message,
        });
    }

    /// A problem with the value of `key`.
    fn at(&mut self, key: &str, code: &'static str, message: String) {
        let position = self.map.locate(key);
        self.report(key, position, code, message);
    }

    /// Resolves the `${VARIABLE}`s of tokens and provider settings.
    fn resolve(&mut self, config: &mut Config, env: &dyn Fn(&str) -> Option<String>) {
        for (index, problem) in config.api.tokens.resolve(env) {
            self.at(&format!("api.tokens[{index}]"), "bad-token", problem);
        }
        for (name, provider) in &mut config.providers {
            let settings = join(&join("providers", name), "settings");
            for (key, error) in provider.settings.resolve(env) {
                self.at(&join(&settings, &key), "env", error.to_string());
            }
        }
    }

    fn validate(&mut self, config: &Config) {
        for (name, provider) in &config.providers {
            let path = join("providers", name);
            if !is_instance_name(name) {
                let position = self.map.locate_key(&path);
                self.report(
                    &path,
                    position,
                    "bad-name",
                    format!(
                        "provider instance name {name:?} must be 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit (workflows name it in `provider:`)"
                    ),
                );
            }
            if !is_plugin_name(&provider.plugin) {
                self.at(
                    &join(&path, "plugin"),
                    "bad-name",
                    format!(
                        "plugin name {:?} must be lowercase letters, digits and `-`, starting with a letter",
                        provider.plugin
                    ),
                );
            }
            for (index, host) in provider.allow_hosts.iter().enumerate() {
                if !is_host(host) {
                    self.at(
                        &format!("{}[{index}]", join(&path, "allow-hosts")),
                        "bad-host",
                        format!(
                            "{host:?} is not a host: expected `api.example.com`, `*.example.com`, optionally with `:443` or `:*`"
                        ),
                    );
                }
            }
            if provider.rate_limit.is_some_and(|limit| limit.is_empty()) {
                self.at(
                    &join(&path, "rate-limit"),
                    "empty-rate-limit",
                    "set at least one of `per-second`, `per-minute`, `per-day` (or remove the table)"
                        .into(),
                );
            }
        }
        let quiet = config.quiet_hours;
        if quiet.allowed_hours().is_none() {
            self.at(
                "quiet-hours",
                "bad-quiet-hours",
                format!(
                    "quiet hours {}-{} must include midnight and leave some hours to send (e.g. start = \"21:00\", end = \"08:00\")",
                    quiet.start, quiet.end
                ),
            );
        }
        if config.api.tokens.is_empty() && !config.listen.ip().is_loopback() {
            self.at(
                "listen",
                "open-api",
                format!(
                    "{} is reachable from other machines and [api] has no tokens: the API would be open to anyone; add a token (`switchboard token hash`) or listen on 127.0.0.1",
                    config.listen
                ),
            );
        }
    }
}

fn is_instance_name(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=64).contains(&name.len())
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn is_plugin_name(name: &str) -> bool {
    let mut chars = name.chars();
    (1..=63).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_host(host: &str) -> bool {
    let host = host.strip_prefix("*.").unwrap_or(host);
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|port| {
        port == "*"
            || (!port.is_empty() && port.len() <= 5 && port.chars().all(|c| c.is_ascii_digit()))
    });
    let label_ok = |label: &str| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    port_ok && name.split('.').all(label_ok)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::config::ProviderConfig;
    use crate::tokens::hash_token;

    fn env(name: &str) -> Option<String> {
        match name {
            "SWITCHBOARD_API_TOKEN" => Some("env-token-123".into()),
            "MOCK_WEBHOOK_TOKEN" => Some("whsec_abc".into()),
            _ => None,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// The problems of `text`, as the operator reads them.
    fn problems(text: &str) -> Vec<String> {
        match Config::from_str("switchboard.toml", text, env) {
            Ok(config) => panic!("loaded: {config:#?}"),
            Err(error) => error.problems().iter().map(ToString::to_string).collect(),
        }
    }

    fn one_problem(text: &str) -> String {
        let mut all = problems(text);
        assert_eq!(all.len(), 1, "{all:#?}");
        all.remove(0)
    }

    #[test]
    fn no_file_and_an_empty_file_are_the_embedded_defaults() {
        let defaults = Config::default_embedded();
        assert_eq!(Config::load(None, no_env).unwrap(), defaults);
        assert_eq!(
            Config::from_str("switchboard.toml", "", no_env).unwrap(),
            defaults
        );
        assert_eq!(
            defaults.listen,
            "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(defaults.data_dir, Path::new("./data"));
        assert_eq!(defaults.workflow_dir, Path::new("./workflows"));
        assert_eq!(defaults.plugin_dir, Path::new("./plugins.d"));
        assert_eq!(defaults.public_url, None);
        assert_eq!(defaults.default_timezone.to_string(), "UTC");
        assert_eq!(
            defaults
                .quiet_hours
                .allowed_hours()
                .map(|r| r.to_string())
                .as_deref(),
            Some("08:00-21:00")
        );
        assert!(defaults.api.tokens.is_empty());
        assert_eq!(defaults.providers.len(), 1);
        assert_eq!(defaults.providers["mock"], ProviderConfig::mock());
        // Another section written does not drop the default provider.
        let config = Config::from_str("c", "[api]\ntokens = []\n", no_env).unwrap();
        assert_eq!(config.providers.keys().collect::<Vec<_>>(), ["mock"]);
    }

    const FULL: &str = r#"data-dir = "/var/lib/switchboard"
listen = "0.0.0.0:8443"
workflow-dir = "flows"
plugin-dir = "./plugins.d"
public-url = "https://sms.example.com/"
default-timezone = "America/Toronto"
quiet-hours = { start = "20:30", end = "09:00" }

[api]
tokens = ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "${SWITCHBOARD_API_TOKEN}"]

[providers.mock]
plugin = "mock"
allow-hosts = []
price-per-segment = 0.0079
settings = { seed = "demo", webhook-token = "${MOCK_WEBHOOK_TOKEN}", literal = "$${NOT_A_VAR}", retries = 3, verbose = true }
[providers.mock.rate-limit]
per-second = 50
per-minute = 1000
per-day = 100000

[providers.twilio-ca]
plugin = "twilio"
allow-hosts = ["api.twilio.com", "*.twilio.com:443"]
settings = { account-sid = "AC123" }
rate-limit = { per-second = 0.5 }
"#;

    #[test]
    fn a_full_example_loads() {
        let config = Config::from_str("switchboard.toml", FULL, env).unwrap();
        assert_eq!(config.data_dir, Path::new("/var/lib/switchboard"));
        assert_eq!(config.listen.to_string(), "0.0.0.0:8443");
        assert_eq!(
            config.public_url.as_deref(),
            Some("https://sms.example.com")
        );
        assert_eq!(config.default_timezone.to_string(), "America/Toronto");
        assert_eq!(
            config
                .quiet_hours
                .allowed_hours()
                .map(|r| r.to_string())
                .as_deref(),
            Some("09:00-20:30")
        );
        assert_eq!(config.api.tokens.len(), 2);
        assert!(config.api.tokens.verify("test"), "the hashed token");
        assert!(
            config.api.tokens.verify("env-token-123"),
            "the token from the environment"
        );
        assert!(
            !config
                .api
                .tokens
                .verify("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        );
        assert!(!config.api.tokens.verify("${SWITCHBOARD_API_TOKEN}"));

        let mock = &config.providers["mock"];
        assert_eq!(mock.plugin, "mock");
        assert_eq!(mock.price_per_segment, Some(0.0079));
        assert_eq!(mock.settings.get("seed"), Some("demo"));
        assert_eq!(mock.settings.get("webhook-token"), Some("whsec_abc"));
        assert_eq!(mock.settings.get("literal"), Some("${NOT_A_VAR}"));
        assert_eq!(mock.settings.get("retries"), Some("3"));
        assert_eq!(mock.settings.get("verbose"), Some("true"));
        let limit = mock.rate_limit.unwrap();
        assert_eq!(
            (limit.per_second, limit.per_minute, limit.per_day),
            (Some(50.0), Some(1000), Some(100_000))
        );
        // Secrets stay out of Debug, and Serialize writes the references.
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("whsec_abc") && !debug.contains("env-token-123"),
            "{debug}"
        );
        let json = serde_json::to_string(&config).unwrap();
        assert!(
            !json.contains("whsec_abc") && !json.contains("env-token-123"),
            "{json}"
        );
        assert!(json.contains("${MOCK_WEBHOOK_TOKEN}"), "{json}");

        let twilio = &config.providers["twilio-ca"];
        assert_eq!(twilio.allow_hosts, ["api.twilio.com", "*.twilio.com:443"]);
        assert_eq!(twilio.rate_limit.and_then(|l| l.per_second), Some(0.5));
        assert_eq!(twilio.settings.to_map()["account-sid"], "AC123");
    }

    #[test]
    fn a_file_makes_relative_directories_relative_to_itself() {
        let dir = std::env::temp_dir().join(format!("switchboard-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("switchboard.toml");
        std::fs::write(&path, FULL).unwrap();
        let loaded = Config::load(Some(&path), env);
        let missing = Config::load(Some(&dir.join("nope.toml")), env).unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        let config = loaded.unwrap();
        assert_eq!(config.data_dir, Path::new("/var/lib/switchboard"));
        assert_eq!(config.workflow_dir, dir.join("flows"));
        assert_eq!(config.plugin_dir, dir.join("plugins.d"));
        assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
        assert!(missing.to_string().contains("nope.toml"));
    }

    #[test]
    fn missing_environment_variables_name_the_key_and_the_variable() {
        let text = "[api]\ntokens = [\"${API_TOKEN}\"]\n\n[providers.mock]\nplugin = \"mock\"\nsettings = { seed = \"x\", webhook-token = \"Bearer ${HOOK_SECRET}\" }\n";
        assert_eq!(
            problems(text),
            [
                "switchboard.toml:2:11: api.tokens[0]: environment variable API_TOKEN is not set",
                "switchboard.toml:6:42: providers.mock.settings.webhook-token: environment variable HOOK_SECRET is not set",
            ]
        );
        let empty = |name: &str| (name == "API_TOKEN").then(String::new);
        let error =
            Config::from_str("c.toml", "[api]\ntokens = [\"${API_TOKEN}\"]\n", empty).unwrap_err();
        assert_eq!(
            error.to_string(),
            "c.toml:2:11: api.tokens[0]: environment variable API_TOKEN is empty"
        );
        assert_eq!(
            one_problem("[providers.m]\nplugin = 'mock'\nsettings = { a = '${oops' }\n"),
            "switchboard.toml:3:18: providers.m.settings.a: `${` without a closing `}` (write `$${` for a literal `${`)"
        );
    }

    #[test]
    fn value_errors_are_placed_at_their_line_and_column() {
        let rate = "[providers.mock]\nplugin = \"mock\"\n\n[providers.mock.rate-limit]\nper-minute = 10\n\nper-second = 0\n";
        assert_eq!(
            one_problem(rate),
            "switchboard.toml:7:14: providers.mock.rate-limit.per-second: expected a positive number, found 0"
        );
        let cases = [
            (
                "[providers.mock]\nplugin = 'mock'\nrate-limit = { per-minute = 1.5 }\n",
                "switchboard.toml:3:29: providers.mock.rate-limit.per-minute: expected a positive whole number, found 1.5",
            ),
            (
                "[providers.mock]\nplugin = 'mock'\nrate-limit = { per-day = 0 }\n",
                "switchboard.toml:3:26: providers.mock.rate-limit.per-day: expected a positive whole number, found 0",
            ),
            (
                "[providers.mock]\nplugin = 'mock'\nprice-per-segment = -1\n",
                "switchboard.toml:3:21: providers.mock.price-per-segment: expected a price of 0 or more, found -1",
            ),
            (
                "listen = \"my-host\"\n",
                "switchboard.toml:1:10: listen: expected an IP address and port such as 127.0.0.1:8080 or [::]:8080, found \"my-host\"",
            ),
            (
                "listen = 8080\n",
                "switchboard.toml:1:10: listen: invalid type: integer `8080`, expected a string",
            ),
            (
                "default-timezone = \"Europe/Lodnon\"\n",
                "switchboard.toml:1:20: default-timezone: unknown timezone \"Europe/Lodnon\": expected an IANA name such as America/Toronto (did you mean Europe/London?)",
            ),
            (
                "quiet-hours = { start = \"25:00\", end = \"08:00\" }\n",
                "switchboard.toml:1:25: quiet-hours.start: invalid time \"25:00\": expected HH:MM on a 24-hour clock (e.g. 09:00, 17:30)",
            ),
            (
                "public-url = \"ftp://example.com\"\n",
                "switchboard.toml:1:14: public-url: expected an http:// or https:// URL with a host and no query, such as https://sms.example.com, found \"ftp://example.com\"",
            ),
            (
                "[api]\ntokens = [\"sha256:abc\"]\n",
                "switchboard.toml:2:11: api.tokens[0]: `sha256:` must be followed by 64 hex digits (the SHA-256 of a token; `switchboard token hash` makes it)",
            ),
            (
                "[providers.twilio]\nallow-hosts = []\n",
                "switchboard.toml:1:1: providers.twilio: missing key `plugin`",
            ),
            (
                "data-dir = \"x\"\nlisten = \"127.0.0.1:80\n",
                "switchboard.toml:2:23: invalid TOML: invalid basic string, expected `\"`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(one_problem(text), expected, "{text}");
        }
    }

    #[test]
    fn a_plaintext_token_is_refused_without_being_repeated() {
        let problem = one_problem(
            "[api]\ntokens = [\"sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\", \"hunter2\"]\n",
        );
        assert!(
            problem.starts_with("switchboard.toml:2:86: api.tokens[1]: a token entry is"),
            "{problem}"
        );
        assert!(!problem.contains("hunter2"), "{problem}");
    }

    #[test]
    fn checks_across_keys_report_every_problem() {
        let text = r#"listen = "0.0.0.0:8080"
quiet-hours = { start = "01:00", end = "05:00" }

[providers."Big Mock"]
plugin = "Mock"
allow-hosts = ["api.example.com", "bad host", "x.example.com:99999999"]
rate-limit = {}
"#;
        assert_eq!(
            problems(text),
            [
                "switchboard.toml:1:10: listen: 0.0.0.0:8080 is reachable from other machines and [api] has no tokens: the API would be open to anyone; add a token (`switchboard token hash`) or listen on 127.0.0.1",
                "switchboard.toml:2:15: quiet-hours: quiet hours 01:00-05:00 must include midnight and leave some hours to send (e.g. start = \"21:00\", end = \"08:00\")",
                "switchboard.toml:4:12: providers.\"Big Mock\": provider instance name \"Big Mock\" must be 1 to 64 lowercase letters, digits, `-` or `_`, starting with a letter or digit (workflows name it in `provider:`)",
                "switchboard.toml:5:10: providers.\"Big Mock\".plugin: plugin name \"Mock\" must be lowercase letters, digits and `-`, starting with a letter",
                "switchboard.toml:6:35: providers.\"Big Mock\".allow-hosts[1]: \"bad host\" is not a host: expected `api.example.com`, `*.example.com`, optionally with `:443` or `:*`",
                "switchboard.toml:6:47: providers.\"Big Mock\".allow-hosts[2]: \"x.example.com:99999999\" is not a host: expected `api.example.com`, `*.example.com`, optionally with `:443` or `:*`",
                "switchboard.toml:7:14: providers.\"Big Mock\".rate-limit: set at least one of `per-second`, `per-minute`, `per-day` (or remove the table)",
            ]
        );
        // With a token, any address is fine.
        let guarded = format!(
            "listen = \"[::]:8080\"\n[api]\ntokens = [\"{}\"]\n",
            hash_token("t")
        );
        assert!(Config::from_str("c", &guarded, no_env).is_ok());
        let error = Config::from_str("c", text, env).unwrap_err();
        assert!(error.problems().iter().all(|p| p.position.is_some()));
        assert_eq!(error.problems()[0].code, "open-api");
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let cases = [
            (
                "lisen = \"127.0.0.1:1\"\n",
                "switchboard.toml:1:1: lisen: unknown key `lisen` (did you mean `listen`?)",
            ),
            (
                "[api]\ntoken = []\n",
                "switchboard.toml:2:1: api.token: unknown key `token` (did you mean `tokens`?)",
            ),
            (
                "[providers.mock]\nplugin = 'mock'\nprice-per-segmnt = 0.01\n",
                "switchboard.toml:3:1: providers.mock.price-per-segmnt: unknown key `price-per-segmnt` (did you mean `price-per-segment`?)",
            ),
            (
                "[providers.mock]\nplugin = 'mock'\n[providers.mock.rate-limit]\nper-secnd = 5\n",
                "switchboard.toml:4:1: providers.mock.rate-limit.per-secnd: unknown key `per-secnd` (did you mean `per-second`?)",
            ),
            (
                "quiet-hours = { start = \"21:00\", end = \"08:00\", zone = \"UTC\" }\n",
                "switchboard.toml:1:49: quiet-hours.zone: unknown key `zone` (expected `start`, `end`)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(one_problem(text), expected, "{text}");
        }
    }
}
