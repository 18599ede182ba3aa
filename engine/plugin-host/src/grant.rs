//! Which hosts a plugin instance may reach through `host.fetch`: those its manifest declares
//! AND the operator's configuration grants. Pure: no I/O, unit-tested here.
//!
//! A pattern is `host`, `*.domain` (any subdomain, not the domain itself) or either with
//! `:port` or `:*` (any port). Without a port it matches the scheme's default port only. Plain `http://` is
//! refused except to loopback addresses (local mocks and sidecars): credentials and message
//! bodies never cross a network unencrypted.

use std::str::FromStr;

/// One allowed-host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// `*.domain`: any subdomain of `host`.
    subdomains: bool,
    /// Lower-case host name or IP address (IPv6 without brackets).
    host: String,
    /// Which port.
    port: PortPattern,
}

/// The port part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    /// The scheme's default port (no port written).
    Default,
    /// This port.
    Exactly(u16),
    /// `:*`.
    Any,
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (subdomains, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (host, port) = split_port(rest)
            .ok_or_else(|| format!("`{text}`: expected host, *.domain or host:port"))?;
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
        {
            return Err(format!("`{text}`: not a host name"));
        }
        Ok(Self {
            subdomains,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// `host`, `host:port`, `host:*`, `[v6]`, `[v6]:port` → (host, port).
fn split_port(text: &str) -> Option<(&str, PortPattern)> {
    let port = |text: &str| match text {
        "*" => Some(PortPattern::Any),
        digits => digits.parse().ok().map(PortPattern::Exactly),
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(after) => Some((host, port(after)?)),
            None if after.is_empty() => Some((host, PortPattern::Default)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, after)) if !host.contains(':') => Some((host, port(after)?)),
        Some(_) => Some((text, PortPattern::Default)), // a bare IPv6 address
        None => Some((text, PortPattern::Default)),
    }
}

impl HostPattern {
    /// Whether `host:port` (a request's, host lower-cased) matches; `default_port` is the
    /// scheme's.
    fn matches(&self, host: &str, port: u16, default_port: u16) -> bool {
        let host_matches = if self.subdomains {
            host.strip_suffix(self.host.as_str())
                .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        } else {
            host == self.host
        };
        host_matches
            && match self.port {
                PortPattern::Default => port == default_port,
                PortPattern::Exactly(wanted) => port == wanted,
                PortPattern::Any => true,
            }
    }
}

/// The hosts one plugin instance may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpGrant {
    declared: Vec<HostPattern>,
    granted: Vec<HostPattern>,
}

impl HttpGrant {
    /// A grant from the manifest's `allowed-hosts` and the operator's grants; a malformed
    /// pattern is an error naming it and where it came from.
    pub fn new(declared: &[String], granted: &[String]) -> Result<Self, String> {
        let parse = |list: &[String], origin: &str| -> Result<Vec<HostPattern>, String> {
            list.iter()
                .map(|text| text.parse().map_err(|e| format!("{origin}: {e}")))
                .collect()
        };
        Ok(Self {
            declared: parse(declared, "manifest allowed-hosts")?,
            granted: parse(granted, "operator allow-hosts")?,
        })
    }

    /// Whether the plugin may call out at all.
    pub fn is_empty(&self) -> bool {
        self.declared.is_empty() || self.granted.is_empty()
    }

    /// Checks a request URL; the error says what is missing.
    pub fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        let scheme = url.scheme();
        let default_port = match scheme {
            "https" => 443,
            "http" => 80,
            other => return Err(format!("scheme `{other}` is not allowed (https only)")),
        };
        let Some(host) = url.host_str() else {
            return Err(format!("{url} has no host"));
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = url.port().unwrap_or(default_port);
        if scheme == "http" && !is_loopback(&host) {
            return Err(format!(
                "plain http to {host} is refused: use https (http is allowed to loopback only)"
            ));
        }
        let allowed = |patterns: &[HostPattern]| {
            patterns
                .iter()
                .any(|pattern| pattern.matches(&host, port, default_port))
        };
        if !allowed(&self.declared) {
            return Err(format!(
                "{host}:{port} is not in the plugin manifest's allowed-hosts"
            ));
        }
        if !allowed(&self.granted) {
            return Err(format!(
                "{host}:{port} is not granted to this plugin in the operator's configuration (allow-hosts)"
            ));
        }
        Ok(())
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn grant(declared: &[&str], granted: &[&str]) -> HttpGrant {
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        HttpGrant::new(&owned(declared), &owned(granted)).unwrap()
    }

    fn check(grant: &HttpGrant, url: &str) -> Result<(), String> {
        grant.check(&reqwest::Url::parse(url).unwrap())
    }

    #[test]
    fn needs_both_the_manifest_and_the_operator() {
        let g = grant(&["api.twilio.com"], &["api.twilio.com"]);
        assert!(check(&g, "https://api.twilio.com/2010-04-01/x").is_ok());
        assert!(check(&g, "https://API.Twilio.com/x").is_ok());
        let only_manifest = grant(&["api.twilio.com"], &[]);
        let why = check(&only_manifest, "https://api.twilio.com/").unwrap_err();
        assert!(why.contains("operator"), "{why}");
        let only_operator = grant(&[], &["api.twilio.com"]);
        let why = check(&only_operator, "https://api.twilio.com/").unwrap_err();
        assert!(why.contains("manifest"), "{why}");
        assert!(check(&g, "https://evil.example/").is_err());
        assert!(check(&g, "https://api.twilio.com.evil.example/").is_err());
    }

    #[test]
    fn ports_and_wildcards() {
        let g = grant(
            &["*.example.com", "127.0.0.1:4010"],
            &["*.example.com", "127.0.0.1:4010"],
        );
        assert!(check(&g, "https://api.example.com/").is_ok());
        assert!(check(&g, "https://a.b.example.com/").is_ok());
        assert!(
            check(&g, "https://example.com/").is_err(),
            "the domain itself"
        );
        assert!(check(&g, "https://badexample.com/").is_err());
        assert!(
            check(&g, "https://api.example.com:8443/").is_err(),
            "other port"
        );
        assert!(check(&g, "http://127.0.0.1:4010/v2/messages").is_ok());
        assert!(check(&g, "http://127.0.0.1:4011/").is_err());
        let any_port = grant(&["localhost:*"], &["localhost:*"]);
        assert!(check(&any_port, "http://localhost:4011/").is_ok());
        assert!(check(&any_port, "https://localhost/").is_ok());
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let g = grant(
            &["api.example.com", "localhost:8080"],
            &["api.example.com", "localhost:8080"],
        );
        let why = check(&g, "http://api.example.com/").unwrap_err();
        assert!(why.contains("https"), "{why}");
        assert!(check(&g, "http://localhost:8080/").is_ok());
        assert!(check(&g, "ftp://api.example.com/").is_err());
        assert!(check(&g, "file:///etc/passwd").is_err());
    }

    #[test]
    fn malformed_patterns_are_named() {
        let error =
            HttpGrant::new(&["api.example.com".into()], &["http://x/y".into()]).unwrap_err();
        assert!(error.starts_with("operator allow-hosts"), "{error}");
        assert!("[::1]:8080".parse::<HostPattern>().is_ok());
        assert!("host:99999".parse::<HostPattern>().is_err());
    }
}
