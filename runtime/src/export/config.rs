//! Export settings: the [`Config`] struct, how it reads the standard
//! `OTEL_*` environment variables, and how it is validated.

use std::fmt;
use std::time::Duration;

use crate::metrics::InstrumentKind;

/// Wire protocol of the OTLP exporter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// OTLP over gRPC, default port 4317.
    Grpc,
    /// OTLP over HTTP with protobuf bodies, default port 4318. The default,
    /// as the OpenTelemetry specification recommends.
    #[default]
    HttpProtobuf,
}

impl Protocol {
    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf => "http://localhost:4318",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        })
    }
}

/// Choice of aggregation temporality for each kind of metric, as
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemporalityPreference {
    /// Every sum and histogram is cumulative since the process started.
    #[default]
    Cumulative,
    /// Monotonic sums and histograms send the change since the previous
    /// successful export. Non-monotonic sums stay cumulative.
    Delta,
    /// Sums and histograms of finished calls are delta. Sums read from
    /// running totals (the process heap totals) and non-monotonic sums stay
    /// cumulative.
    LowMemory,
}

/// Aggregation temporality of one exported metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Temporality {
    Cumulative,
    Delta,
}

impl TemporalityPreference {
    /// Returns the temporality this preference selects for `kind`. Gauges
    /// have none, and get `Cumulative` here.
    pub(crate) fn for_kind(self, kind: InstrumentKind) -> Temporality {
        match (self, kind) {
            (TemporalityPreference::Delta, InstrumentKind::Counter)
            | (TemporalityPreference::Delta, InstrumentKind::ObservableCounter)
            | (TemporalityPreference::Delta, InstrumentKind::Histogram)
            | (TemporalityPreference::LowMemory, InstrumentKind::Counter)
            | (TemporalityPreference::LowMemory, InstrumentKind::Histogram) => Temporality::Delta,
            _ => Temporality::Cumulative,
        }
    }
}

/// Settings of [`crate::init`].
///
/// Start from [`Config::from_env`], which reads the standard OpenTelemetry
/// environment variables, or from [`Config::default`], then change fields
/// directly or with the `with_*` setters. [`crate::init`] validates the
/// result.
///
/// # When heapmeter exports
///
/// OTLP export is off unless [`Config::otlp`] is true. [`Config::from_env`]
/// turns it on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is set, or when
/// `OTEL_METRICS_EXPORTER=otlp`, and turns it off again when
/// `OTEL_METRICS_EXPORTER=none` or `OTEL_SDK_DISABLED=true`. The setters
/// [`Config::with_endpoint`] and [`Config::with_metrics_endpoint`] turn it
/// on. So a program that calls `heapmeter::init(Config::from_env()?)` sends
/// nothing until it is deployed with an endpoint, and measuring still works
/// through [`crate::snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Whether to export over OTLP at all.
    pub otlp: bool,
    /// Base URL of the collector (`OTEL_EXPORTER_OTLP_ENDPOINT`). For
    /// HTTP, `v1/metrics` is appended to its path; for gRPC it is used as
    /// given. `None` means `http://localhost:4317` for gRPC and
    /// `http://localhost:4318` for HTTP.
    pub endpoint: Option<String>,
    /// Full URL for metrics (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`), used as
    /// given. Takes precedence over [`Config::endpoint`].
    pub metrics_endpoint: Option<String>,
    /// Wire protocol (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub protocol: Protocol,
    /// Extra request headers or gRPC metadata, such as an API key
    /// (`OTEL_EXPORTER_OTLP_HEADERS`).
    pub headers: Vec<(String, String)>,
    /// Time limit of one export request (`OTEL_EXPORTER_OTLP_TIMEOUT`),
    /// 10 seconds by default.
    pub export_timeout: Duration,
    /// Time between two periodic exports (`OTEL_METRIC_EXPORT_INTERVAL`),
    /// 60 seconds by default.
    pub export_interval: Duration,
    /// Temporality of sums and histograms
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    pub temporality: TemporalityPreference,
    /// Maximum time [`crate::Handle::shutdown`] and dropping the handle wait
    /// for the final export, 3 seconds by default.
    pub shutdown_timeout: Duration,
    /// Number of times a failed export is tried again before its data is
    /// dropped, 3 by default. Only transient failures are tried again:
    /// connection errors, time-outs, gRPC `UNAVAILABLE` and similar codes,
    /// and HTTP 429, 502, 503 and 504.
    pub max_retries: u32,
    /// Overrides the `service.name` resource attribute, which otherwise
    /// comes from `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES`.
    pub service_name: Option<String>,
}

/// Default of [`Config::export_timeout`], as the OTLP exporter specification sets it.
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`Config::export_interval`], as the metrics SDK specification sets it.
const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(60);
/// Default of [`Config::shutdown_timeout`].
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);
/// Default of [`Config::max_retries`].
const DEFAULT_MAX_RETRIES: u32 = 3;

impl Default for Config {
    fn default() -> Self {
        Config {
            otlp: false,
            endpoint: None,
            metrics_endpoint: None,
            protocol: Protocol::default(),
            headers: Vec::new(),
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            export_interval: DEFAULT_EXPORT_INTERVAL,
            temporality: TemporalityPreference::default(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            service_name: None,
        }
    }
}

/// Origin of an invalid setting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingSource {
    /// An environment variable, by name.
    EnvironmentVariable(&'static str),
    /// A field of [`Config`], by name.
    ConfigField(&'static str),
}

impl fmt::Display for SettingSource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingSource::EnvironmentVariable(name) => write!(formatter, "environment variable {name}"),
            SettingSource::ConfigField(name) => write!(formatter, "heapmeter::Config::{name}"),
        }
    }
}

/// Error returned by [`Config::from_env`], [`Config::validate`] and
/// [`crate::init`].
///
/// `Debug` prints the same text as `Display`, so a `main` that returns
/// `Result<(), InitError>` reports a readable message. Match on the
/// variants to read the fields.
#[non_exhaustive]
pub enum InitError {
    /// A setting has a value heapmeter cannot use.
    InvalidSetting {
        /// The variable or field that contains the value.
        source: SettingSource,
        /// The rejected value.
        value: String,
        /// Explanation of the problem and of the fix.
        reason: String,
    },
    /// Another [`crate::Handle`] is still exporting.
    AlreadyRunning,
    /// The export thread or its runtime could not be started.
    Start(std::io::Error),
}

impl fmt::Display for InitError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidSetting { source, value, reason } => {
                write!(formatter, "invalid value {value:?} in {source}: {reason}")
            }
            InitError::AlreadyRunning => formatter.write_str(
                "heapmeter is already exporting: shut the first heapmeter::Handle down \
                 before calling heapmeter::init again, or keep using it",
            ),
            InitError::Start(error) => {
                write!(formatter, "failed to start the heapmeter export thread: {error}")
            }
        }
    }
}

impl fmt::Debug for InitError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::Start(error) => Some(error),
            _ => None,
        }
    }
}

fn invalid(source: SettingSource, value: &str, reason: impl Into<String>) -> InitError {
    InitError::InvalidSetting { source, value: value.to_owned(), reason: reason.into() }
}

/// Environment variables read by [`Config::from_env`].
mod variables {
    pub(super) const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    pub(super) const METRICS_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT";
    pub(super) const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    pub(super) const METRICS_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL";
    pub(super) const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    pub(super) const METRICS_HEADERS: &str = "OTEL_EXPORTER_OTLP_METRICS_HEADERS";
    pub(super) const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    pub(super) const METRICS_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT";
    pub(super) const INTERVAL: &str = "OTEL_METRIC_EXPORT_INTERVAL";
    pub(super) const TEMPORALITY: &str = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    pub(super) const METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";
    pub(super) const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
}

impl Config {
    /// Reads the standard OpenTelemetry environment variables on top of
    /// [`Config::default`].
    ///
    /// Read: `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL`,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT` (ms), their
    /// `_METRICS_` variants (which take precedence), `OTEL_METRIC_EXPORT_INTERVAL`
    /// (ms), `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`,
    /// `OTEL_METRICS_EXPORTER` and `OTEL_SDK_DISABLED`. `OTEL_SERVICE_NAME`
    /// and `OTEL_RESOURCE_ATTRIBUTES` are read by [`crate::init`] when it
    /// builds the resource. An empty variable counts as unset.
    ///
    /// # Errors
    ///
    /// [`InitError::InvalidSetting`] naming the variable, its value and the
    /// fix, for the first variable that cannot be parsed. The endpoint
    /// variables are checked here even when export ends up turned off.
    pub fn from_env() -> Result<Config, InitError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` instead of the process environment.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, InitError> {
        use variables::*;

        let read = |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|value| !value.is_empty());
        let mut config = Config::default();

        config.endpoint = read(ENDPOINT);
        config.metrics_endpoint = read(METRICS_ENDPOINT);
        config.otlp = config.endpoint.is_some() || config.metrics_endpoint.is_some();

        if let Some((name, value)) =
            read(METRICS_PROTOCOL).map(|v| (METRICS_PROTOCOL, v)).or_else(|| read(PROTOCOL).map(|v| (PROTOCOL, v)))
        {
            config.protocol = parse_protocol(&value, SettingSource::EnvironmentVariable(name))?;
        }
        for (name, endpoint) in [(ENDPOINT, &config.endpoint), (METRICS_ENDPOINT, &config.metrics_endpoint)] {
            if let Some(url) = endpoint {
                check_url(url, SettingSource::EnvironmentVariable(name), config.protocol)?;
            }
        }

        for name in [HEADERS, METRICS_HEADERS] {
            if let Some(value) = read(name) {
                for (key, header_value) in parse_headers(&value, SettingSource::EnvironmentVariable(name))? {
                    config.headers.retain(|(existing, _)| *existing != key);
                    config.headers.push((key, header_value));
                }
            }
        }

        if let Some((name, value)) =
            read(METRICS_TIMEOUT).map(|v| (METRICS_TIMEOUT, v)).or_else(|| read(TIMEOUT).map(|v| (TIMEOUT, v)))
        {
            config.export_timeout = parse_milliseconds(&value, SettingSource::EnvironmentVariable(name))?;
        }
        if let Some(value) = read(INTERVAL) {
            config.export_interval = parse_milliseconds(&value, SettingSource::EnvironmentVariable(INTERVAL))?;
        }
        if let Some(value) = read(TEMPORALITY) {
            config.temporality = parse_temporality(&value, SettingSource::EnvironmentVariable(TEMPORALITY))?;
        }

        if let Some(value) = read(METRICS_EXPORTER) {
            match value.to_ascii_lowercase().as_str() {
                "otlp" => config.otlp = true,
                "none" => config.otlp = false,
                _ => {
                    return Err(invalid(
                        SettingSource::EnvironmentVariable(METRICS_EXPORTER),
                        &value,
                        "heapmeter exports only over OTLP: use \"otlp\", or \"none\" to turn export off",
                    ));
                }
            }
        }
        if let Some(value) = read(SDK_DISABLED) {
            match value.to_ascii_lowercase().as_str() {
                "true" => config.otlp = false,
                "false" => {}
                _ => {
                    return Err(invalid(
                        SettingSource::EnvironmentVariable(SDK_DISABLED),
                        &value,
                        "expected \"true\" or \"false\"",
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Sets the base URL of the collector and turns OTLP export on.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Config {
        self.endpoint = Some(endpoint.into());
        self.otlp = true;
        self
    }

    /// Sets the full metrics URL, used as given, and turns OTLP export on.
    #[must_use]
    pub fn with_metrics_endpoint(mut self, endpoint: impl Into<String>) -> Config {
        self.metrics_endpoint = Some(endpoint.into());
        self.otlp = true;
        self
    }

    /// Turns OTLP export on or off. With no endpoint set, export goes to the
    /// default local collector address of [`Config::protocol`].
    #[must_use]
    pub fn with_otlp(mut self, enabled: bool) -> Config {
        self.otlp = enabled;
        self
    }

    /// Sets the wire protocol.
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Config {
        self.protocol = protocol;
        self
    }

    /// Adds a request header, replacing an earlier one of the same name.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Config {
        let name = name.into().to_ascii_lowercase();
        self.headers.retain(|(existing, _)| *existing != name);
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the time limit of one export request.
    #[must_use]
    pub fn with_export_timeout(mut self, timeout: Duration) -> Config {
        self.export_timeout = timeout;
        self
    }

    /// Sets the time between two periodic exports.
    #[must_use]
    pub fn with_export_interval(mut self, interval: Duration) -> Config {
        self.export_interval = interval;
        self
    }

    /// Sets the temporality preference.
    #[must_use]
    pub fn with_temporality(mut self, temporality: TemporalityPreference) -> Config {
        self.temporality = temporality;
        self
    }

    /// Sets how long shutting down waits for the final export.
    #[must_use]
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Config {
        self.shutdown_timeout = timeout;
        self
    }

    /// Sets how many times a failed export is tried again.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Config {
        self.max_retries = max_retries;
        self
    }

    /// Sets the `service.name` resource attribute.
    #[must_use]
    pub fn with_service_name(mut self, service_name: impl Into<String>) -> Config {
        self.service_name = Some(service_name.into());
        self
    }

    /// Checks every field and returns the URL export requests go to, or
    /// `None` when OTLP export is off.
    ///
    /// # Errors
    ///
    /// [`InitError::InvalidSetting`] naming the field, its value and the fix.
    pub fn validate(&self) -> Result<Option<String>, InitError> {
        for (field, duration) in [
            ("export_timeout", self.export_timeout),
            ("export_interval", self.export_interval),
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            if duration.is_zero() {
                return Err(invalid(
                    SettingSource::ConfigField(field),
                    &format!("{duration:?}"),
                    "must be longer than zero",
                ));
            }
        }
        for (name, value) in &self.headers {
            check_header(name, value)
                .map_err(|reason| invalid(SettingSource::ConfigField("headers"), &format!("{name}={value}"), reason))?;
        }
        if let Some(service_name) = &self.service_name
            && service_name.trim().is_empty()
        {
            return Err(invalid(
                SettingSource::ConfigField("service_name"),
                service_name,
                "must not be empty: set a name or leave it None",
            ));
        }
        if !self.otlp {
            return Ok(None);
        }
        self.metrics_url().map(Some)
    }

    /// Resolves the metrics URL as the OTLP exporter specification defines it: a
    /// signal-specific endpoint is used as given, and the generic endpoint
    /// gets `v1/metrics` appended for HTTP.
    fn metrics_url(&self) -> Result<String, InitError> {
        if let Some(endpoint) = &self.metrics_endpoint {
            check_url(endpoint, SettingSource::ConfigField("metrics_endpoint"), self.protocol)?;
            return Ok(endpoint.clone());
        }
        let (base, source) = match &self.endpoint {
            Some(endpoint) => (endpoint.as_str(), SettingSource::ConfigField("endpoint")),
            None => (self.protocol.default_endpoint(), SettingSource::ConfigField("protocol")),
        };
        check_url(base, source, self.protocol)?;
        Ok(match self.protocol {
            Protocol::Grpc => base.to_owned(),
            Protocol::HttpProtobuf if base.ends_with('/') => format!("{base}v1/metrics"),
            Protocol::HttpProtobuf => format!("{base}/v1/metrics"),
        })
    }
}

fn parse_protocol(value: &str, source: SettingSource) -> Result<Protocol, InitError> {
    match value.to_ascii_lowercase().as_str() {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        "http/json" => Err(invalid(source, value, "heapmeter does not send JSON: use \"http/protobuf\" or \"grpc\"")),
        _ => Err(invalid(source, value, "expected \"grpc\" or \"http/protobuf\"")),
    }
}

fn parse_temporality(value: &str, source: SettingSource) -> Result<TemporalityPreference, InitError> {
    match value.to_ascii_lowercase().as_str() {
        "cumulative" => Ok(TemporalityPreference::Cumulative),
        "delta" => Ok(TemporalityPreference::Delta),
        "lowmemory" => Ok(TemporalityPreference::LowMemory),
        _ => Err(invalid(source, value, "expected \"cumulative\", \"delta\" or \"lowmemory\"")),
    }
}

fn parse_milliseconds(value: &str, source: SettingSource) -> Result<Duration, InitError> {
    match value.parse::<u64>() {
        Ok(0) => Err(invalid(source, value, "must be a positive number of milliseconds, such as 10000")),
        Ok(milliseconds) => Ok(Duration::from_millis(milliseconds)),
        Err(_) => Err(invalid(source, value, "expected a whole number of milliseconds, such as 10000")),
    }
}

/// Parses the W3C baggage format the OTLP header variables use:
/// `key1=value1,key2=value2`, with percent-encoded values.
fn parse_headers(value: &str, source: SettingSource) -> Result<Vec<(String, String)>, InitError> {
    let mut headers = Vec::new();
    for item in value.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let Some((name, encoded)) = item.split_once('=') else {
            return Err(invalid(
                source,
                value,
                format!("the entry {item:?} has no '=': write name=value pairs separated by commas"),
            ));
        };
        let name = name.trim().to_ascii_lowercase();
        let Some(decoded) = percent_decode(encoded.trim()) else {
            return Err(invalid(source, value, format!("the value of {name:?} is not valid percent-encoded UTF-8")));
        };
        check_header(&name, &decoded).map_err(|reason| invalid(source.clone(), value, reason))?;
        headers.push((name, decoded));
    }
    Ok(headers)
}

fn percent_decode(encoded: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut rest = encoded.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2)?;
            let text = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(text, 16).ok()?);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

/// Checks one header, returning what is wrong with it.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("{name:?} is not a valid header name: use letters, digits and '-'"));
    }
    if http::HeaderValue::from_str(value).is_err() {
        return Err(format!("the value of header {name:?} is not valid: use visible ASCII characters"));
    }
    Ok(())
}

/// Checks that `url` is an `http://` URL with a host. The error proposes a
/// corrected URL when one is evident, and otherwise the default endpoint of
/// `protocol` as an example.
fn check_url(url: &str, source: SettingSource, protocol: Protocol) -> Result<(), InitError> {
    let parsed = url.parse::<http::Uri>().ok();
    let scheme = parsed.as_ref().and_then(http::Uri::scheme_str);
    let has_host = parsed.as_ref().and_then(http::Uri::host).is_some_and(|host| !host.is_empty());
    if scheme == Some("http") && has_host {
        return Ok(());
    }
    // NOTE: TLS needs tonic's and hyper's TLS features, which this build
    // leaves out; until they are added, send to a local collector.
    if scheme == Some("https") {
        return Err(invalid(
            source,
            url,
            "heapmeter does not support TLS yet: send to a local collector over http:// and let it forward over TLS",
        ));
    }
    let reason = match suggest_http_url(url) {
        Some(suggestion) => format!("the URL must start with http://, as in {suggestion}"),
        None => format!("expected a URL of the form http://host:port, such as {}", protocol.default_endpoint()),
    };
    Err(invalid(source, url, reason))
}

/// Suggests a fix for `url` by adding the scheme `http://` or replacing its
/// scheme with it. Returns `None` unless the part before the first '/' is a
/// host with an optional numeric port, as for `http:/collector`.
fn suggest_http_url(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority_text = rest.split('/').next().unwrap_or_default();
    let authority = authority_text.parse::<http::uri::Authority>().ok()?;
    if authority.host().is_empty() {
        return None;
    }
    // A ':' after the host, outside the brackets of an IPv6 address, must
    // start a valid port.
    let after_host = authority_text.rsplit(']').next().unwrap_or_default();
    if after_host.contains(':') && authority.port_u16().is_none() {
        return None;
    }
    let suggestion = format!("http://{rest}");
    suggestion.parse::<http::Uri>().ok()?;
    Some(suggestion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config_from(variables: &[(&str, &str)]) -> Result<Config, InitError> {
        let map: HashMap<String, String> =
            variables.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn message(result: Result<Config, InitError>) -> String {
        match result {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn empty_environment_disables_export() {
        let config = config_from(&[]).unwrap();
        assert!(!config.otlp);
        assert_eq!(config.validate().unwrap(), None);
        assert_eq!(config.protocol, Protocol::HttpProtobuf);
        assert_eq!(config.export_interval, Duration::from_secs(60));
        assert_eq!(config.export_timeout, Duration::from_secs(10));
    }

    #[test]
    fn generic_endpoint_gets_signal_path_for_http() {
        let config = config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]).unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://collector:4318/v1/metrics"));
        let config = config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/")]).unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://collector:4318/base/v1/metrics"));
    }

    #[test]
    fn metrics_endpoint_is_used_as_given() {
        let config = config_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:9000/custom"),
        ])
        .unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://collector:9000/custom"));
    }

    #[test]
    fn grpc_endpoint_has_no_signal_path() {
        let config = config_from(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://collector:4317"));
    }

    #[test]
    fn enabled_without_endpoint_uses_defaults() {
        let config = config_from(&[("OTEL_METRICS_EXPORTER", "otlp")]).unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://localhost:4318/v1/metrics"));
        let config =
            config_from(&[("OTEL_METRICS_EXPORTER", "otlp"), ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(config.validate().unwrap().as_deref(), Some("http://localhost:4317"));
    }

    #[test]
    fn sdk_disabled_wins_over_endpoint() {
        let config =
            config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"), ("OTEL_SDK_DISABLED", "true")])
                .unwrap();
        assert!(!config.otlp);
    }

    #[test]
    fn headers_are_decoded_and_merged() {
        let config = config_from(&[
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%20one, Tenant=a"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "tenant=b"),
        ])
        .unwrap();
        assert_eq!(
            config.headers,
            vec![("api-key".to_owned(), "secret one".to_owned()), ("tenant".to_owned(), "b".to_owned())]
        );
    }

    #[test]
    fn durations_and_temporality_are_read() {
        let config = config_from(&[
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        ])
        .unwrap();
        assert_eq!(config.export_timeout, Duration::from_millis(2500));
        assert_eq!(config.export_interval, Duration::from_secs(1));
        assert_eq!(config.temporality, TemporalityPreference::Delta);
    }

    #[test]
    fn invalid_values_name_variable_value_and_fix() {
        let cases = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http", "expected \"grpc\" or \"http/protobuf\""),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", "use \"http/protobuf\""),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "whole number of milliseconds"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "0", "positive number of milliseconds"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", "\"lowmemory\""),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue", "has no '='"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "bad name=1", "is not a valid header name"),
            ("OTEL_METRICS_EXPORTER", "prometheus", "only over OTLP"),
        ];
        for (variable, value, fix) in cases {
            let text = message(config_from(&[(variable, value)]));
            assert!(text.contains(variable), "{text}");
            assert!(text.contains(&format!("{value:?}")), "{text}");
            assert!(text.contains(fix), "{text}");
        }
    }

    fn validation_message(config: &Config) -> String {
        match config.validate() {
            Ok(url) => panic!("expected an error, got {url:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn init_error_debug_matches_display() {
        let error = match config_from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/xml")]) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(error) => error,
        };
        let expected = "invalid value \"http/xml\" in environment variable OTEL_EXPORTER_OTLP_PROTOCOL: \
                        expected \"grpc\" or \"http/protobuf\"";
        assert_eq!(error.to_string(), expected);
        assert_eq!(format!("{error:?}"), expected);
        assert_eq!(format!("{:?}", InitError::AlreadyRunning), InitError::AlreadyRunning.to_string());
    }

    #[test]
    fn protocol_is_case_insensitive() {
        for value in ["GRPC", "Grpc", "gRPC"] {
            let config = config_from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", value)]).unwrap();
            assert_eq!(config.protocol, Protocol::Grpc, "{value}");
        }
        for value in ["HTTP/PROTOBUF", "Http/Protobuf"] {
            let config = config_from(&[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", value)]).unwrap();
            assert_eq!(config.protocol, Protocol::HttpProtobuf, "{value}");
        }
        assert_eq!(
            message(config_from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON")])),
            "invalid value \"HTTP/JSON\" in environment variable OTEL_EXPORTER_OTLP_PROTOCOL: \
             heapmeter does not send JSON: use \"http/protobuf\" or \"grpc\""
        );
    }

    #[test]
    fn invalid_endpoint_variables_rejected_by_from_env() {
        let cases = [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "127.0.0.1:4318",
                "the URL must start with http://, as in http://127.0.0.1:4318",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "collector:4318/v1/metrics",
                "the URL must start with http://, as in http://collector:4318/v1/metrics",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost", "the URL must start with http://, as in http://localhost"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "[::1]:4318", "the URL must start with http://, as in http://[::1]:4318"),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "grpc://collector:4317",
                "the URL must start with http://, as in http://collector:4317",
            ),
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http:/collector",
                "expected a URL of the form http://host:port, such as http://localhost:4318",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "collector:http",
                "expected a URL of the form http://host:port, such as http://localhost:4318",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://",
                "expected a URL of the form http://host:port, such as http://localhost:4318",
            ),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector:4318",
                "heapmeter does not support TLS yet: send to a local collector over http:// and let it forward over TLS",
            ),
        ];
        for (variable, value, reason) in cases {
            assert_eq!(
                message(config_from(&[(variable, value)])),
                format!("invalid value {value:?} in environment variable {variable}: {reason}"),
            );
        }
    }

    #[test]
    fn invalid_endpoint_rejected_when_export_is_off() {
        assert_eq!(
            message(config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4318"), ("OTEL_SDK_DISABLED", "true")])),
            "invalid value \"127.0.0.1:4318\" in environment variable OTEL_EXPORTER_OTLP_ENDPOINT: \
             the URL must start with http://, as in http://127.0.0.1:4318"
        );
    }

    #[test]
    fn endpoint_example_follows_protocol() {
        assert_eq!(
            message(config_from(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "/v1/metrics"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
            ])),
            "invalid value \"/v1/metrics\" in environment variable OTEL_EXPORTER_OTLP_ENDPOINT: \
             expected a URL of the form http://host:port, such as http://localhost:4317"
        );
    }

    #[test]
    fn invalid_urls_are_rejected_at_validation() {
        assert_eq!(
            validation_message(&Config::default().with_endpoint("localhost:4318")),
            "invalid value \"localhost:4318\" in heapmeter::Config::endpoint: \
             the URL must start with http://, as in http://localhost:4318"
        );
        assert_eq!(
            validation_message(&Config::default().with_metrics_endpoint("https://collector:4318/v1/metrics")),
            "invalid value \"https://collector:4318/v1/metrics\" in heapmeter::Config::metrics_endpoint: \
             heapmeter does not support TLS yet: send to a local collector over http:// and let it forward over TLS"
        );
        assert_eq!(
            validation_message(&Config::default().with_protocol(Protocol::Grpc).with_endpoint("http://")),
            "invalid value \"http://\" in heapmeter::Config::endpoint: \
             expected a URL of the form http://host:port, such as http://localhost:4317"
        );
    }

    #[test]
    fn invalid_field_after_from_env_names_field() {
        let mut config = config_from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]).unwrap();
        config.endpoint = Some("collector:4318".to_owned());
        assert_eq!(
            validation_message(&config),
            "invalid value \"collector:4318\" in heapmeter::Config::endpoint: \
             the URL must start with http://, as in http://collector:4318"
        );
    }

    #[test]
    fn zero_durations_are_rejected() {
        let config = Config::default().with_shutdown_timeout(Duration::ZERO);
        let text = config.validate().map(|_| String::new()).unwrap_or_else(|error| error.to_string());
        assert!(text.contains("shutdown_timeout"), "{text}");
        assert!(text.contains("longer than zero"), "{text}");
    }

    #[test]
    fn temporality_follows_preference_table() {
        use InstrumentKind::*;
        let delta = TemporalityPreference::Delta;
        let low = TemporalityPreference::LowMemory;
        let cumulative = TemporalityPreference::Cumulative;
        assert_eq!(delta.for_kind(Counter), Temporality::Delta);
        assert_eq!(delta.for_kind(ObservableCounter), Temporality::Delta);
        assert_eq!(delta.for_kind(UpDownCounter), Temporality::Cumulative);
        assert_eq!(low.for_kind(Counter), Temporality::Delta);
        assert_eq!(low.for_kind(ObservableCounter), Temporality::Cumulative);
        assert_eq!(low.for_kind(Histogram), Temporality::Delta);
        assert_eq!(cumulative.for_kind(Histogram), Temporality::Cumulative);
    }
}
