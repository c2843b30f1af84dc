//! The Model Owner's combination of accepted subgroup aggregates.

use din_core::secagg::{FixedPoint, SubgroupAggregate};

use crate::{Error, Result};

/// The global update of a round: the mean of the accepted subgroups' weighted means,
/// each weighted by its total sample weight, which equals the flat sample-weighted mean
/// over every surviving participant (paper §5.1 steps 3f and 4). Accumulated in `f64`
/// in subgroup order, so every caller gets the same bits. Returns the vector and the
/// total weight.
///
/// # Errors
/// [`Error::Inconsistent`] for no aggregates, zero total weight or vectors of different
/// lengths; fixed-point decoding errors.
pub fn combine(
    aggregates: &[SubgroupAggregate],
    fixed_point: &FixedPoint,
) -> Result<(Vec<f32>, u64)> {
    let mut acc: Vec<f64> = Vec::new();
    let mut total: u64 = 0;
    for (i, a) in aggregates.iter().enumerate() {
        let (mean, weight) = a.sum.mean(fixed_point)?;
        if i == 0 {
            acc = vec![0.0; mean.len()];
        } else if mean.len() != acc.len() {
            return Err(Error::Inconsistent {
                what: "subgroup aggregates",
                reason: format!(
                    "subgroup {} has {} values, the first has {}",
                    a.subgroup,
                    mean.len(),
                    acc.len()
                ),
            });
        }
        for (s, m) in acc.iter_mut().zip(&mean) {
            *s += f64::from(*m) * weight as f64;
        }
        total = total.saturating_add(weight);
    }
    if acc.is_empty() || total == 0 {
        return Err(Error::Inconsistent {
            what: "subgroup aggregates",
            reason: "nothing to combine (no accepted subgroup, or zero weight)".into(),
        });
    }
    Ok((
        acc.iter().map(|s| (s / total as f64) as f32).collect(),
        total,
    ))
}
