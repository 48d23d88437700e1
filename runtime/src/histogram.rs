//! Base-2 exponential histograms of non-negative integers, as OTLP defines them.
//!
//! # Buckets
//!
//! With scale `s`, the base is `2^(2^-s)`, and bucket `i` contains the values `v`
//! with `base^i < v <= base^(i+1)`: the lower bound is exclusive and the upper
//! bound inclusive, as in the OTLP `ExponentialHistogramDataPoint`. Zero goes
//! to a separate zero count. heapmeter uses scale [`SCALE`] = 3, so each
//! power of two is split into 8 buckets and a bucket's upper bound is at most
//! 9.05% above its lower bound.
//!
//! Worked example at scale 3: 1024 = 2^10 = base^80, so it is the upper bound
//! of bucket 79 and lands there; 1025 lands in bucket 80, whose bounds are
//! 1024 and 2^(81/8) ≈ 1116.68.

/// Number of buckets per power of two is `2^SCALE`.
pub const SCALE: i32 = 3;

const BUCKETS_PER_OCTAVE: i32 = 1 << SCALE;

/// Returns the index of the bucket that contains `value`, which must be > 0.
#[must_use]
pub fn bucket_index(value: u64) -> i32 {
    if value.is_power_of_two() {
        // Exact: 2^k is the upper bound of bucket k * 2^SCALE - 1.
        #[allow(clippy::cast_possible_wrap, reason = "trailing_zeros of a u64 is at most 63")]
        let exponent = value.trailing_zeros() as i32;
        return exponent * BUCKETS_PER_OCTAVE - 1;
    }
    // No bucket bound inside an octave is an integer (2^(j/8) is irrational
    // unless 8 divides j), so a value's position in its octave follows from
    // comparing its mantissa with the seven bounds. The mantissa is exact for
    // values below 2^53. Above that, the conversion rounds by far less than
    // the 9% gap between bounds, and can only move a value sitting within one
    // unit in the last place of a bound.
    #[allow(clippy::cast_possible_wrap, reason = "ilog2 of a u64 is at most 63")]
    let octave = value.ilog2() as i32;
    #[allow(clippy::cast_precision_loss, reason = "see the comment above")]
    let mantissa = value as f64 * inverse_power_of_two(octave);
    let position = OCTAVE_BOUNDS.iter().filter(|&&bound| mantissa > bound).count();
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "position is at most 7")]
    let position = position as i32;
    octave * BUCKETS_PER_OCTAVE + position
}

/// Returns 2^-exponent exactly, for `exponent` in 0..=63.
fn inverse_power_of_two(exponent: i32) -> f64 {
    // An f64 with a zero mantissa is a power of two: its biased exponent
    // field is 1023 plus the power.
    let biased = u64::try_from(1023 - exponent).unwrap_or(1023);
    f64::from_bits(biased << 52)
}

/// The bounds 2^(j/8) for j = 1 to 7 that split an octave into buckets,
/// rounded to the nearest `f64`.
const OCTAVE_BOUNDS: [f64; 7] = [
    1.090_507_732_665_257_7,
    1.189_207_115_002_721,
    1.296_839_554_651_009_6,
    core::f64::consts::SQRT_2,
    1.542_210_825_407_940_7,
    1.681_792_830_507_429,
    1.834_008_086_409_342_4,
];

/// Returns the inclusive upper bound of bucket `index`.
#[must_use]
pub fn bucket_upper_bound(index: i32) -> f64 {
    (f64::from(index + 1) / f64::from(BUCKETS_PER_OCTAVE)).exp2()
}

/// An exponential histogram with dense bucket storage between the lowest
/// and highest bucket used.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    count: u64,
    sum: u64,
    zero_count: u64,
    min: u64,
    max: u64,
    /// Index of the bucket stored in `counts[0]`.
    offset: i32,
    counts: Vec<u64>,
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value: u64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum = self.sum.wrapping_add(value);
        if value == 0 {
            self.zero_count += 1;
            return;
        }
        self.add_to_bucket(bucket_index(value), 1);
    }

    fn add_to_bucket(&mut self, index: i32, amount: u64) {
        if self.counts.is_empty() {
            self.offset = index;
        }
        if index < self.offset {
            let grow = usize::try_from(self.offset - index).unwrap_or(0);
            self.counts.splice(0..0, core::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let position = usize::try_from(index - self.offset).unwrap_or(0);
        if position >= self.counts.len() {
            self.counts.resize(position + 1, 0);
        }
        if let Some(slot) = self.counts.get_mut(position) {
            *slot += amount;
        }
    }

    /// Number of values recorded.
    #[must_use]
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Sum of the values recorded.
    #[must_use]
    pub const fn sum(&self) -> u64 {
        self.sum
    }

    /// Number of zero values recorded.
    #[must_use]
    pub const fn zero_count(&self) -> u64 {
        self.zero_count
    }

    /// Smallest value recorded, or `None` when empty.
    #[must_use]
    pub const fn min(&self) -> Option<u64> {
        if self.count == 0 { None } else { Some(self.min) }
    }

    /// Largest value recorded, or `None` when empty.
    #[must_use]
    pub const fn max(&self) -> Option<u64> {
        if self.count == 0 { None } else { Some(self.max) }
    }

    /// Index of the first stored bucket.
    #[must_use]
    pub const fn offset(&self) -> i32 {
        self.offset
    }

    /// Counts of the positive buckets from [`Histogram::offset`] upwards.
    #[must_use]
    pub fn bucket_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Estimates the `quantile` (0.0 to 1.0) as the upper bound of the bucket
    /// holding that rank, clamped to the recorded min and max. The estimate is
    /// at most 9.05% above the true value. Returns `None` when empty.
    #[must_use]
    pub fn quantile(&self, quantile: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a rank within 0..=count"
        )]
        let rank = ((quantile.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank <= self.zero_count {
            return Some(0);
        }
        let mut seen = self.zero_count;
        for (position, bucket_count) in self.counts.iter().enumerate() {
            seen += bucket_count;
            if seen >= rank {
                let index = i32::try_from(position).map_or(i32::MAX, |position| self.offset.saturating_add(position));
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "bounds of u64 values fit a u64"
                )]
                let bound = bucket_upper_bound(index).floor() as u64;
                return Some(bound.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Adds every value of `other` to this histogram.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.zero_count += other.zero_count;
        for (position, &amount) in other.counts.iter().enumerate() {
            if amount > 0 {
                let index = i32::try_from(position).map_or(i32::MAX, |position| other.offset.saturating_add(position));
                self.add_to_bucket(index, amount);
            }
        }
    }

    /// Returns the values recorded since `earlier`, a previous copy of this
    /// histogram. Min and max cannot be subtracted, so the result keeps this
    /// histogram's min and max, which bound the newer values too.
    #[must_use]
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut delta = self.clone();
        delta.count = self.count.saturating_sub(earlier.count);
        delta.sum = self.sum.wrapping_sub(earlier.sum);
        delta.zero_count = self.zero_count.saturating_sub(earlier.zero_count);
        for (position, &amount) in earlier.counts.iter().enumerate() {
            let index = i32::try_from(position).map_or(i32::MAX, |position| earlier.offset.saturating_add(position));
            let Ok(target) = usize::try_from(index.saturating_sub(delta.offset)) else { continue };
            if let Some(slot) = delta.counts.get_mut(target) {
                *slot = slot.saturating_sub(amount);
            }
        }
        delta
    }

    /// Bytes of heap memory this histogram owns.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * core::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_index_follows_documented_bounds() {
        // (value, bucket): bucket i contains base^i < v <= base^(i+1), base = 2^(1/8).
        let cases = [
            (1, -1),
            (2, 7),
            (3, 12), // 2^(12/8) = 2.83 < 3 <= 2^(13/8) = 3.08
            (4, 15),
            (5, 18), // 2^(18/8) = 4.76 < 5 <= 2^(19/8) = 5.19
            (1023, 79),
            (1024, 79),
            (1025, 80),
            (1116, 80),
            (1117, 81),
            (1 << 20, 159),
            ((1 << 20) + 1, 160),
            (u64::MAX, 511),
        ];
        for (value, expected) in cases {
            assert_eq!(bucket_index(value), expected, "value {value}");
        }
    }

    #[test]
    fn bucket_bounds_contain_their_values() {
        // A linear congruential sequence spreads further values over every
        // octave up to 2^53.
        let spread = (0..20_000u64).scan(1u64, |state, _| {
            *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            Some((*state >> 11) >> (*state % 40))
        });
        for value in (1..5000u64).chain([65_535, 65_536, 65_537, 1 << 40]).chain(spread.filter(|&value| value > 0)) {
            let index = bucket_index(value);
            #[allow(clippy::cast_precision_loss)]
            let value_f = value as f64;
            assert!(value_f <= bucket_upper_bound(index) * (1.0 + 1e-12), "value {value} above bucket {index}");
            assert!(value_f > bucket_upper_bound(index - 1) * (1.0 - 1e-12), "value {value} below bucket {index}");
        }
    }

    #[test]
    fn histogram_counts_and_extremes() {
        let mut histogram = Histogram::default();
        for value in [0, 8000, 8000, 8000, 1 << 20] {
            histogram.record(value);
        }
        assert_eq!(histogram.count(), 5);
        assert_eq!(histogram.sum(), 24_000 + (1 << 20));
        assert_eq!(histogram.zero_count(), 1);
        assert_eq!(histogram.min(), Some(0));
        assert_eq!(histogram.max(), Some(1 << 20));
        assert_eq!(histogram.bucket_counts().iter().sum::<u64>(), 4);
    }

    #[test]
    fn quantile_within_bucket_error() {
        let mut histogram = Histogram::default();
        for value in 1..=1000u64 {
            histogram.record(value);
        }
        let median = histogram.quantile(0.5).unwrap_or(0);
        assert!((500..=546).contains(&median), "median {median}");
        assert_eq!(histogram.quantile(1.0), Some(1000));
        assert_eq!(histogram.quantile(0.0), Some(1));
    }

    #[test]
    fn since_subtracts_buckets() {
        let mut earlier = Histogram::default();
        earlier.record(100);
        let mut later = earlier.clone();
        later.record(5);
        later.record(100_000);
        let delta = later.since(&earlier);
        assert_eq!(delta.count(), 2);
        assert_eq!(delta.sum(), 100_005);
        assert_eq!(delta.bucket_counts().iter().sum::<u64>(), 2);
    }

    #[test]
    fn merge_adds_everything() {
        let mut left = Histogram::default();
        left.record(10);
        let mut right = Histogram::default();
        right.record(1 << 30);
        right.record(0);
        left.merge(&right);
        assert_eq!(left.count(), 3);
        assert_eq!(left.min(), Some(0));
        assert_eq!(left.max(), Some(1 << 30));
        assert_eq!(left.bucket_counts().iter().sum::<u64>(), 2);
    }
}
