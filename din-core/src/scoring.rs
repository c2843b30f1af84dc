//! Contribution scoring: BlockFlow's median scoring (arXiv 2007.03856, Algorithm 1) as DIN
//! uses it (paper §5.2 step 6, §6 fourth threat).
//!
//! With `s[e][k]` the score (in `[0, 1]`) evaluator `e` gives participant `k`:
//! - `m_k` = the lower median over evaluators of `s[e][k]`; participant score
//!   `m'_k = m_k / max_j m_j`;
//! - `t[e][k] = |s[e][k] - m_k|`, `t'[e][k] = max(0, (1/2 - t) / (1/2 + t))`;
//! - evaluator quality `d_e = min_k t'[e][k]`, normalized `d'_e = d_e / max_f d_f`;
//! - BlockFlow's overall score, where everyone is both: `p_k = min(m'_k, d'_k)`.
//!
//! DIN pays participants in proportion to `m_k` and evaluators' fees in proportion to
//! `d_e` (the normalizations cancel), and slashes `d_e = 0`. On-chain the scores are
//! fixed point with denominator `2^20` ([`crate::Score`]); [`median_scores_fixed`] is the
//! contract's exact integer arithmetic, [`median_scores`] the floating-point original,
//! checked against BlockFlow's published matrices in the tests.

use crate::hash::keccak256;
use crate::types::{Address, Digest32, TaskId};
use crate::{Error, Result};

/// Fixed-point one of on-chain scores (`2^20`).
pub const SCORE_ONE: u32 = 1 << 20;

/// The outcome of median scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct MedianScores {
    /// `m_k`: lower median of each participant's scores.
    pub medians: Vec<f64>,
    /// `m'_k = m_k / max m`.
    pub participant: Vec<f64>,
    /// `d_e`: each evaluator's quality.
    pub quality: Vec<f64>,
    /// `d'_e = d_e / max d`.
    pub evaluator: Vec<f64>,
}

fn check_matrix<T>(scores: &[Vec<T>]) -> Result<usize> {
    let Some(first) = scores.first() else {
        return Err(Error::invalid("score matrix", "no evaluators"));
    };
    let n = first.len();
    if n == 0 {
        return Err(Error::invalid("score matrix", "no participants"));
    }
    if let Some((e, row)) = scores.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(Error::invalid(
            "score matrix",
            format!("row {e} has {} scores, row 0 has {n}", row.len()),
        ));
    }
    Ok(n)
}

fn normalize(v: &[f64]) -> Vec<f64> {
    let max = v.iter().copied().fold(0.0f64, f64::max);
    v.iter()
        .map(|&x| if max > 0.0 { x / max } else { 0.0 })
        .collect()
}

/// The lower median of `values` (`values[(len - 1) / 2]` once sorted).
fn lower_median<T: Copy + PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len().saturating_sub(1) / 2).copied()
}

/// BlockFlow median scoring of an evaluators × participants matrix of scores in `[0, 1]`.
///
/// # Errors
/// [`Error::InvalidValue`] for an empty or ragged matrix, or a score that is NaN or outside
/// `[0, 1]`.
pub fn median_scores(scores: &[Vec<f64>]) -> Result<MedianScores> {
    let n = check_matrix(scores)?;
    for (e, row) in scores.iter().enumerate() {
        if let Some(k) = row.iter().position(|s| !(0.0..=1.0).contains(s)) {
            return Err(Error::invalid(
                "score",
                format!("evaluator {e} gave participant {k} a score outside [0, 1]"),
            ));
        }
    }
    let medians: Vec<f64> = (0..n)
        .map(|k| lower_median(scores.iter().filter_map(|r| r.get(k).copied()).collect()))
        .map(Option::unwrap_or_default)
        .collect();
    let quality: Vec<f64> = scores
        .iter()
        .map(|row| {
            row.iter()
                .zip(&medians)
                .map(|(s, m)| {
                    let t = (s - m).abs();
                    ((0.5 - t) / (0.5 + t)).max(0.0)
                })
                .fold(1.0f64, f64::min)
        })
        .collect();
    Ok(MedianScores {
        participant: normalize(&medians),
        evaluator: normalize(&quality),
        medians,
        quality,
    })
}

/// BlockFlow's overall score where every agent is both participant and evaluator:
/// `p_k = min(m'_k, d'_k)` (square matrices only).
///
/// # Errors
/// As [`median_scores`], and [`Error::InvalidValue`] for a non-square matrix.
pub fn blockflow_overall(scores: &[Vec<f64>]) -> Result<Vec<f64>> {
    let r = median_scores(scores)?;
    if r.medians.len() != r.quality.len() {
        return Err(Error::invalid(
            "score matrix",
            "BlockFlow's overall score needs a square matrix",
        ));
    }
    Ok(r.participant
        .iter()
        .zip(&r.evaluator)
        .map(|(m, d)| m.min(*d))
        .collect())
}

/// The contract's integer median scoring: scores in `[0, SCORE_ONE]`; returns the lower
/// medians `m_k` and the qualities `d_e = min_k floor((H - t) * ONE / (H + t))` (0 when
/// `t >= H`), `H = ONE / 2`, exactly as `DinTaskManager.finalizeScores` computes them.
///
/// # Errors
/// [`Error::InvalidValue`] for an empty or ragged matrix or a score above [`SCORE_ONE`].
pub fn median_scores_fixed(scores: &[Vec<u32>]) -> Result<(Vec<u32>, Vec<u32>)> {
    let n = check_matrix(scores)?;
    if scores.iter().flatten().any(|&s| s > SCORE_ONE) {
        return Err(Error::invalid("score", format!("above {SCORE_ONE} (1.0)")));
    }
    let medians: Vec<u32> = (0..n)
        .map(|k| lower_median(scores.iter().filter_map(|r| r.get(k).copied()).collect()))
        .map(Option::unwrap_or_default)
        .collect();
    let half = u64::from(SCORE_ONE / 2);
    let quality = scores
        .iter()
        .map(|row| {
            row.iter()
                .zip(&medians)
                .map(|(&s, &m)| {
                    let t = u64::from(s.abs_diff(m));
                    if t >= half {
                        0
                    } else {
                        ((half - t) * u64::from(SCORE_ONE) / (half + t)) as u32
                    }
                })
                .fold(SCORE_ONE, u32::min)
        })
        .collect();
    Ok((medians, quality))
}

/// The commitment an evaluator publishes for its scores of one subgroup, as
/// `DinTaskManager.scoreCommitment` computes it: `keccak256(task:u64 || evaluator:20 ||
/// subgroup:u32 || each score as a 32-byte big-endian word || salt:32)` (Solidity's
/// `abi.encodePacked(uint64, address, uint32, uint32[], bytes32)`).
pub fn score_batch_commitment(
    task: TaskId,
    evaluator: &Address,
    subgroup: u32,
    scores: &[u32],
    salt: &Digest32,
) -> Digest32 {
    let mut packed = Vec::with_capacity(8 + 20 + 4 + 32 * scores.len() + 32);
    packed.extend_from_slice(&task.0.to_be_bytes());
    packed.extend_from_slice(evaluator.as_bytes());
    packed.extend_from_slice(&subgroup.to_be_bytes());
    for s in scores {
        packed.extend_from_slice(&[0u8; 28]);
        packed.extend_from_slice(&s.to_be_bytes());
    }
    packed.extend_from_slice(salt.as_bytes());
    Digest32(keccak256(&packed))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn lower_median_of_even_count() {
        assert_eq!(lower_median(vec![4, 1, 3, 2]), Some(2));
        assert_eq!(lower_median(vec![3, 1, 2]), Some(2));
        assert_eq!(lower_median::<u32>(vec![]), None);
    }

    #[test]
    fn quality_falls_with_distance_from_the_median() {
        let one = SCORE_ONE;
        let (m, d) =
            median_scores_fixed(&[vec![one / 2, one / 2], vec![one / 2, one / 2], vec![one, 0]])
                .unwrap();
        assert_eq!(m, vec![one / 2, one / 2]);
        assert_eq!(d, vec![one, one, 0]);
    }

    #[test]
    fn rejects_bad_matrices() {
        assert!(median_scores(&[]).is_err());
        assert!(median_scores(&[vec![0.5], vec![0.5, 0.1]]).is_err());
        assert!(median_scores(&[vec![f64::NAN]]).is_err());
        assert!(median_scores(&[vec![1.5]]).is_err());
        assert!(median_scores_fixed(&[vec![SCORE_ONE + 1]]).is_err());
    }
}
