//! The types of `switchboard.toml`. Every key has a default, so no file at all is a working
//! single-machine setup (the mock provider, the API on loopback).
//!
//! The doc comments here are the user documentation: they become the descriptions in
//! `schemas/config.schema.json`, which editors show on hover.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use switchboard_guidance::keywords;
use switchboard_model::timezone::Timezone;
use switchboard_model::window::{TimeOfDay, TimeRange};

use crate::settings::Settings;
use crate::tokens::ApiTokens;

/// Pattern of provider instance names: what a workflow's `provider:` names.
pub const INSTANCE_PATTERN: &str = switchboard_model::workflow::ID_PATTERN;
/// Pattern of plugin names (as in a plugin's manifest).
pub const PLUGIN_PATTERN: &str = r"^[a-z][a-z0-9-]{0,62}$";
/// Pattern of the hosts a provider instance may reach (as in a plugin's manifest).
pub const HOST_PATTERN: &str = r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:([0-9]{1,5}|\*))?$";

/// The Switchboard daemon's configuration (`switchboard.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
#[schemars(title = "Switchboard daemon configuration (switchboard.toml)")]
pub struct Config {
    /// Where the store keeps its files. Relative paths (here and in the other directories)
    /// are relative to the directory of `switchboard.toml`.
    pub data_dir: PathBuf,
    /// The address and port the API and the provider webhooks listen on, e.g. `127.0.0.1:8080`
    /// or `[::]:8080`. Without `[api] tokens` only a loopback address is allowed.
    #[serde(deserialize_with = "listen_address")]
    #[schemars(example = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The workflow directory (`*.yaml`), watched: edits are loaded without a restart.
    pub workflow_dir: PathBuf,
    /// Where user plugins live (one sub-directory each); a missing directory means none.
    pub plugin_dir: PathBuf,
    /// The base URL providers reach this daemon on, for their webhooks (delivery receipts and
    /// replies), e.g. `https://sms.example.com`.
    #[serde(
        default,
        deserialize_with = "public_url",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(regex(pattern = r"^https?://[^/?#\s]+(/[^?#\s]*)?$"))]
    pub public_url: Option<String>,
    /// The timezone of recipients whose campaign says nothing about theirs (an IANA name).
    pub default_timezone: Timezone,
    /// Global quiet hours, in each recipient's local time: no message is sent between `start`
    /// and `end`. Workflows may narrow them; only an explicit override (with a reason) lifts
    /// them.
    pub quiet_hours: QuietHours,
    /// The HTTP API.
    pub api: ApiConfig,
    /// Opt-out handling: the keywords beyond the standard ones and the answers sent.
    pub compliance: Compliance,
    /// Provider instances by name (what workflows' `provider:` refers to). Without this
    /// section there is one instance, `mock`, of the bundled mock plugin.
    #[schemars(extend("propertyNames" = { "pattern": INSTANCE_PATTERN }))]
    pub providers: BTreeMap<String, ProviderConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            workflow_dir: PathBuf::from("./workflows"),
            plugin_dir: PathBuf::from("./plugins.d"),
            public_url: None,
            default_timezone: Timezone(chrono_tz::Tz::UTC),
            quiet_hours: QuietHours::default(),
            api: ApiConfig::default(),
            compliance: Compliance::default(),
            providers: BTreeMap::from([("mock".to_string(), ProviderConfig::mock())]),
        }
    }
}

/// Quiet hours: `start` is when they begin in the evening, `end` when they finish in the
/// morning (`21:00` to `08:00`). They must include midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet hours begin (HH:MM).
    pub start: TimeOfDay,
    /// When they end (HH:MM).
    pub end: TimeOfDay,
}

impl Default for QuietHours {
    fn default() -> Self {
        // The complement of the model's default allowed hours (08:00–21:00).
        let allowed = switchboard_model::check::DEFAULT_ALLOWED_HOURS;
        Self {
            start: allowed.end,
            end: allowed.start,
        }
    }
}

impl QuietHours {
    /// The hours of the day outside quiet hours, as the runtime takes them; none when the
    /// quiet hours do not include midnight (they would leave two separate sending periods).
    pub fn allowed_hours(&self) -> Option<TimeRange> {
        let range =
            |start: TimeOfDay, end: TimeOfDay| (start < end).then_some(TimeRange { start, end });
        if self.start > self.end {
            // 21:00 → 08:00: allowed 08:00–21:00.
            range(self.end, self.start)
        } else if self.start == TimeOfDay::MIDNIGHT {
            // 00:00 → 06:00: allowed 06:00–24:00.
            range(self.end, TimeOfDay::END_OF_DAY)
        } else if self.end == TimeOfDay::END_OF_DAY {
            // 22:00 → 24:00: allowed 00:00–22:00.
            range(TimeOfDay::MIDNIGHT, self.start)
        } else {
            None
        }
    }
}

/// Opt-out handling. A message that is exactly STOP, STOPALL, UNSUBSCRIBE, CANCEL, END or QUIT
/// suppresses the number for every campaign; START, UNSTOP or YES from an opted-out number
/// resubscribes it; HELP or INFO gets `help-text`. The lists here add words (other languages,
/// brand keywords); the standard ones always apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Compliance {
    /// More opt-out words or phrases, e.g. `["ARRET", "ALTO", "BAJA"]`.
    pub opt_out_words: Vec<String>,
    /// More opt-in words, e.g. `["COMMENCER"]`.
    pub opt_in_words: Vec<String>,
    /// More help words, e.g. `["AIDE", "AYUDA"]`.
    pub help_words: Vec<String>,
    /// The answer to HELP: who you are and how to stop.
    #[schemars(length(min = 1, max = 1600))]
    pub help_text: String,
    /// Sent once when a number opts out.
    #[schemars(length(min = 1, max = 1600))]
    pub opt_out_confirmation: String,
    /// Sent once when a number opts back in.
    #[schemars(length(min = 1, max = 1600))]
    pub opt_in_confirmation: String,
    /// Provider error codes that mean the number opted out at the carrier: a send failing
    /// with one suppresses the number (Twilio 21610, Telnyx 40300).
    pub provider_opt_out_codes: Vec<String>,
}

impl Default for Compliance {
    fn default() -> Self {
        Self {
            opt_out_words: Vec::new(),
            opt_in_words: Vec::new(),
            help_words: Vec::new(),
            help_text: keywords::DEFAULT_HELP_TEXT.into(),
            opt_out_confirmation: keywords::DEFAULT_OPT_OUT_CONFIRMATION.into(),
            opt_in_confirmation: keywords::DEFAULT_OPT_IN_CONFIRMATION.into(),
            provider_opt_out_codes: keywords::DEFAULT_PROVIDER_OPT_OUT_CODES
                .map(String::from)
                .to_vec(),
        }
    }
}

/// The HTTP API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApiConfig {
    /// Bearer tokens that open the API: `sha256:<hex>` (the SHA-256 of a token, made by
    /// `switchboard token hash`) or `${VARIABLE}` (an environment variable holding a token).
    /// With none, the API is open, and only a loopback `listen` address is allowed.
    #[serde(default)]
    pub tokens: ApiTokens,
    /// Largest recipient file an upload may carry, in megabytes (default 100). Larger uploads
    /// are refused (413) before their body is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_upload_mb: Option<u64>,
}

impl ApiConfig {
    /// The upload limit in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_mb
            .unwrap_or(100)
            .max(1)
            .saturating_mul(1024 * 1024)
    }
}

/// One provider instance: a plugin, and the account settings it sends with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ProviderConfig {
    /// The plugin: a bundled one (`mock`, `twilio`, `telnyx`) or a user plugin's name.
    #[schemars(regex(pattern = PLUGIN_PATTERN))]
    pub plugin: String,
    /// Hosts this instance may reach (`api.example.com`, `*.example.com`, optionally with
    /// `:443` or `:*`). A request goes out only to a host allowed both here and in the
    /// plugin's manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = HOST_PATTERN)))]
    pub allow_hosts: Vec<String>,
    /// Price of one SMS segment, for the estimated cost in campaign statistics.
    #[serde(
        default,
        deserialize_with = "price",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 0.0))]
    pub price_per_segment: Option<f64>,
    /// The plugin's settings.
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
    /// Limits of the provider account, on top of each sender's rate in the workflows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

impl ProviderConfig {
    /// The default instance: the bundled mock plugin, no settings.
    pub fn mock() -> Self {
        Self {
            plugin: "mock".into(),
            allow_hosts: Vec::new(),
            price_per_segment: None,
            settings: Settings::default(),
            rate_limit: None,
        }
    }
}

/// Sends per time unit allowed for a provider account; set at least one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RateLimit {
    /// Segments per second; fractions allowed (0.5 is one every two seconds).
    #[serde(
        default,
        deserialize_with = "positive_number",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub per_second: Option<f64>,
    /// Segments in any 60 seconds.
    #[serde(
        default,
        deserialize_with = "positive_count",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub per_minute: Option<u32>,
    /// Segments per UTC calendar day.
    #[serde(
        default,
        deserialize_with = "positive_count",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(range(min = 1))]
    pub per_day: Option<u32>,
}

impl RateLimit {
    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        self.per_second.is_none() && self.per_minute.is_none() && self.per_day.is_none()
    }
}

// Field parsers. An error raised here is placed by toml at the value it read, so each check
// that concerns one value lives here rather than in the later validation.

fn listen_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    let parsed = match text.strip_prefix("localhost:") {
        Some(port) => port
            .parse()
            .ok()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        None => text.parse().ok(),
    };
    parsed.ok_or_else(|| {
        serde::de::Error::custom(format!(
            "expected an IP address and port such as 127.0.0.1:8080 or [::]:8080, found {text:?}"
        ))
    })
}

fn public_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(deserializer)?;
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split('/').next().unwrap_or_default());
    let valid = rest
        .is_some_and(|rest| !rest.contains(['?', '#']) && !rest.contains(char::is_whitespace))
        && host.is_some_and(|host| !host.is_empty());
    if !valid {
        return Err(serde::de::Error::custom(format!(
            "expected an http:// or https:// URL with a host and no query, such as https://sms.example.com, found {text:?}"
        )));
    }
    Ok(Some(text.trim_end_matches('/').to_string()))
}

fn positive_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value > 0.0 {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a positive number, found {value}"
        )))
    }
}

fn positive_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.fract() == 0.0 && value >= 1.0 && value <= f64::from(u32::MAX) {
        // Exact: a whole number within u32's range.
        Ok(Some(value as u32))
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a positive whole number, found {value}"
        )))
    }
}

fn price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value.is_finite() && value >= 0.0 {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "expected a price of 0 or more, found {value}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(start: &str, end: &str) -> Option<String> {
        let parse = |t: &str| t.parse::<TimeOfDay>().ok();
        QuietHours {
            start: parse(start)?,
            end: parse(end)?,
        }
        .allowed_hours()
        .map(|range| range.to_string())
    }

    #[test]
    fn quiet_hours_leave_one_sending_period() {
        assert_eq!(quiet("21:00", "08:00").as_deref(), Some("08:00-21:00"));
        assert_eq!(quiet("00:00", "06:00").as_deref(), Some("06:00-24:00"));
        assert_eq!(quiet("22:00", "24:00").as_deref(), Some("00:00-22:00"));
        assert_eq!(quiet("01:00", "05:00"), None);
        assert_eq!(quiet("08:00", "08:00"), None);
        assert_eq!(
            QuietHours::default().allowed_hours(),
            Some(switchboard_model::check::DEFAULT_ALLOWED_HOURS)
        );
    }
}
