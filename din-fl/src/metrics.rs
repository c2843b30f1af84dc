//! Classification metrics: accuracy, macro-averaged precision, recall and F1, and the
//! confusion matrix (rows: true class, columns: predicted class).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Evaluation results of a classifier on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean cross-entropy loss (as computed by the model; NaN when not computed).
    pub loss: f64,
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Precision averaged over classes that occur or are predicted.
    pub precision: f64,
    /// Recall averaged over classes that occur or are predicted.
    pub recall: f64,
    /// F1 averaged over classes that occur or are predicted (macro F1).
    pub f1: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

impl Metrics {
    /// Metrics of `predicted` against `labels` for `classes` classes.
    ///
    /// # Errors
    /// [`Error::Empty`] for no samples, [`Error::LengthMismatch`] when the lengths
    /// differ, [`Error::InvalidArgument`] for a class index out of range.
    pub fn from_predictions(
        predicted: &[u32],
        labels: &[u32],
        classes: usize,
        loss: f64,
    ) -> Result<Self> {
        if labels.is_empty() {
            return Err(Error::Empty("no samples to evaluate"));
        }
        if predicted.len() != labels.len() {
            return Err(Error::LengthMismatch {
                what: "predictions",
                index: 0,
                expected: labels.len(),
                found: predicted.len(),
            });
        }
        let mut confusion = vec![vec![0u64; classes]; classes];
        for (&p, &t) in predicted.iter().zip(labels) {
            let cell = confusion
                .get_mut(t as usize)
                .and_then(|row| row.get_mut(p as usize))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!("class {t} or {p} is not below {classes}"))
                })?;
            *cell += 1;
        }
        let at = |t: usize, p: usize| {
            confusion
                .get(t)
                .and_then(|r| r.get(p))
                .copied()
                .unwrap_or(0)
        };
        let correct: u64 = (0..classes).map(|c| at(c, c)).sum();
        let (mut ps, mut rs, mut fs, mut seen) = (0.0, 0.0, 0.0, 0usize);
        for c in 0..classes {
            let tp = at(c, c) as f64;
            let actual: u64 = (0..classes).map(|p| at(c, p)).sum();
            let predicted_c: u64 = (0..classes).map(|t| at(t, c)).sum();
            if actual == 0 && predicted_c == 0 {
                continue;
            }
            seen += 1;
            let p = if predicted_c > 0 {
                tp / predicted_c as f64
            } else {
                0.0
            };
            let r = if actual > 0 { tp / actual as f64 } else { 0.0 };
            ps += p;
            rs += r;
            fs += if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
        }
        let k = seen.max(1) as f64;
        Ok(Self {
            loss,
            accuracy: correct as f64 / labels.len() as f64,
            precision: ps / k,
            recall: rs / k,
            f1: fs / k,
            confusion,
        })
    }
}
