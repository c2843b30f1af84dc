//! Robust plaintext aggregators: a coordinate-wise statistic that a minority of
//! arbitrary updates cannot drag far.

use rayon::prelude::*;

use super::{check_shapes, find_non_finite};
use crate::{Error, Result};

const BLOCK: usize = 1024;

/// Applies `stat` to each coordinate's values across updates, block-parallel.
fn per_coordinate(updates: &[&[f32]], stat: impl Fn(&mut [f32]) -> f32 + Sync) -> Result<Vec<f32>> {
    let d = check_shapes(updates)?;
    find_non_finite(updates)?;
    let n = updates.len();
    let mut out = vec![0f32; d];
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            let start = b * BLOCK;
            let mut column = vec![0f32; n];
            for (j, o) in block.iter_mut().enumerate() {
                for (c, u) in column.iter_mut().zip(updates) {
                    *c = u.get(start + j).copied().unwrap_or_default();
                }
                *o = stat(&mut column);
            }
        });
    Ok(out)
}

/// Coordinate-wise median; with an even number of updates, the mean of the two middle
/// values.
///
/// # Errors
/// [`Error::Empty`], [`Error::LengthMismatch`], [`Error::NonFinite`].
pub fn coordinate_median(updates: &[&[f32]]) -> Result<Vec<f32>> {
    per_coordinate(updates, |col| {
        col.sort_unstable_by(f32::total_cmp);
        let n = col.len();
        let hi = col.get(n / 2).copied().unwrap_or_default();
        if n % 2 == 1 {
            hi
        } else {
            let lo = col.get(n / 2 - 1).copied().unwrap_or_default();
            ((f64::from(lo) + f64::from(hi)) / 2.0) as f32
        }
    })
}

/// Coordinate-wise trimmed mean: drops the `trim` largest and `trim` smallest values of
/// each coordinate and averages the rest (unweighted).
///
/// # Errors
/// [`Error::InvalidArgument`] when `2 * trim` leaves no value; otherwise as
/// [`coordinate_median`].
pub fn trimmed_mean(updates: &[&[f32]], trim: usize) -> Result<Vec<f32>> {
    if trim.saturating_mul(2) >= updates.len() {
        return Err(Error::InvalidArgument(format!(
            "trimming {trim} from each end of {} updates leaves none",
            updates.len()
        )));
    }
    per_coordinate(updates, |col| {
        col.sort_unstable_by(f32::total_cmp);
        let kept = col.get(trim..col.len() - trim).unwrap_or_default();
        (kept.iter().map(|&x| f64::from(x)).sum::<f64>() / kept.len() as f64) as f32
    })
}
