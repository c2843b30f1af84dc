//! Data sets, loaders and partitioners.
//!
//! A [`Dataset`] is a dense `f32` feature matrix (row-major) with class labels. Loaders
//! read MNIST's idx files ([`mnist`]) and the UCI Adult CSV ([`adult`]) from
//! the repository's `data/` folder or any path; malformed or truncated files are typed errors.
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

/// Leading bytes of [`Dataset::to_bytes`]'s format.
pub const DATASET_MAGIC: &[u8; 4] = b"DIND";
/// Version of [`Dataset::to_bytes`]'s format.
pub const DATASET_FORMAT_VERSION: u8 = 1;

impl Dataset {
    /// The data set as bytes: `"DIND"`, version, samples, features, classes (u64 BE),
    /// the sample shape (a u32-counted list of u64), then the features (f32 LE,
    /// row-major) and the labels (u32 LE). This is what a Model Owner seals as its test
    /// set.
    pub fn to_bytes(&self) -> Vec<u8> {
        use din_core::encoding::Writer;
        let mut w = Writer::with_capacity(64 + 4 * (self.features.len() + self.labels.len()));
        w.raw(DATASET_MAGIC);
        w.u8(DATASET_FORMAT_VERSION);
        w.u64(self.labels.len() as u64);
        w.u64(self.n_features as u64);
        w.u64(self.n_classes as u64);
        w.list(&self.sample_shape, |w, d| w.u64(*d as u64));
        let mut out = w.into_bytes();
        for v in &self.features {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for l in &self.labels {
            out.extend_from_slice(&l.to_le_bytes());
        }
        out
    }

    /// Reads [`Dataset::to_bytes`]'s format, every size checked before it is used.
    ///
    /// # Errors
    /// [`Error::Core`] for truncated or trailing bytes; [`Error::InvalidArgument`] for a
    /// bad magic or version, sizes that overflow or disagree, or labels out of range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        use din_core::encoding::Reader;
        let mut r = Reader::new(bytes);
        if r.take(4, "data set magic")? != DATASET_MAGIC {
            return Err(Error::InvalidArgument(
                "not a din data set (bad magic)".into(),
            ));
        }
        let version = r.u8("data set format version")?;
        if version != DATASET_FORMAT_VERSION {
            return Err(Error::InvalidArgument(format!(
                "data set format version {version}, this build reads {DATASET_FORMAT_VERSION}"
            )));
        }
        let size = |v: u64| {
            usize::try_from(v)
                .map_err(|_| Error::InvalidArgument(format!("size {v} does not fit in memory")))
        };
        let n = size(r.u64("samples")?)?;
        let n_features = size(r.u64("features")?)?;
        let n_classes = size(r.u64("classes")?)?;
        let dims = r.u32("sample shape length")?;
        if dims > 8 {
            return Err(Error::InvalidArgument(format!(
                "a sample of {dims} dimensions"
            )));
        }
        let mut sample_shape = Vec::with_capacity(dims as usize);
        for _ in 0..dims {
            sample_shape.push(size(r.u64("sample shape")?)?);
        }
        let values = n
            .checked_mul(n_features)
            .and_then(|v| v.checked_mul(4))
            .ok_or_else(|| Error::InvalidArgument("feature count overflows".into()))?;
        let features = r
            .take(values, "features")?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        let labels = r
            .take(n.saturating_mul(4), "labels")?
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        r.finish("data set")?;
        Self::new(features, labels, n_features, n_classes, sample_shape)
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
