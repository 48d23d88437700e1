//! A plain-text table of a [`Snapshot`], for printing at exit.

use core::fmt;

use crate::aggregate::{FunctionStats, Snapshot};

impl fmt::Display for Snapshot {
    /// Writes one row per function, largest total allocation first: calls,
    /// inclusive bytes allocated per call at p50 and p99, allocations per
    /// call at p50, the largest inclusive peak, self bytes per call at p50,
    /// and the net bytes retained over all calls. Quantiles come from the
    /// per-call histograms, so they are at most 9.05% above the true value.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows: Vec<&FunctionStats> = self.functions.iter().collect();
        rows.sort_by_key(|stats| core::cmp::Reverse(stats.inclusive.allocated));
        let name_width = rows.iter().map(|stats| stats.name.len()).max().unwrap_or(8).max(8);

        writeln!(
            formatter,
            "{:<name_width$}  {:>9}  {:>10}  {:>10}  {:>8}  {:>10}  {:>10}  {:>11}",
            "function", "calls", "bytes p50", "bytes p99", "allocs", "peak max", "self p50", "retained",
        )?;
        for stats in rows {
            writeln!(
                formatter,
                "{:<name_width$}  {:>9}  {:>10}  {:>10}  {:>8}  {:>10}  {:>10}  {:>11}",
                stats.name,
                stats.calls,
                format_bytes(stats.allocated_per_call.quantile(0.5)),
                format_bytes(stats.allocated_per_call.quantile(0.99)),
                stats.allocations_per_call.quantile(0.5).map_or_else(|| "-".to_owned(), |count| count.to_string()),
                format_bytes(Some(stats.peak_max)),
                format_bytes(stats.exclusive_allocated_per_call.quantile(0.5)),
                format_signed_bytes(stats.retained()),
            )?;
        }
        Ok(())
    }
}

/// Formats a byte count with a binary unit: `512 B`, `8.0 KiB`, `1.5 MiB`.
fn format_bytes(bytes: Option<u64>) -> String {
    let Some(bytes) = bytes else { return "-".to_owned() };
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss, reason = "one decimal is shown")]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

fn format_signed_bytes(bytes: i64) -> String {
    let magnitude = format_bytes(Some(bytes.unsigned_abs()));
    if bytes < 0 { format!("-{magnitude}") } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_format_with_binary_units() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (1 << 20, "1.0 MiB"),
            (5 << 30, "5.0 GiB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(format_bytes(Some(bytes)), expected, "{bytes} bytes");
        }
        assert_eq!(format_bytes(None), "-");
        assert_eq!(format_signed_bytes(-2048), "-2.0 KiB");
    }
}
