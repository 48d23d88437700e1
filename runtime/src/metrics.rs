//! Names, units and kinds of every metric heapmeter exports.
//!
//! Every exporter takes its names from this table, so the names stay the same
//! whatever the transport. Names are fixed and valid OpenTelemetry instrument
//! names: the identity of a function is never part of a name but an
//! attribute of each data point.
//!
//! # Per-function metrics
//!
//! Each data point carries the attributes [`ATTRIBUTE_FUNCTION_NAME`]
//! (`code.function.name`, the reported name such as `my_app::config::parse`),
//! [`ATTRIBUTE_FILE_PATH`] (`code.file.path`) and [`ATTRIBUTE_LINE_NUMBER`]
//! (`code.line.number`).
//!
//! | name | kind | unit | value |
//! |---|---|---|---|
//! | `heapmeter.function.calls` | monotonic sum | `{call}` | calls recorded |
//! | `heapmeter.function.allocated` | monotonic sum | `By` | bytes allocated, callees included |
//! | `heapmeter.function.freed` | monotonic sum | `By` | bytes freed, callees included |
//! | `heapmeter.function.allocations` | monotonic sum | `{allocation}` | allocations, callees included |
//! | `heapmeter.function.frees` | monotonic sum | `{free}` | frees, callees included |
//! | `heapmeter.function.self.allocated` | monotonic sum | `By` | bytes allocated, instrumented callees subtracted |
//! | `heapmeter.function.self.freed` | monotonic sum | `By` | bytes freed, instrumented callees subtracted |
//! | `heapmeter.function.self.allocations` | monotonic sum | `{allocation}` | allocations, instrumented callees subtracted |
//! | `heapmeter.function.self.frees` | monotonic sum | `{free}` | frees, instrumented callees subtracted |
//! | `heapmeter.function.retained` | non-monotonic sum | `By` | bytes allocated minus bytes freed, callees included |
//! | `heapmeter.function.call.allocated` | exponential histogram | `By` | bytes allocated per call, callees included |
//! | `heapmeter.function.call.self.allocated` | exponential histogram | `By` | bytes allocated per call, instrumented callees subtracted |
//! | `heapmeter.function.call.allocations` | exponential histogram | `{allocation}` | allocations per call, callees included |
//! | `heapmeter.function.call.peak` | exponential histogram | `By` | peak live bytes per call above the level at entry |
//! | `heapmeter.function.peak.max` | gauge | `By` | largest peak of any call |
//! | `heapmeter.function.unsampled_calls` | monotonic sum | `{call}` | calls counted in the sums but missing from the histograms |
//!
//! # Process metrics
//!
//! | name | kind | unit | value |
//! |---|---|---|---|
//! | `heapmeter.process.heap.allocated` | monotonic sum | `By` | bytes allocated by the whole process |
//! | `heapmeter.process.heap.freed` | monotonic sum | `By` | bytes freed by the whole process |
//! | `heapmeter.process.heap.live` | gauge | `By` | bytes allocated and not yet freed |
//!
//! Histograms use base-2 exponential buckets at scale
//! [`crate::histogram::SCALE`], as described in [`crate::histogram`].

/// The kind of instrument a metric behaves like. The OTLP temporality
/// preference (`cumulative`, `delta`, `lowmemory`) is defined per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstrumentKind {
    /// A monotonic sum of events recorded as they finish, like calls.
    Counter,
    /// A monotonic sum read from a running total when exporting.
    ObservableCounter,
    /// A sum that can go down.
    UpDownCounter,
    /// The latest value, with no temporality.
    Gauge,
    /// A distribution of per-call values.
    Histogram,
}

/// Name, unit, description and kind of one exported metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricDescriptor {
    /// The OpenTelemetry instrument name.
    pub name: &'static str,
    /// The UCUM unit, such as `By` for bytes.
    pub unit: &'static str,
    /// One sentence for the metric's description field.
    pub description: &'static str,
    /// Behaviour over time, which selects the temporality.
    pub kind: InstrumentKind,
}

const fn metric(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    kind: InstrumentKind,
) -> MetricDescriptor {
    MetricDescriptor { name, unit, description, kind }
}

/// Attribute holding the reported function name.
pub const ATTRIBUTE_FUNCTION_NAME: &str = "code.function.name";
/// Attribute holding the source file of the function.
pub const ATTRIBUTE_FILE_PATH: &str = "code.file.path";
/// Attribute holding the line of the function in its file.
pub const ATTRIBUTE_LINE_NUMBER: &str = "code.line.number";

/// Calls recorded.
pub const FUNCTION_CALLS: MetricDescriptor = metric(
    "heapmeter.function.calls",
    "{call}",
    "Calls of the function recorded by heapmeter.",
    InstrumentKind::Counter,
);
/// Bytes allocated, callees included.
pub const FUNCTION_ALLOCATED: MetricDescriptor = metric(
    "heapmeter.function.allocated",
    "By",
    "Bytes allocated during calls of the function, callees included.",
    InstrumentKind::Counter,
);
/// Bytes freed, callees included.
pub const FUNCTION_FREED: MetricDescriptor = metric(
    "heapmeter.function.freed",
    "By",
    "Bytes freed during calls of the function, callees included.",
    InstrumentKind::Counter,
);
/// Allocations, callees included.
pub const FUNCTION_ALLOCATIONS: MetricDescriptor = metric(
    "heapmeter.function.allocations",
    "{allocation}",
    "Allocations during calls of the function, callees included.",
    InstrumentKind::Counter,
);
/// Frees, callees included.
pub const FUNCTION_FREES: MetricDescriptor = metric(
    "heapmeter.function.frees",
    "{free}",
    "Frees during calls of the function, callees included.",
    InstrumentKind::Counter,
);
/// Bytes allocated, instrumented callees subtracted.
pub const FUNCTION_SELF_ALLOCATED: MetricDescriptor = metric(
    "heapmeter.function.self.allocated",
    "By",
    "Bytes allocated by the function itself, instrumented callees subtracted.",
    InstrumentKind::Counter,
);
/// Bytes freed, instrumented callees subtracted.
pub const FUNCTION_SELF_FREED: MetricDescriptor = metric(
    "heapmeter.function.self.freed",
    "By",
    "Bytes freed by the function itself, instrumented callees subtracted.",
    InstrumentKind::Counter,
);
/// Allocations, instrumented callees subtracted.
pub const FUNCTION_SELF_ALLOCATIONS: MetricDescriptor = metric(
    "heapmeter.function.self.allocations",
    "{allocation}",
    "Allocations by the function itself, instrumented callees subtracted.",
    InstrumentKind::Counter,
);
/// Frees, instrumented callees subtracted.
pub const FUNCTION_SELF_FREES: MetricDescriptor = metric(
    "heapmeter.function.self.frees",
    "{free}",
    "Frees by the function itself, instrumented callees subtracted.",
    InstrumentKind::Counter,
);
/// Bytes allocated minus bytes freed, callees included.
pub const FUNCTION_RETAINED: MetricDescriptor = metric(
    "heapmeter.function.retained",
    "By",
    "Bytes allocated minus bytes freed during calls of the function, callees included.",
    InstrumentKind::UpDownCounter,
);
/// Bytes allocated per call, callees included.
pub const FUNCTION_CALL_ALLOCATED: MetricDescriptor = metric(
    "heapmeter.function.call.allocated",
    "By",
    "Bytes allocated per call, callees included.",
    InstrumentKind::Histogram,
);
/// Bytes allocated per call, instrumented callees subtracted.
pub const FUNCTION_CALL_SELF_ALLOCATED: MetricDescriptor = metric(
    "heapmeter.function.call.self.allocated",
    "By",
    "Bytes allocated per call by the function itself, instrumented callees subtracted.",
    InstrumentKind::Histogram,
);
/// Allocations per call, callees included.
pub const FUNCTION_CALL_ALLOCATIONS: MetricDescriptor = metric(
    "heapmeter.function.call.allocations",
    "{allocation}",
    "Allocations per call, callees included.",
    InstrumentKind::Histogram,
);
/// Peak live bytes per call above the level at entry.
pub const FUNCTION_CALL_PEAK: MetricDescriptor = metric(
    "heapmeter.function.call.peak",
    "By",
    "Peak live bytes per call above the level at entry, callees included.",
    InstrumentKind::Histogram,
);
/// Largest peak of any call.
pub const FUNCTION_PEAK_MAX: MetricDescriptor = metric(
    "heapmeter.function.peak.max",
    "By",
    "Largest peak live bytes of any call above the level at its entry.",
    InstrumentKind::Gauge,
);
/// Calls counted in the sums but missing from the histograms.
pub const FUNCTION_UNSAMPLED_CALLS: MetricDescriptor = metric(
    "heapmeter.function.unsampled_calls",
    "{call}",
    "Calls counted in the sums but missing from the per-call histograms because a queue was full.",
    InstrumentKind::Counter,
);
/// Bytes allocated by the whole process.
pub const PROCESS_HEAP_ALLOCATED: MetricDescriptor = metric(
    "heapmeter.process.heap.allocated",
    "By",
    "Bytes allocated through the heapmeter allocator by the whole process.",
    InstrumentKind::ObservableCounter,
);
/// Bytes freed by the whole process.
pub const PROCESS_HEAP_FREED: MetricDescriptor = metric(
    "heapmeter.process.heap.freed",
    "By",
    "Bytes freed through the heapmeter allocator by the whole process.",
    InstrumentKind::ObservableCounter,
);
/// Bytes allocated and not yet freed by the whole process.
pub const PROCESS_HEAP_LIVE: MetricDescriptor = metric(
    "heapmeter.process.heap.live",
    "By",
    "Bytes allocated through the heapmeter allocator and not yet freed.",
    InstrumentKind::Gauge,
);

/// Every metric, in export order.
pub const ALL: [MetricDescriptor; 19] = [
    FUNCTION_CALLS,
    FUNCTION_ALLOCATED,
    FUNCTION_FREED,
    FUNCTION_ALLOCATIONS,
    FUNCTION_FREES,
    FUNCTION_SELF_ALLOCATED,
    FUNCTION_SELF_FREED,
    FUNCTION_SELF_ALLOCATIONS,
    FUNCTION_SELF_FREES,
    FUNCTION_RETAINED,
    FUNCTION_CALL_ALLOCATED,
    FUNCTION_CALL_SELF_ALLOCATED,
    FUNCTION_CALL_ALLOCATIONS,
    FUNCTION_CALL_PEAK,
    FUNCTION_PEAK_MAX,
    FUNCTION_UNSAMPLED_CALLS,
    PROCESS_HEAP_ALLOCATED,
    PROCESS_HEAP_FREED,
    PROCESS_HEAP_LIVE,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The instrument name syntax of the OpenTelemetry specification: a
    /// letter, then up to 254 letters, digits, `_`, `.`, `-` or `/`.
    fn is_valid_instrument_name(name: &str) -> bool {
        let mut characters = name.chars();
        let starts_with_letter = characters.next().is_some_and(|first| first.is_ascii_alphabetic());
        starts_with_letter
            && name.len() <= 255
            && characters.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
    }

    #[test]
    fn names_are_valid_and_prefixed() {
        for descriptor in ALL {
            assert!(is_valid_instrument_name(descriptor.name), "{}", descriptor.name);
            assert!(descriptor.name.starts_with("heapmeter."), "{}", descriptor.name);
            assert!(!descriptor.unit.is_empty(), "{} has no unit", descriptor.name);
        }
    }

    #[test]
    fn names_are_unique() {
        for (position, descriptor) in ALL.iter().enumerate() {
            let mut later = ALL.iter().skip(position + 1);
            assert!(later.all(|other| other.name != descriptor.name), "{} listed twice", descriptor.name);
        }
    }

    #[test]
    fn byte_metrics_use_ucum_bytes() {
        for descriptor in [FUNCTION_ALLOCATED, FUNCTION_RETAINED, FUNCTION_CALL_PEAK, PROCESS_HEAP_LIVE] {
            assert_eq!(descriptor.unit, "By", "{}", descriptor.name);
        }
    }
}
