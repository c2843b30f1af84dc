//! Aggregation of flat parameter vectors: weighted FedAvg, the hierarchical FedAvg of
//! DIN (subgroup means, then the sample-weighted mean of subgroup means; paper §5.1
//! steps 3f and 4), and robust plaintext aggregators (coordinate-wise median, trimmed
//! mean) for users who do not need secure aggregation.
//!
//! Every aggregator is deterministic: each coordinate is reduced in a fixed order, so
//! the same inputs give the same bits whatever the thread count. Inputs are checked:
//! no updates, mismatched lengths, NaN or infinite values, and negative or all-zero
//! weights are typed errors.
//!
//! ```
//! let a = [1.0f32, 2.0];
//! let b = [3.0f32, 6.0];
//! let mean = din_fl::aggregate::fedavg(&[&a, &b], &[1.0, 3.0])?;
//! assert_eq!(mean, vec![2.5, 5.0]);
//! # Ok::<(), din_fl::Error>(())
//! ```

mod robust;

use rayon::prelude::*;

pub use robust::{coordinate_median, trimmed_mean};

use crate::{Error, Result};

/// Coordinates per block of work: a 128 KiB accumulator stays in L2, and each client's
/// 128 KiB run is long enough for the hardware prefetchers to stream it.
const BLOCK: usize = 32 * 1024;

/// Checks that there is at least one update and all have the same length.
pub(crate) fn check_shapes(updates: &[&[f32]]) -> Result<usize> {
    let first = updates
        .first()
        .ok_or(Error::Empty("no updates to aggregate"))?;
    let d = first.len();
    for (index, u) in updates.iter().enumerate() {
        if u.len() != d {
            return Err(Error::LengthMismatch {
                what: "update",
                index,
                expected: d,
                found: u.len(),
            });
        }
    }
    Ok(d)
}

/// The first non-finite value among `updates`, as an error.
pub(crate) fn find_non_finite(updates: &[&[f32]]) -> Result<()> {
    for (index, u) in updates.iter().enumerate() {
        if let Some(position) = u.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "update",
                index,
                position,
            });
        }
    }
    Ok(())
}

/// Normalized weights `w_i / Σ w`.
fn normalized(weights: &[f64], n: usize) -> Result<Vec<f32>> {
    if weights.len() != n {
        return Err(Error::LengthMismatch {
            what: "weights for the updates",
            index: 0,
            expected: n,
            found: weights.len(),
        });
    }
    if let Some((i, w)) = weights
        .iter()
        .enumerate()
        .find(|(_, w)| !w.is_finite() || **w < 0.0)
    {
        return Err(Error::InvalidWeight(format!(
            "weight {i} is {w}; weights must be finite and non-negative"
        )));
    }
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return Err(Error::InvalidWeight(format!(
            "weights sum to {total}; at least one must be positive"
        )));
    }
    Ok(weights.iter().map(|w| (w / total) as f32).collect())
}

/// Weighted FedAvg: `Σ_i w_i x_i / Σ_i w_i`, weights usually sample counts.
///
/// Cache-blocked and parallel over coordinates; each coordinate sums the clients in
/// input order, so the result is bit-for-bit reproducible.
///
/// # Errors
/// [`Error::Empty`], [`Error::LengthMismatch`], [`Error::NonFinite`],
/// [`Error::InvalidWeight`].
pub fn fedavg(updates: &[&[f32]], weights: &[f64]) -> Result<Vec<f32>> {
    let d = check_shapes(updates)?;
    let w = normalized(weights, updates.len())?;
    let mut out = vec![0f32; d];
    let rows: Vec<(&[f32], f32)> = updates.iter().copied().zip(w.iter().copied()).collect();
    let block = block_size(d);
    out.par_chunks_mut(block).enumerate().for_each(|(b, acc)| {
        // Eight clients per pass over the accumulator block, then the rest in one pass.
        let start = b * block;
        let mut groups = rows.chunks_exact(GROUP);
        for (i, group) in groups.by_ref().enumerate() {
            add_group::<GROUP>(acc, start, group, i == 0);
        }
        let rest = groups.remainder();
        let first = rows.len() < GROUP;
        match rest.len() {
            1 => add_group::<1>(acc, start, rest, first),
            2 => add_group::<2>(acc, start, rest, first),
            3 => add_group::<3>(acc, start, rest, first),
            4 => add_group::<4>(acc, start, rest, first),
            5 => add_group::<5>(acc, start, rest, first),
            6 => add_group::<6>(acc, start, rest, first),
            7 => add_group::<7>(acc, start, rest, first),
            _ => {}
        }
    });
    if out.iter().any(|x| !x.is_finite()) {
        // A NaN or infinity in some input (or an overflow): name the first culprit.
        find_non_finite(updates)?;
        return Err(Error::InvalidArgument(
            "the weighted sum overflows f32; rescale the updates".into(),
        ));
    }
    Ok(out)
}

/// About [`BLOCK`] coordinates per block of work, as many blocks for every thread,
/// whole cache lines. (Blocks only schedule the work: the result does not depend on
/// them.)
fn block_size(d: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let per_thread = d.div_ceil(threads * BLOCK).max(1);
    d.div_ceil(threads * per_thread)
        .next_multiple_of(LINE)
        .max(LINE)
}

/// Clients added per pass over an accumulator block.
const GROUP: usize = 8;

/// Floats per 64-byte cache line.
const LINE: usize = 16;

/// How far ahead of the coordinate being added each client's row is prefetched
/// (1 KiB: about one DRAM round trip of streaming).
const AHEAD: usize = 256;

/// A line of zeros, for rows that (impossibly) end early.
const ZERO_LINE: [f32; LINE] = [0.0; LINE];

/// Adds `Σ_k w_k x_k` over the `G` rows of `group` (full rows with their weights) for
/// the coordinates `start..start + acc.len()` to `acc` (`first`: writes it instead).
/// Every coordinate is reduced the same way, `((0 + w_0 x_0) + w_1 x_1) + …` per pass
/// and the passes in client order, whatever the thread or the block.
///
/// Whole cache lines go through fixed-size arrays (straight SIMD code), and every
/// client's row is prefetched [`AHEAD`] while a line is added: with many clients read
/// at once, the hardware prefetchers, which restart at every 4 KiB page of every
/// stream, leave DRAM idle in between (BLAS's `sgemv` kernels prefetch too).
fn add_group<const G: usize>(acc: &mut [f32], start: usize, group: &[(&[f32], f32)], first: bool) {
    let Ok(group) = <&[(&[f32], f32); G]>::try_from(group) else {
        return;
    };
    let end = start + acc.len();
    let blocks: [&[f32]; G] = std::array::from_fn(|k| {
        group
            .get(k)
            .and_then(|(u, _)| u.get(start..end))
            .unwrap_or_default()
    });
    let w: [f32; G] = std::array::from_fn(|k| group.get(k).map_or(0.0, |(_, w)| *w));
    let mut lines: [std::slice::Iter<'_, [f32; LINE]>; G] =
        std::array::from_fn(|k| blocks.get(k).map_or(&[][..], |u| u.as_chunks().0).iter());
    let (acc_lines, acc_tail) = acc.as_chunks_mut::<LINE>();
    for (c, o) in acc_lines.iter_mut().enumerate() {
        for (u, _) in group {
            if let Some(x) = u.get(start + c * LINE + AHEAD) {
                prefetch(x);
            }
        }
        let x: [&[f32; LINE]; G] = std::array::from_fn(|k| {
            lines
                .get_mut(k)
                .and_then(Iterator::next)
                .unwrap_or(&ZERO_LINE)
        });
        let s = line_sum(&x, &w);
        if first {
            *o = s;
        } else {
            for (o, s) in o.iter_mut().zip(s) {
                *o += s;
            }
        }
    }
    // The last few coordinates of the vector, the same sum element by element.
    let tail_start = acc_lines.len() * LINE;
    for (j, o) in acc_tail.iter_mut().enumerate() {
        let mut s = 0f32;
        for (u, wk) in blocks.iter().zip(&w) {
            s += wk * u.get(tail_start + j).copied().unwrap_or_default();
        }
        *o = if first { s } else { *o + s };
    }
}

/// `Σ_k w_k x_k` of one cache line of `G` rows, `((0 + w_0 x_0) + w_1 x_1) + …`.
#[inline(always)]
#[allow(clippy::indexing_slicing)] // k < G and l < LINE: the lengths of the arrays indexed
fn line_sum<const G: usize>(x: &[&[f32; LINE]; G], w: &[f32; G]) -> [f32; LINE] {
    let mut s = [0f32; LINE];
    for k in 0..G {
        for l in 0..LINE {
            s[l] += w[k] * x[k][l];
        }
    }
    s
}

/// A software prefetch of the cache line holding `x` (`prefetcht0`), see [`add_group`];
/// measured in `benches/README.md`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch(x: &f32) {
    // SAFETY: `_mm_prefetch` is a hint: it reads nothing into the program, cannot fault
    // (and `x` is a live reference anyway) and changes no architectural state; SSE, the
    // feature it needs, is part of the baseline of every x86_64 target.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(x).cast(),
        );
    }
}

/// Elsewhere stable Rust has no prefetch; the hardware prefetchers do what they can.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch(_x: &f32) {}

/// Hierarchical FedAvg (paper §5.1 steps 3f, 4): the FedAvg of each subgroup, then the
/// mean of subgroup means weighted by each subgroup's total weight. Equal to flat
/// [`fedavg`] over all updates up to float rounding.
///
/// # Errors
/// As [`fedavg`], for every subgroup and for the means.
pub fn hierarchical_fedavg(subgroups: &[(Vec<&[f32]>, Vec<f64>)]) -> Result<Vec<f32>> {
    if subgroups.is_empty() {
        return Err(Error::Empty("no subgroups to aggregate"));
    }
    let mut means = Vec::with_capacity(subgroups.len());
    let mut totals = Vec::with_capacity(subgroups.len());
    for (updates, weights) in subgroups {
        means.push(fedavg(updates, weights)?);
        totals.push(weights.iter().sum::<f64>());
    }
    let refs: Vec<&[f32]> = means.iter().map(Vec::as_slice).collect();
    fedavg(&refs, &totals)
}
