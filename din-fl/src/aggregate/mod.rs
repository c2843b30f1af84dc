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
    out.par_chunks_mut(BLOCK).enumerate().for_each(|(b, acc)| {
        let start = b * BLOCK;
        let end = start + acc.len();
        let rows: Vec<(&[f32], f32)> = updates
            .iter()
            .zip(&w)
            .map(|(u, &wi)| (u.get(start..end).unwrap_or_default(), wi))
            .collect();
        // Sixteen clients per pass over the accumulator block (two groups of eight),
        // then groups of eight, then one by one.
        let mut sixteens = rows.chunks_exact(16);
        for g in sixteens.by_ref() {
            let (lo, hi) = g.split_at(8);
            if let (Some(a), Some(b)) = (octet(lo), octet(hi)) {
                for ((o, x), y) in acc.iter_mut().zip(a).zip(b) {
                    *o += x + y;
                }
            }
        }
        let mut groups = sixteens.remainder().chunks_exact(8);
        for g in groups.by_ref() {
            if let Some(a) = octet(g) {
                for (o, x) in acc.iter_mut().zip(a) {
                    *o += x;
                }
            }
        }
        for (u, wi) in groups.remainder() {
            for (o, &x) in acc.iter_mut().zip(*u) {
                *o += wi * x;
            }
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

/// The weighted sum of eight equal-length rows, element by element. A zip of slices
/// compiles to a bounds-check-free SIMD loop.
fn octet<'a>(g: &'a [(&'a [f32], f32)]) -> Option<impl Iterator<Item = f32> + 'a> {
    let [
        (a, wa),
        (b, wb),
        (c, wc),
        (d, wd),
        (e, we),
        (f, wf),
        (g_, wg),
        (h, wh),
    ] = g
    else {
        return None;
    };
    let (wa, wb, wc, wd, we, wf, wg, wh) = (*wa, *wb, *wc, *wd, *we, *wf, *wg, *wh);
    let pairs = a.iter().zip(*b).zip(c.iter().zip(*d));
    let quads = pairs.zip(e.iter().zip(*f).zip(g_.iter().zip(*h)));
    Some(quads.map(
        move |(((&x0, &x1), (&x2, &x3)), ((&x4, &x5), (&x6, &x7)))| {
            (wa * x0 + wb * x1 + wc * x2 + wd * x3) + (we * x4 + wf * x5 + wg * x6 + wh * x7)
        },
    ))
}

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
