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
use prost::Message;

use super::config::{Config, Temporality, TemporalityPreference};
use super::transport;
use crate::aggregate::{FunctionStats, Snapshot};
use crate::counters::Totals;
use crate::histogram::{self, Histogram};
use crate::metrics::{self, InstrumentKind, MetricDescriptor};

/// Largest encoded size of one export request, in bytes. An export whose
/// functions do not fit is split into several requests.
///
/// gRPC servers built on grpc-go, the OpenTelemetry Collector among them,
/// reject messages over 4 MiB by default (`defaultServerMaxReceiveMessageSize`
/// in grpc-go's `server.go`), and tonic servers have the same 4 MiB default.
/// 3 MiB leaves a quarter of that limit for what a collector adds, such as
/// resource attributes, before it forwards the data to a server with the
/// same limit. At about 2.6 KB per function, about 1,200 functions fit in
/// 3 MiB.
pub(crate) const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// Bytes reserved for the length prefixes of the nested messages that
/// contain the data points. A prefix is a varint of 1 to 5 bytes, so it grows
/// by at most 4 bytes as points are added. There are 2 such messages per
/// metric (`Metric` and its `Sum`, `Gauge` or `ExponentialHistogram`) plus
/// `ResourceMetrics` and `ScopeMetrics`: 4 * (2 * 19 + 2) = 160 bytes, rounded up.
const LENGTH_PREFIX_RESERVE: usize = 256;

/// The delta baseline: for each function and for the process totals, the
/// values and time of the last request that counted as delivered. Delta
/// points are differences from it.
#[derive(Clone, Debug)]
pub(crate) struct Baseline {
    /// Keyed by the address of the function's site.
    functions: HashMap<usize, FunctionBaseline>,
    process: Totals,
    process_time_nanos: u64,
}

#[derive(Clone, Debug)]
struct FunctionBaseline {
    time_nanos: u64,
    stats: FunctionStats,
}

/// One request of an export, ready to send, and the baseline entries that
/// replace the current ones once the request is delivered or given up.
pub(crate) struct Batch {
    pub(crate) request: ExportMetricsServiceRequest,
    pub(crate) update: BaselineUpdate,
}

/// The part of the baseline that one request covers: the functions whose
/// points it carries, and for the first request of an export also the
/// process totals.
pub(crate) struct BaselineUpdate {
    time_nanos: u64,
    functions: Vec<(usize, FunctionStats)>,
    process: Option<Totals>,
}

/// Drains every thread's queue and copies the statistics, so that encoding
/// runs after the aggregator lock is released. The export thread runs in a
/// runtime-internal section, so the copy counts as heapmeter's own memory.
pub(crate) fn collect() -> Snapshot {
    crate::aggregate::snapshot()
}

/// Builds requests from snapshots and keeps the delta baseline.
pub(crate) struct Encoder {
    resource: Resource,
    schema_url: String,
    temporality: TemporalityPreference,
    /// Start time of cumulative series: when the process started.
    start_nanos: u64,
    baseline: Baseline,
    /// Largest encoded size of one request, [`MAX_REQUEST_BYTES`] outside tests.
    max_request_bytes: usize,
}

/// The data points of one function, one per function metric, and their
/// encoded size inside a request.
struct FunctionPoints<'a> {
    key: usize,
    stats: &'a FunctionStats,
    counters: [NumberDataPoint; COUNTERS.len()],
    retained: NumberDataPoint,
    histograms: [ExponentialHistogramDataPoint; HISTOGRAMS.len()],
    peak: NumberDataPoint,
    encoded_len: usize,
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
            baseline: Baseline { functions: HashMap::new(), process: Totals::ZERO, process_time_nanos: start_nanos },
            max_request_bytes: MAX_REQUEST_BYTES,
        }
    }

    /// Moves the delta baseline of the functions, and of the process totals
    /// when present, that a delivered or given-up request covered. The
    /// baseline of every other function stays where it was, so its next
    /// delta still starts there.
    pub(crate) fn advance(&mut self, update: BaselineUpdate) {
        let time_nanos = update.time_nanos;
        for (key, stats) in update.functions {
            self.baseline.functions.insert(key, FunctionBaseline { time_nanos, stats });
        }
        if let Some(process) = update.process {
            self.baseline.process = process;
            self.baseline.process_time_nanos = time_nanos;
        }
    }

    /// Builds the requests of one export of `snapshot`: at least one, each
    /// at most `max_request_bytes` long when encoded, with the same resource
    /// and scope. The process metrics go in the first request, and every
    /// function with points is in exactly one request.
    ///
    /// NOTE: a single function whose points alone exceed the bound still gets
    /// a request of its own, which a collector may reject. At about 2.6 KB per
    /// function that takes a function name of megabytes.
    pub(crate) fn encode(&self, snapshot: &Snapshot) -> Vec<Batch> {
        let now_nanos = to_nanos(snapshot.taken_at);
        let function_temporality = self.temporality.for_kind(InstrumentKind::Counter);

        let mut functions = Vec::with_capacity(snapshot.functions.len());
        for stats in &snapshot.functions {
            let key = site_key(stats);
            let earlier = match function_temporality {
                Temporality::Delta => self.baseline.functions.get(&key),
                Temporality::Cumulative => None,
            };
            let new_calls = stats.calls.wrapping_sub(earlier.map_or(0, |earlier| earlier.stats.calls));
            if function_temporality == Temporality::Delta && new_calls == 0 {
                continue;
            }
            // A delta window starts at the last request of the function that
            // was delivered or given up, or else when the process started.
            let start_nanos = match function_temporality {
                Temporality::Delta => earlier.map_or(self.start_nanos, |earlier| earlier.time_nanos),
                Temporality::Cumulative => self.start_nanos,
            };
            functions.push(self.function_points(
                key,
                stats,
                earlier.map(|earlier| &earlier.stats),
                start_nanos,
                now_nanos,
            ));
        }

        let groups = self.group_by_size(functions, snapshot.process, now_nanos);
        let mut batches = Vec::with_capacity(groups.len());
        for (index, group) in groups.into_iter().enumerate() {
            let process = (index == 0).then_some(snapshot.process);
            batches.push(self.batch(group, process, now_nanos));
        }
        batches
    }

    fn function_points<'a>(
        &self,
        key: usize,
        stats: &'a FunctionStats,
        earlier: Option<&FunctionStats>,
        start_nanos: u64,
        now_nanos: u64,
    ) -> FunctionPoints<'a> {
        let attributes = function_attributes(stats);
        let counters = COUNTERS.map(|(_, read)| {
            let value = read(stats).wrapping_sub(earlier.map_or(0, read));
            number_point(&attributes, start_nanos, now_nanos, clamp_to_i64(value))
        });
        // Retained bytes go up and down, so every preference keeps them cumulative.
        let retained = number_point(&attributes, self.start_nanos, now_nanos, stats.retained());
        let histograms = HISTOGRAMS
            .map(|(_, read)| histogram_point(&attributes, start_nanos, now_nanos, read(stats), earlier.map(read)));
        let peak = number_point(&attributes, 0, now_nanos, clamp_to_i64(stats.peak_max));

        let encoded_len = counters.iter().map(data_point_field_len).sum::<usize>()
            + data_point_field_len(&retained)
            + histograms.iter().map(data_point_field_len).sum::<usize>()
            + data_point_field_len(&peak);
        FunctionPoints { key, stats, counters, retained, histograms, peak, encoded_len }
    }

    /// Splits `functions` into groups, in order, whose requests stay within
    /// `max_request_bytes`. Returns at least one group, because the first
    /// request carries the process metrics even when no function has points.
    fn group_by_size<'a>(
        &self,
        functions: Vec<FunctionPoints<'a>>,
        process: Totals,
        now_nanos: u64,
    ) -> Vec<Vec<FunctionPoints<'a>>> {
        // The size of a request without function points, measured on an
        // empty request, plus the room its length prefixes may grow by.
        let first_budget = self.room_for_points(Some(process), now_nanos);
        let later_budget = self.room_for_points(None, now_nanos);

        let mut groups = Vec::new();
        let mut group = Vec::new();
        let mut group_len = 0;
        let mut budget = first_budget;
        for function in functions {
            if !group.is_empty() && group_len + function.encoded_len > budget {
                groups.push(std::mem::take(&mut group));
                group_len = 0;
                budget = later_budget;
            }
            group_len += function.encoded_len;
            group.push(function);
        }
        if !group.is_empty() || groups.is_empty() {
            groups.push(group);
        }
        groups
    }

    /// Returns the bytes left for function points in a request that carries
    /// `process` metrics, or none.
    fn room_for_points(&self, process: Option<Totals>, now_nanos: u64) -> usize {
        let empty = self.batch(Vec::new(), process, now_nanos).request.encoded_len();
        self.max_request_bytes.saturating_sub(empty + LENGTH_PREFIX_RESERVE)
    }

    /// Builds the request that carries the points of `functions`, and the
    /// process metrics when `process` is given.
    fn batch(&self, functions: Vec<FunctionPoints<'_>>, process: Option<Totals>, now_nanos: u64) -> Batch {
        let function_temporality = self.temporality.for_kind(InstrumentKind::Counter);
        let mut counters: [Vec<NumberDataPoint>; COUNTERS.len()] = Default::default();
        let mut retained = Vec::with_capacity(functions.len());
        let mut histograms: [Vec<ExponentialHistogramDataPoint>; HISTOGRAMS.len()] = Default::default();
        let mut peaks = Vec::with_capacity(functions.len());
        let mut covered = Vec::with_capacity(functions.len());
        for function in functions {
            for (points, point) in counters.iter_mut().zip(function.counters) {
                points.push(point);
            }
            retained.push(function.retained);
            for (points, point) in histograms.iter_mut().zip(function.histograms) {
                points.push(point);
            }
            peaks.push(function.peak);
            covered.push((function.key, function.stats.clone()));
        }

        let mut metrics_out = Vec::with_capacity(metrics::ALL.len());
        for ((descriptor, _), data_points) in COUNTERS.iter().zip(counters) {
            let temporality = self.temporality.for_kind(descriptor.kind);
            metrics_out.push(sum_metric(*descriptor, temporality, true, data_points));
        }
        metrics_out.push(sum_metric(metrics::FUNCTION_RETAINED, Temporality::Cumulative, false, retained));
        for ((descriptor, _), data_points) in HISTOGRAMS.iter().zip(histograms) {
            let temporality = self.temporality.for_kind(descriptor.kind);
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
        metrics_out.push(gauge_metric(metrics::FUNCTION_PEAK_MAX, peaks));
        if let Some(process) = process {
            self.push_process_metrics(&mut metrics_out, process, now_nanos);
        }

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
        // With cumulative temporality the function baseline is never read.
        if function_temporality == Temporality::Cumulative {
            covered.clear();
        }
        Batch { request, update: BaselineUpdate { time_nanos: now_nanos, functions: covered, process } }
    }

    fn push_process_metrics(&self, metrics_out: &mut Vec<Metric>, process: Totals, now_nanos: u64) {
        let temporality = self.temporality.for_kind(InstrumentKind::ObservableCounter);
        let (start, earlier) = match temporality {
            Temporality::Delta => (self.baseline.process_time_nanos, self.baseline.process),
            Temporality::Cumulative => (self.start_nanos, Totals::ZERO),
        };
        let change = process.since(earlier);
        for (descriptor, value) in
            [(metrics::PROCESS_HEAP_ALLOCATED, change.allocated), (metrics::PROCESS_HEAP_FREED, change.freed)]
        {
            let point = number_point(&[], start, now_nanos, clamp_to_i64(value));
            metrics_out.push(sum_metric(descriptor, temporality, true, vec![point]));
        }
        let live = number_point(&[], 0, now_nanos, process.net());
        metrics_out.push(gauge_metric(metrics::PROCESS_HEAP_LIVE, vec![live]));
    }
}

/// Returns the encoded size of `point` as an element of the `data_points`
/// field (field number 1) of its metric: a one-byte key, the length prefix
/// and the message.
fn data_point_field_len(point: &impl Message) -> usize {
    let len = point.encoded_len();
    1 + prost::length_delimiter_len(len) + len
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

    /// Builds the `ExportMetricsServiceRequest`s of the first export for
    /// `snapshot`, serializes each as the HTTP/protobuf transport does and
    /// returns their sizes in bytes, in sending order. Each size is at most
    /// [`MAX_REQUEST_BYTES`] (3 MiB).
    ///
    /// Every call encodes every function in `snapshot`, because the
    /// temporality is cumulative and the baseline never advances. As on the
    /// export thread, the allocations of encoding are heapmeter's own: they
    /// count in [`crate::runtime_totals`], never in process totals or in a
    /// function.
    #[must_use]
    pub fn encode(&self, snapshot: &Snapshot) -> Vec<usize> {
        crate::thread::untracked(|| {
            self.encoder.encode(snapshot).iter().map(|batch| transport::http_body(&batch.request).len()).collect()
        })
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
        Value::Array(Array::Bool(flags)) => {
            array(flags.iter().map(|flag| any_value::Value::BoolValue(*flag)).collect())
        }
        Value::Array(Array::I64(numbers)) => {
            array(numbers.iter().map(|number| any_value::Value::IntValue(*number)).collect())
        }
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
    let boot_seconds: u64 = system_stat.lines().find_map(|line| line.strip_prefix("btime "))?.trim().parse().ok()?;

    let since_boot = Duration::from_millis(start_ticks.checked_mul(1000)? / TICKS_PER_SECOND);
    let start = UNIX_EPOCH.checked_add(Duration::from_secs(boot_seconds))?.checked_add(since_boot)?;
    // btime has a resolution of one second, so never report a start in the future.
    Some(start.min(SystemTime::now()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::Site;

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
            converted
                .attributes
                .iter()
                .find(|attribute| attribute.key == key)
                .and_then(|attribute| attribute.value.clone())
        };
        assert_eq!(
            find("service.name"),
            Some(AnyValue { value: Some(any_value::Value::StringValue("checkout".to_owned())) })
        );
        assert_eq!(find("replicas"), Some(AnyValue { value: Some(any_value::Value::IntValue(3)) }));
    }

    /// Makes `count` functions named `{module}::handler_{index}`, calls each
    /// `calls` times and returns a snapshot of only those functions.
    fn snapshot_of_new_functions(module: &'static str, sites: &[&'static Site], calls: u64) -> Snapshot {
        for site in sites {
            for _ in 0..calls {
                let _call = crate::Guard::enter(site);
                std::hint::black_box(vec![0_u8; 100]);
            }
        }
        let mut snapshot = crate::snapshot();
        snapshot.functions.retain(|stats| stats.site().module_path() == module);
        snapshot
    }

    fn leak_sites(module: &'static str, count: usize) -> Vec<&'static Site> {
        (0..count)
            .map(|index| {
                let name: &'static str = Box::leak(format!("handler_{index:05}").into_boxed_str());
                let site: &'static Site = Box::leak(Box::new(Site::new(name, module, "src/generated.rs", 7)));
                site
            })
            .collect()
    }

    fn test_encoder(temporality: TemporalityPreference, max_request_bytes: usize) -> Encoder {
        let resource = opentelemetry_sdk::Resource::builder_empty().with_service_name("split-test").build();
        let mut encoder = Encoder::new(&resource, temporality);
        encoder.max_request_bytes = max_request_bytes;
        encoder
    }

    fn metrics_of(request: &ExportMetricsServiceRequest) -> &[Metric] {
        request
            .resource_metrics
            .first()
            .and_then(|resource_metrics| resource_metrics.scope_metrics.first())
            .map_or(&[], |scope_metrics| scope_metrics.metrics.as_slice())
    }

    fn function_name(attributes: &[KeyValue]) -> Option<String> {
        attributes.iter().find(|attribute| attribute.key == metrics::ATTRIBUTE_FUNCTION_NAME).and_then(|attribute| {
            match attribute.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(name) => Some(name.clone()),
                _ => None,
            }
        })
    }

    /// The function names of every data point of `metric`, in order.
    fn point_functions(metric: &Metric) -> Vec<String> {
        let attributes: Vec<&[KeyValue]> = match &metric.data {
            Some(Data::Sum(sum)) => sum.data_points.iter().map(|point| point.attributes.as_slice()).collect(),
            Some(Data::Gauge(gauge)) => gauge.data_points.iter().map(|point| point.attributes.as_slice()).collect(),
            Some(Data::ExponentialHistogram(histogram)) => {
                histogram.data_points.iter().map(|point| point.attributes.as_slice()).collect()
            }
            _ => Vec::new(),
        };
        attributes.into_iter().filter_map(function_name).collect()
    }

    /// Finds the `heapmeter.function.calls` point of `function` in `requests`.
    fn calls_point(requests: &[Batch], function: &str) -> Option<NumberDataPoint> {
        requests
            .iter()
            .flat_map(|batch| metrics_of(&batch.request))
            .filter(|metric| metric.name == metrics::FUNCTION_CALLS.name)
            .filter_map(|metric| match &metric.data {
                Some(Data::Sum(sum)) => Some(sum.data_points.iter()),
                _ => None,
            })
            .flatten()
            .find(|point| function_name(&point.attributes).as_deref() == Some(function))
            .cloned()
    }

    fn int_value(point: &NumberDataPoint) -> Option<i64> {
        match point.value {
            Some(number_data_point::Value::AsInt(value)) => Some(value),
            _ => None,
        }
    }

    #[test]
    fn large_export_splits_under_bound() {
        const MODULE: &str = "split_test_large";
        const FUNCTIONS: usize = 3_000;
        let sites = leak_sites(MODULE, FUNCTIONS);
        let snapshot = snapshot_of_new_functions(MODULE, &sites, 2);
        assert_eq!(snapshot.functions.len(), FUNCTIONS);

        let encoder = test_encoder(TemporalityPreference::Cumulative, MAX_REQUEST_BYTES);
        let batches = encoder.encode(&snapshot);
        let total_bytes: usize = batches.iter().map(|batch| batch.request.encoded_len()).sum();
        assert!(
            total_bytes > MAX_REQUEST_BYTES,
            "the snapshot must need several requests, but encodes to {total_bytes} bytes"
        );
        assert!(batches.len() >= 2, "{} requests for {total_bytes} bytes", batches.len());

        let first = &batches[0].request.resource_metrics[0];
        let function_metric_names: Vec<&str> = metrics_of(&batches[0].request)
            .iter()
            .map(|metric| metric.name.as_str())
            .filter(|name| name.starts_with("heapmeter.function."))
            .collect();
        assert_eq!(function_metric_names.len(), 16);

        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (index, batch) in batches.iter().enumerate() {
            let size = batch.request.encoded_len();
            assert!(size <= MAX_REQUEST_BYTES, "request {index} is {size} bytes");
            assert_eq!(transport::http_body(&batch.request).len(), size, "request {index}");
            assert_eq!(batch.request.resource_metrics.len(), 1, "request {index}");
            let resource_metrics = &batch.request.resource_metrics[0];
            assert_eq!(resource_metrics.resource, first.resource, "request {index}");
            assert_eq!(resource_metrics.schema_url, first.schema_url, "request {index}");
            assert_eq!(resource_metrics.scope_metrics.len(), 1, "request {index}");
            assert_eq!(resource_metrics.scope_metrics[0].scope, first.scope_metrics[0].scope, "request {index}");

            let process_metrics = metrics_of(&batch.request)
                .iter()
                .filter(|metric| metric.name.starts_with("heapmeter.process."))
                .count();
            assert_eq!(process_metrics, if index == 0 { 3 } else { 0 }, "process metrics in request {index}");

            for metric in metrics_of(&batch.request) {
                for function in point_functions(metric) {
                    *seen.entry((metric.name.clone(), function)).or_default() += 1;
                }
            }
        }
        for stats in &snapshot.functions {
            for metric in &function_metric_names {
                let count = seen.get(&((*metric).to_owned(), stats.name.clone())).copied().unwrap_or(0);
                assert_eq!(count, 1, "{metric} points of {}", stats.name);
            }
        }
        assert_eq!(seen.len(), FUNCTIONS * function_metric_names.len());
    }

    #[test]
    fn empty_export_is_one_request() {
        let encoder = test_encoder(TemporalityPreference::Cumulative, MAX_REQUEST_BYTES);
        let snapshot = Snapshot { functions: Vec::new(), process: Totals::ZERO, taken_at: SystemTime::now() };
        let batches = encoder.encode(&snapshot);
        assert_eq!(batches.len(), 1);
        let process_metrics = metrics_of(&batches[0].request)
            .iter()
            .filter(|metric| metric.name.starts_with("heapmeter.process."))
            .count();
        assert_eq!(process_metrics, 3);
    }

    #[test]
    fn delta_baseline_moves_per_request() {
        const MODULE: &str = "split_test_delta";
        let sites = leak_sites(MODULE, 60);
        let first_snapshot = snapshot_of_new_functions(MODULE, &sites, 1);
        // Small requests, so that 60 functions need several.
        let mut encoder = test_encoder(TemporalityPreference::Delta, 32 * 1024);
        let first_export = encoder.encode(&first_snapshot);
        assert!(first_export.len() >= 3, "{} requests", first_export.len());

        // The second request fails and will be retried. The others are delivered.
        let failed: Vec<String> = metrics_of(&first_export[1].request)
            .iter()
            .find(|metric| metric.name == metrics::FUNCTION_CALLS.name)
            .map(point_functions)
            .unwrap_or_default();
        assert!(!failed.is_empty());
        let first_nanos = to_nanos(first_snapshot.taken_at);
        for (index, batch) in first_export.into_iter().enumerate() {
            if index != 1 {
                encoder.advance(batch.update);
            }
        }
        assert_eq!(encoder.baseline.process_time_nanos, first_nanos);

        let second_snapshot = snapshot_of_new_functions(MODULE, &sites, 1);
        let second_export = encoder.encode(&second_snapshot);
        for stats in &second_snapshot.functions {
            let point = calls_point(&second_export, &stats.name);
            let Some(point) = point else { panic!("no calls point for {}", stats.name) };
            if failed.contains(&stats.name) {
                // Both windows, from the process start, because none was delivered.
                assert_eq!(int_value(&point), Some(2), "{}", stats.name);
                assert_eq!(point.start_time_unix_nano, encoder.start_nanos, "{}", stats.name);
            } else {
                assert_eq!(int_value(&point), Some(1), "{}", stats.name);
                assert_eq!(point.start_time_unix_nano, first_nanos, "{}", stats.name);
            }
        }
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
