//! Explicit-bucket histograms, the one histogram shape stored: merging (over the union of the
//! bounds when they differ), the increase between two cumulative points, quantiles estimated
//! the way Prometheus's `histogram_quantile` does, and the conversion of exponential histograms.

use serde::{Deserialize, Serialize};

use crate::raw::ExpBuckets;

/// Bucket `i` counts values in `(bounds[i-1], bounds[i]]`; the last bucket (one more than
/// `bounds`) everything above the last bound. A histogram without buckets keeps only its count
/// and sum (`bounds` and `counts` empty).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Histogram {
    pub count: u64,
    /// `None` when the sender did not give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(default)]
    pub bounds: Vec<f64>,
    #[serde(default)]
    pub counts: Vec<u64>,
}

/// Most buckets an exponential histogram keeps once converted: finer ones are merged pairwise
/// (the scale lowered) until they fit.
pub const MAX_EXP_BUCKETS: usize = 160;

impl Histogram {
    /// Adds `other` in. With different bounds, the result has the union of both, and each
    /// bucket's count goes to the bucket with the same upper bound.
    pub fn merge(&mut self, other: &Histogram) {
        if *self == Histogram::default() {
            self.clone_from(other);
            return;
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = match (self.sum, other.sum) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        if other.counts.is_empty() {
            return;
        }
        if self.counts.is_empty() {
            self.bounds.clone_from(&other.bounds);
            self.counts.clone_from(&other.counts);
            return;
        }
        if self.bounds == other.bounds && self.counts.len() == other.counts.len() {
            for (a, b) in self.counts.iter_mut().zip(&other.counts) {
                *a = a.saturating_add(*b);
            }
            return;
        }
        let mut bounds: Vec<f64> = self.bounds.iter().chain(&other.bounds).copied().collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        let mut counts = vec![0u64; bounds.len() + 1];
        for h in [&*self, other] {
            for (i, c) in h.counts.iter().enumerate() {
                let at = match h.bounds.get(i) {
                    Some(b) => bounds.partition_point(|x| x < b),
                    None => bounds.len(),
                };
                counts[at] = counts[at].saturating_add(*c);
            }
        }
        self.bounds = bounds;
        self.counts = counts;
    }

    /// What was added between `earlier` and `self`, two cumulative points of one series; `None`
    /// when `self` cannot follow `earlier` (other bounds, or a count that went down: a reset).
    pub fn minus(&self, earlier: &Histogram) -> Option<Histogram> {
        if self.bounds != earlier.bounds
            || self.counts.len() != earlier.counts.len()
            || self.count < earlier.count
        {
            return None;
        }
        let counts = self
            .counts
            .iter()
            .zip(&earlier.counts)
            .map(|(now, before)| now.checked_sub(*before))
            .collect::<Option<Vec<u64>>>()?;
        Some(Histogram {
            count: self.count - earlier.count,
            sum: match (self.sum, earlier.sum) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            },
            bounds: self.bounds.clone(),
            counts,
        })
    }

    /// The `q` quantile (0..=1) estimated from the buckets: linear within the bucket holding
    /// the rank, the first bucket starting at 0 when its bound is positive, and the last bound
    /// for ranks in the open last bucket. `None` without buckets or values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.counts.iter().sum();
        if total == 0 || self.bounds.is_empty() || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total as f64;
        let mut below = 0u64;
        for (i, c) in self.counts.iter().enumerate() {
            let through = below + c;
            if (through as f64) >= rank && *c > 0 {
                let Some(upper) = self.bounds.get(i).copied() else {
                    return self.bounds.last().copied();
                };
                let lower = match i {
                    0 if upper > 0.0 => 0.0,
                    0 => return Some(upper),
                    _ => self.bounds[i - 1],
                };
                let within = (rank - below as f64) / *c as f64;
                return Some(lower + (upper - lower) * within.clamp(0.0, 1.0));
            }
            below = through;
        }
        self.bounds.last().copied()
    }

    /// An exponential histogram as explicit buckets with the same boundaries: the positive
    /// buckets keep theirs (base^i); zero and negative values go to the first bucket (at or
    /// below the lowest positive boundary). Over [`MAX_EXP_BUCKETS`], buckets are merged.
    pub fn from_exponential(
        count: u64,
        sum: Option<f64>,
        scale: i32,
        zero_count: u64,
        positive: &ExpBuckets,
        negative: &ExpBuckets,
    ) -> Histogram {
        let (mut scale, mut offset, mut counts) = (scale, positive.offset, positive.counts.clone());
        // Leading and trailing empty buckets carry no information.
        while counts.last() == Some(&0) {
            counts.pop();
        }
        let lead = counts.iter().take_while(|c| **c == 0).count();
        counts.drain(..lead);
        offset = offset.saturating_add(i32::try_from(lead).unwrap_or(i32::MAX));
        while counts.len() > MAX_EXP_BUCKETS {
            (offset, counts) = downscale(offset, &counts);
            scale -= 1;
        }
        let below: u64 = zero_count.saturating_add(negative.counts.iter().sum::<u64>());
        if counts.is_empty() {
            return Histogram {
                count,
                sum,
                bounds: vec![0.0],
                counts: vec![below, 0],
            };
        }
        let step = (-f64::from(scale)).exp2();
        let bounds: Vec<f64> = (0..=counts.len())
            .map(|i| ((f64::from(offset) + i as f64) * step).exp2())
            .collect();
        let mut all = Vec::with_capacity(counts.len() + 2);
        all.push(below);
        all.extend(counts);
        all.push(0);
        Histogram {
            count,
            sum,
            bounds,
            counts: all,
        }
    }
}

/// Halves an exponential histogram's resolution: buckets `2k` and `2k+1` become bucket `k`.
fn downscale(offset: i32, counts: &[u64]) -> (i32, Vec<u64>) {
    let first = offset >> 1;
    let mut out: Vec<u64> = Vec::with_capacity(counts.len() / 2 + 1);
    for (i, c) in counts.iter().enumerate() {
        let index = (offset + i32::try_from(i).unwrap_or(i32::MAX)) >> 1;
        let at = usize::try_from(index - first).unwrap_or(0);
        if out.len() <= at {
            out.resize(at + 1, 0);
        }
        out[at] = out[at].saturating_add(*c);
    }
    (first, out)
}
