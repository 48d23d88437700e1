//! Encoding of heapmeter's aggregates as an OTLP `ExportMetricsServiceRequest`.
//!
//! The hot path never touches OpenTelemetry: this module reads a
//! [`Snapshot`] on the export thread and builds the protobuf messages
//! directly, with the metric table of [`crate::metrics`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::config::{Config, Temporality, TemporalityPreference};
use super::transport;
use crate::aggregate::{FunctionStats, Snapshot};
use crate::counters::Totals;
use crate::histogram::{self, Histogram};
use crate::metrics::{self, InstrumentKind, MetricDescriptor};

/// The state of the last export that counts as delivered: delta points
/// are differences from it.
#[derive(Clone, Debug)]
pub(crate) struct Baseline {
    time_nanos: u64,
    /// Statistics of each function, keyed by the address of its site.
    functions: HashMap<usize, FunctionStats>,
    process: Totals,
}

/// A request ready to send, and the baseline that replaces the current one
/// once the request is delivered or given up.
pub(crate) struct Batch {
    pub(crate) request: ExportMetricsServiceRequest,
    pub(crate) next_baseline: Baseline,
}

/// Drains every thread's queue and copies the statistics, so that encoding
/// runs after the aggregator lock is released.
pub(crate) fn collect() -> Snapshot {
    crate::aggregate::with_drained(|functions| Snapshot {
        functions: functions.to_vec(),
        process: crate::counters::process_totals(),
        taken_at: SystemTime::now(),
    })
}

/// Builds requests from snapshots and keeps the delta baseline.
pub(crate) struct Encoder {
    resource: Resource,
    schema_url: String,
    temporality: TemporalityPreference,
    /// Start time of cumulative series: when the process started.
    start_nanos: u64,
    baseline: Baseline,
}

/// Figures of one metric for one function, cumulative or relative to the
/// baseline as the metric's temporality requires.
struct FunctionPoint<'a> {
    current: &'a FunctionStats,
    /// The function's statistics at the baseline, when they are subtracted.
    earlier: Option<&'a FunctionStats>,
    attributes: Vec<KeyValue>,
}

impl Encoder {
    /// Creates the encoder of an exporter started with `config`.
    ///
    /// The resource comes from `opentelemetry_sdk::Resource::builder()`,
    /// which reads `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, and
    /// `config.service_name` overrides the service name.
    pub(crate) fn for_config(config: &Config) -> Encoder {
        let mut resource = opentelemetry_sdk::Resource::builder();
        if let Some(service_name) = &config.service_name {
            resource = resource.with_service_name(service_name.clone());
        }
        Encoder::new(&resource.build(), config.temporality)
    }

    fn new(resource: &opentelemetry_sdk::Resource, temporality: TemporalityPreference) -> Encoder {
        let start_nanos = to_nanos(process_start_time());
        Encoder {
            resource: convert_resource(resource),
            schema_url: resource.schema_url().unwrap_or_default().to_owned(),
            temporality,
            start_nanos,
            baseline: Baseline { time_nanos: start_nanos, functions: HashMap::new(), process: Totals::ZERO },
        }
    }

    /// Moves the delta baseline to the state a batch was built from.
    pub(crate) fn advance(&mut self, baseline: Baseline) {
        self.baseline = baseline;
    }

    /// Builds the request for `snapshot`.
    pub(crate) fn encode(&self, snapshot: &Snapshot) -> Batch {
        let now_nanos = to_nanos(snapshot.taken_at);
        let function_temporality = self.temporality.for_kind(InstrumentKind::Counter);
        let function_start = self.start_for(function_temporality);

        let mut points = Vec::with_capacity(snapshot.functions.len());
        for stats in &snapshot.functions {
            let earlier = match function_temporality {
                Temporality::Delta => self.baseline.functions.get(&site_key(stats)),
                Temporality::Cumulative => None,
            };
            let new_calls = stats.calls.wrapping_sub(earlier.map_or(0, |earlier| earlier.calls));
            if function_temporality == Temporality::Delta && new_calls == 0 {
                continue;
            }
            points.push(FunctionPoint { current: stats, earlier, attributes: function_attributes(stats) });
        }

        let mut metrics_out = Vec::with_capacity(metrics::ALL.len());
        for (descriptor, read) in COUNTERS {
            let temporality = self.temporality.for_kind(descriptor.kind);
            let data_points = points
                .iter()
                .map(|point| {
                    let value = read(point.current).wrapping_sub(point.earlier.map_or(0, read));
                    number_point(&point.attributes, function_start, now_nanos, clamp_to_i64(value))
                })
                .collect();
            metrics_out.push(sum_metric(descriptor, temporality, true, data_points));
        }

        // Retained bytes go up and down, so every preference keeps them cumulative.
        let retained = points
            .iter()
            .map(|point| number_point(&point.attributes, self.start_nanos, now_nanos, point.current.retained()))
            .collect();
        metrics_out.push(sum_metric(metrics::FUNCTION_RETAINED, Temporality::Cumulative, false, retained));

        for (descriptor, read) in HISTOGRAMS {
            let temporality = self.temporality.for_kind(descriptor.kind);
            let data_points = points
                .iter()
                .map(|point| {
                    histogram_point(&point.attributes, function_start, now_nanos, read(point.current), point.earlier.map(read))
                })
                .collect();
            metrics_out.push(Metric {
                name: descriptor.name.to_owned(),
                description: descriptor.description.to_owned(),
                unit: descriptor.unit.to_owned(),
                data: Some(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality: aggregation_temporality(temporality),
                })),
                ..Default::default()
            });
        }

        let peaks = points
            .iter()
            .map(|point| number_point(&point.attributes, 0, now_nanos, clamp_to_i64(point.current.peak_max)))
            .collect();
        metrics_out.push(gauge_metric(metrics::FUNCTION_PEAK_MAX, peaks));

        self.push_process_metrics(&mut metrics_out, snapshot.process, now_nanos);

        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "heapmeter".to_owned(),
                        version: env!("CARGO_PKG_VERSION").to_owned(),
                        ..Default::default()
                    }),
                    metrics: metrics_out,
                    schema_url: String::new(),
                }],
                schema_url: self.schema_url.clone(),
            }],
        };
        let next_baseline = Baseline {
            time_nanos: now_nanos,
            functions: snapshot.functions.iter().map(|stats| (site_key(stats), stats.clone())).collect(),
            process: snapshot.process,
        };
        Batch { request, next_baseline }
    }

    fn push_process_metrics(&self, metrics_out: &mut Vec<Metric>, process: Totals, now_nanos: u64) {
        let temporality = self.temporality.for_kind(InstrumentKind::ObservableCounter);
        let (start, earlier) = match temporality {
            Temporality::Delta => (self.baseline.time_nanos, self.baseline.process),
            Temporality::Cumulative => (self.start_nanos, Totals::ZERO),
        };
        let change = process.since(earlier);
        for (descriptor, value) in [
            (metrics::PROCESS_HEAP_ALLOCATED, change.allocated),
            (metrics::PROCESS_HEAP_FREED, change.freed),
        ] {
            let point = number_point(&[], start, now_nanos, clamp_to_i64(value));
            metrics_out.push(sum_metric(descriptor, temporality, true, vec![point]));
        }
        let live = number_point(&[], 0, now_nanos, process.net());
        metrics_out.push(gauge_metric(metrics::PROCESS_HEAP_LIVE, vec![live]));
    }

    fn start_for(&self, temporality: Temporality) -> u64 {
        match temporality {
            Temporality::Delta => self.baseline.time_nanos,
            Temporality::Cumulative => self.start_nanos,
        }
    }
}

/// Encodes snapshots exactly as the OTLP exporter does, so that benchmarks
/// can time encoding without a collector. Not a stable API.
#[doc(hidden)]
pub struct RequestEncoder {
    encoder: Encoder,
}

impl RequestEncoder {
    /// Creates the encoder an exporter uses with the settings of
    /// `Config::default()`: cumulative temporality and the resource read
    /// from the environment.
    #[must_use]
    pub fn new() -> RequestEncoder {
        crate::thread::untracked(|| RequestEncoder { encoder: Encoder::for_config(&Config::default()) })
    }

    /// Builds the `ExportMetricsServiceRequest` of the first export for
    /// `snapshot`, serializes it as the HTTP/protobuf transport does and
    /// returns the size of the serialized request in bytes.
    ///
    /// Every call encodes every function in `snapshot`, because the
    /// temporality is cumulative and the baseline never advances. As on the
    /// export thread, the allocations of encoding are heapmeter's own: they
    /// count in [`crate::runtime_totals`], never in process totals or in a
    /// function.
    #[must_use]
    pub fn encode(&self, snapshot: &Snapshot) -> usize {
        crate::thread::untracked(|| transport::http_body(&self.encoder.encode(snapshot).request).len())
    }
}

impl Default for RequestEncoder {
    fn default() -> RequestEncoder {
        RequestEncoder::new()
    }
}

type ReadCounter = fn(&FunctionStats) -> u64;
type ReadHistogram = fn(&FunctionStats) -> &Histogram;

/// The monotonic per-function sums and where each value comes from.
const COUNTERS: [(MetricDescriptor, ReadCounter); 10] = [
    (metrics::FUNCTION_CALLS, |stats| stats.calls),
    (metrics::FUNCTION_ALLOCATED, |stats| stats.inclusive.allocated),
    (metrics::FUNCTION_FREED, |stats| stats.inclusive.freed),
    (metrics::FUNCTION_ALLOCATIONS, |stats| stats.inclusive.allocations),
    (metrics::FUNCTION_FREES, |stats| stats.inclusive.frees),
    (metrics::FUNCTION_SELF_ALLOCATED, |stats| stats.exclusive.allocated),
    (metrics::FUNCTION_SELF_FREED, |stats| stats.exclusive.freed),
    (metrics::FUNCTION_SELF_ALLOCATIONS, |stats| stats.exclusive.allocations),
    (metrics::FUNCTION_SELF_FREES, |stats| stats.exclusive.frees),
    (metrics::FUNCTION_UNSAMPLED_CALLS, |stats| stats.unsampled_calls),
];

/// The per-call histograms and where each comes from.
const HISTOGRAMS: [(MetricDescriptor, ReadHistogram); 4] = [
    (metrics::FUNCTION_CALL_ALLOCATED, |stats| &stats.allocated_per_call),
    (metrics::FUNCTION_CALL_SELF_ALLOCATED, |stats| &stats.exclusive_allocated_per_call),
    (metrics::FUNCTION_CALL_ALLOCATIONS, |stats| &stats.allocations_per_call),
    (metrics::FUNCTION_CALL_PEAK, |stats| &stats.peak_per_call),
];

fn site_key(stats: &FunctionStats) -> usize {
    core::ptr::from_ref(stats.site()).addr()
}

fn function_attributes(stats: &FunctionStats) -> Vec<KeyValue> {
    vec![
        key_value(metrics::ATTRIBUTE_FUNCTION_NAME, any_value::Value::StringValue(stats.name.clone())),
        key_value(metrics::ATTRIBUTE_FILE_PATH, any_value::Value::StringValue(stats.file.to_owned())),
        key_value(metrics::ATTRIBUTE_LINE_NUMBER, any_value::Value::IntValue(i64::from(stats.line))),
    ]
}

fn key_value(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
}

fn number_point(attributes: &[KeyValue], start_nanos: u64, now_nanos: u64, value: i64) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes.to_vec(),
        start_time_unix_nano: start_nanos,
        time_unix_nano: now_nanos,
        value: Some(number_data_point::Value::AsInt(value)),
        ..Default::default()
    }
}

fn histogram_point(
    attributes: &[KeyValue],
    start_nanos: u64,
    now_nanos: u64,
    current: &Histogram,
    earlier: Option<&Histogram>,
) -> ExponentialHistogramDataPoint {
    // Min and max cannot be subtracted, so a delta point carries them only
    // when the baseline had no values and they are exact for the window.
    let exact_extremes = earlier.is_none_or(|earlier| earlier.count() == 0);
    let window = match earlier {
        Some(earlier) => current.since(earlier),
        None => current.clone(),
    };
    let extreme = |value: Option<u64>| if exact_extremes { value.map(to_f64) } else { None };
    ExponentialHistogramDataPoint {
        attributes: attributes.to_vec(),
        start_time_unix_nano: start_nanos,
        time_unix_nano: now_nanos,
        count: window.count(),
        sum: Some(to_f64(window.sum())),
        scale: histogram::SCALE,
        zero_count: window.zero_count(),
        positive: Some(Buckets { offset: window.offset(), bucket_counts: window.bucket_counts().to_vec() }),
        negative: Some(Buckets::default()),
        min: extreme(window.min()),
        max: extreme(window.max()),
        zero_threshold: 0.0,
        ..Default::default()
    }
}

fn sum_metric(
    descriptor: MetricDescriptor,
    temporality: Temporality,
    is_monotonic: bool,
    data_points: Vec<NumberDataPoint>,
) -> Metric {
    Metric {
        name: descriptor.name.to_owned(),
        description: descriptor.description.to_owned(),
        unit: descriptor.unit.to_owned(),
        data: Some(Data::Sum(Sum {
            data_points,
            aggregation_temporality: aggregation_temporality(temporality),
            is_monotonic,
        })),
        ..Default::default()
    }
}

fn gauge_metric(descriptor: MetricDescriptor, data_points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: descriptor.name.to_owned(),
        description: descriptor.description.to_owned(),
        unit: descriptor.unit.to_owned(),
        data: Some(Data::Gauge(Gauge { data_points })),
        ..Default::default()
    }
}

fn aggregation_temporality(temporality: Temporality) -> i32 {
    match temporality {
        Temporality::Cumulative => AggregationTemporality::Cumulative as i32,
        Temporality::Delta => AggregationTemporality::Delta as i32,
    }
}

fn clamp_to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[allow(clippy::cast_precision_loss, reason = "OTLP carries histogram sums, minima and maxima as doubles")]
fn to_f64(value: u64) -> f64 {
    value as f64
}

fn to_nanos(time: SystemTime) -> u64 {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX)
}

/// Converts an OpenTelemetry SDK resource to its protobuf message.
fn convert_resource(resource: &opentelemetry_sdk::Resource) -> Resource {
    let attributes = resource
        .iter()
        .filter_map(|(key, value)| {
            convert_value(value).map(|value| KeyValue {
                key: key.as_str().to_owned(),
                value: Some(AnyValue { value: Some(value) }),
                ..Default::default()
            })
        })
        .collect();
    Resource { attributes, ..Default::default() }
}

/// Converts an attribute value; `None` for kinds added to the API after
/// `opentelemetry` 0.33, which has no others.
fn convert_value(value: &opentelemetry::Value) -> Option<any_value::Value> {
    use opentelemetry::{Array, Value};

    let string = |text: &opentelemetry::StringValue| any_value::Value::StringValue(text.as_str().to_owned());
    let array = |values: Vec<any_value::Value>| {
        any_value::Value::ArrayValue(ArrayValue {
            values: values.into_iter().map(|value| AnyValue { value: Some(value) }).collect(),
        })
    };
    Some(match value {
        Value::Bool(flag) => any_value::Value::BoolValue(*flag),
        Value::I64(number) => any_value::Value::IntValue(*number),
        Value::F64(number) => any_value::Value::DoubleValue(*number),
        Value::String(text) => string(text),
        Value::Array(Array::Bool(flags)) => array(flags.iter().map(|flag| any_value::Value::BoolValue(*flag)).collect()),
        Value::Array(Array::I64(numbers)) => array(numbers.iter().map(|number| any_value::Value::IntValue(*number)).collect()),
        Value::Array(Array::F64(numbers)) => {
            array(numbers.iter().map(|number| any_value::Value::DoubleValue(*number)).collect())
        }
        Value::Array(Array::String(texts)) => array(texts.iter().map(string).collect()),
        _ => return None,
    })
}

/// Returns when the process started, so that cumulative series start there:
/// heapmeter counts from the first allocation, before `init` runs.
///
/// On Linux this reads the start time from `/proc`. Elsewhere, or when
/// `/proc` cannot be read, it returns the time of the first call, which is
/// `init`'s.
fn process_start_time() -> SystemTime {
    static START: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    *START.get_or_init(|| linux_process_start_time().unwrap_or_else(SystemTime::now))
}

fn linux_process_start_time() -> Option<SystemTime> {
    // /proc reports times in clock ticks of USER_HZ, which the kernel fixes
    // at 100 per second on the architectures Rust targets for Linux.
    const TICKS_PER_SECOND: u64 = 100;

    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name in field 2 may contain spaces and parentheses, so
    // fields are counted from the last ')'. Start time is field 22.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let start_ticks: u64 = after_name.split_whitespace().nth(19)?.parse().ok()?;

    let system_stat = std::fs::read_to_string("/proc/stat").ok()?;
    let boot_seconds: u64 =
        system_stat.lines().find_map(|line| line.strip_prefix("btime "))?.trim().parse().ok()?;

    let since_boot = Duration::from_millis(start_ticks.checked_mul(1000)? / TICKS_PER_SECOND);
    let start = UNIX_EPOCH.checked_add(Duration::from_secs(boot_seconds))?.checked_add(since_boot)?;
    // btime has a resolution of one second, so never report a start in the future.
    Some(start.min(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_start_is_recent_past() {
        let start = process_start_time();
        let age = SystemTime::now().duration_since(start).unwrap_or(Duration::MAX);
        assert!(age < Duration::from_secs(3600), "process started {age:?} ago");
    }

    #[test]
    fn resource_attributes_are_converted() {
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name("checkout")
            .with_attribute(opentelemetry::KeyValue::new("replicas", 3_i64))
            .build();
        let converted = convert_resource(&resource);
        let find = |key: &str| {
            converted.attributes.iter().find(|attribute| attribute.key == key).and_then(|attribute| attribute.value.clone())
        };
        assert_eq!(find("service.name"), Some(AnyValue { value: Some(any_value::Value::StringValue("checkout".to_owned())) }));
        assert_eq!(find("replicas"), Some(AnyValue { value: Some(any_value::Value::IntValue(3)) }));
    }

    #[test]
    fn delta_histogram_omits_inexact_extremes() {
        let mut earlier = Histogram::default();
        earlier.record(10);
        let mut current = earlier.clone();
        current.record(1024);
        let point = histogram_point(&[], 1, 2, &current, Some(&earlier));
        assert_eq!(point.count, 1);
        assert_eq!(point.sum, Some(1024.0));
        assert_eq!(point.min, None);
        assert_eq!(point.scale, 3);
        let positive = point.positive.unwrap_or_default();
        assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 1);

        let cumulative = histogram_point(&[], 1, 2, &current, None);
        assert_eq!(cumulative.min, Some(10.0));
        assert_eq!(cumulative.max, Some(1024.0));
    }
}
