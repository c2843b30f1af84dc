//! Splitting a training set among Participants, seeded: IID, Dirichlet(α) label skew
//! (each class spread over Participants by a Dirichlet draw; small α = strong skew) and
//! quantity skew (Participants' sizes drawn from a Dirichlet).

use crate::rng::SeededRng;
use crate::{Error, Result};

/// How to partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Partition {
    /// Shuffled and cut into near-equal parts.
    Iid,
    /// Label skew: each class split by proportions ~ Dirichlet(α).
    Dirichlet(f64),
    /// Size skew: part sizes ~ Dirichlet(α) over a shuffled set.
    Quantity(f64),
}

impl std::str::FromStr for Partition {
    type Err = Error;
    /// `iid`, `dirichlet:ALPHA` or `quantity:ALPHA`.
    fn from_str(s: &str) -> Result<Self> {
        let alpha = |v: &str| -> Result<f64> {
            let a: f64 = v
                .parse()
                .map_err(|_| Error::InvalidArgument(format!("alpha {v:?} is not a number")))?;
            if a.is_finite() && a > 0.0 {
                Ok(a)
            } else {
                Err(Error::InvalidArgument(format!(
                    "alpha {a} must be positive"
                )))
            }
        };
        match s.split_once(':') {
            None if s == "iid" => Ok(Partition::Iid),
            Some(("dirichlet", a)) => Ok(Partition::Dirichlet(alpha(a)?)),
            Some(("quantity", a)) => Ok(Partition::Quantity(alpha(a)?)),
            _ => Err(Error::InvalidArgument(format!(
                "partition {s:?}: use iid, dirichlet:ALPHA or quantity:ALPHA"
            ))),
        }
    }
}

/// Splits the samples with `labels` into `parts` index lists; every part gets at least
/// one sample.
///
/// # Errors
/// [`Error::InvalidArgument`] for zero parts, fewer samples than parts, or a skew that
/// keeps leaving a part empty after 100 draws.
pub fn partition(
    labels: &[u32],
    n_classes: usize,
    parts: usize,
    how: Partition,
    seed: u64,
) -> Result<Vec<Vec<usize>>> {
    if parts == 0 || labels.len() < parts {
        return Err(Error::InvalidArgument(format!(
            "cannot split {} samples into {parts} parts",
            labels.len()
        )));
    }
    let mut rng = SeededRng::new(seed);
    let n = labels.len();
    for _attempt in 0..100 {
        let mut out = vec![Vec::new(); parts];
        match how {
            Partition::Iid => {
                let mut idx: Vec<usize> = (0..n).collect();
                rng.shuffle(&mut idx);
                for (k, i) in idx.into_iter().enumerate() {
                    if let Some(p) = out.get_mut(k * parts / n) {
                        p.push(i);
                    }
                }
            }
            Partition::Dirichlet(alpha) => {
                for class in 0..n_classes as u32 {
                    let mut idx: Vec<usize> =
                        (0..n).filter(|&i| labels.get(i) == Some(&class)).collect();
                    rng.shuffle(&mut idx);
                    cut(&idx, &rng.dirichlet(alpha, parts), &mut out);
                }
            }
            Partition::Quantity(alpha) => {
                let mut idx: Vec<usize> = (0..n).collect();
                rng.shuffle(&mut idx);
                cut(&idx, &rng.dirichlet(alpha, parts), &mut out);
            }
        }
        if out.iter().all(|p| !p.is_empty()) {
            for p in &mut out {
                p.sort_unstable();
            }
            return Ok(out);
        }
    }
    Err(Error::InvalidArgument(format!(
        "{how:?} left a part empty in 100 draws; use fewer parts or a larger alpha"
    )))
}

/// Appends consecutive runs of `idx` to `out`, sized by `proportions`.
fn cut(idx: &[usize], proportions: &[f64], out: &mut [Vec<usize>]) {
    let mut start = 0usize;
    let mut cumulative = 0.0;
    let last = proportions.len().saturating_sub(1);
    for (k, (p, part)) in proportions.iter().zip(out.iter_mut()).enumerate() {
        cumulative += p;
        let end = if k == last {
            idx.len()
        } else {
            ((cumulative * idx.len() as f64).round() as usize).min(idx.len())
        };
        part.extend_from_slice(idx.get(start..end.max(start)).unwrap_or_default());
        start = end.max(start);
    }
}
