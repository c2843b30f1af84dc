//! Data sets, loaders and partitioners.
//!
//! A [`Dataset`] is a dense `f32` feature matrix (row-major) with class labels. Loaders
//! read MNIST's idx files ([`mnist`]) and the UCI Adult CSV ([`adult`]) from
//! `../shared/data/...` or any path; malformed or truncated files are typed errors.
//! Partitioners ([`partition`]) split a training set among Participants: IID,
//! Dirichlet(α) label skew and quantity skew, all seeded.

pub mod adult;
pub mod mnist;
pub mod partition;

use crate::rng::SeededRng;
use crate::{Error, Result};

/// Labelled samples with dense features.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `len() * n_features` values, row-major.
    pub features: Vec<f32>,
    /// One class index per sample.
    pub labels: Vec<u32>,
    /// Features per sample.
    pub n_features: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Shape of one sample for models that care (e.g. `[1, 28, 28]` for images).
    pub sample_shape: Vec<usize>,
}

impl Dataset {
    /// A data set, checked for consistent sizes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when sizes disagree or a label is out of range.
    pub fn new(
        features: Vec<f32>,
        labels: Vec<u32>,
        n_features: usize,
        n_classes: usize,
        sample_shape: Vec<usize>,
    ) -> Result<Self> {
        if features.len() != labels.len().saturating_mul(n_features) {
            return Err(Error::InvalidArgument(format!(
                "{} feature values for {} samples of {n_features} features",
                features.len(),
                labels.len()
            )));
        }
        if sample_shape.iter().product::<usize>() != n_features {
            return Err(Error::InvalidArgument(format!(
                "sample shape {sample_shape:?} does not hold {n_features} features"
            )));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= n_classes) {
            return Err(Error::InvalidArgument(format!(
                "label {bad} is not below {n_classes} classes"
            )));
        }
        Ok(Self {
            features,
            labels,
            n_features,
            n_classes,
            sample_shape,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let f = self.n_features;
        let mut features = Vec::with_capacity(indices.len() * f);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            if let (Some(row), Some(&l)) =
                (self.features.get(i * f..(i + 1) * f), self.labels.get(i))
            {
                features.extend_from_slice(row);
                labels.push(l);
            }
        }
        Self {
            features,
            labels,
            n_features: f,
            n_classes: self.n_classes,
            sample_shape: self.sample_shape.clone(),
        }
    }

    /// A seeded split into `(train, test)` with `test_fraction` of the samples in test.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < test_fraction < 1` leaves both sides
    /// non-empty.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let order = split_order(self.len(), test_fraction, seed)?;
        let (test, train) = order.split_at((self.len() as f64 * test_fraction).round() as usize);
        Ok((self.subset(train), self.subset(test)))
    }
}

/// A seeded permutation of `0..n`, checked so that `test_fraction` leaves both sides
/// non-empty.
pub(crate) fn split_order(n: usize, test_fraction: f64, seed: u64) -> Result<Vec<usize>> {
    let test = (n as f64 * test_fraction).round() as usize;
    if !(test_fraction > 0.0 && test_fraction < 1.0) || test == 0 || test >= n {
        return Err(Error::InvalidArgument(format!(
            "test fraction {test_fraction} of {n} samples leaves a side empty"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    SeededRng::new(seed).shuffle(&mut order);
    Ok(order)
}
