//! MNIST in its idx format, optionally gzip-compressed (`t10k-images-idx3-ubyte.gz`).
//! Pixels become `f32` in `[0, 1]`; samples have shape `[1, 28, 28]`.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::Dataset;
use crate::{Error, Result};

/// File name of the 10,000-image test split, as the repository carries it in
/// `data/mnist/` (the only split din ships; split it for training and testing).
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte.gz";
/// Labels of [`TEST_IMAGES`].
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte.gz";

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    gunzip(raw, path)
}

/// Decompresses `raw` when it starts with gzip's magic bytes; returns it as it is otherwise.
fn gunzip(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::Data {
                path: path.into(),
                reason: format!("bad gzip stream: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an idx file: returns its dimensions and the payload.
fn parse_idx<'a>(bytes: &'a [u8], path: &Path, rank: usize) -> Result<(Vec<usize>, &'a [u8])> {
    let bad = |reason: String| Error::Data {
        path: path.into(),
        reason,
    };
    let header = bytes
        .get(..4)
        .ok_or_else(|| bad("shorter than an idx header".into()))?;
    if header != [0, 0, 0x08, rank as u8] {
        return Err(bad(format!(
            "magic {header:02x?} is not an idx file of unsigned bytes with {rank} dimensions"
        )));
    }
    let dims_bytes = bytes
        .get(4..4 + 4 * rank)
        .ok_or_else(|| bad("truncated idx header".into()))?;
    let dims: Vec<usize> = dims_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap_or_default()) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad("dimensions overflow".into()))?;
    let payload = bytes.get(4 + 4 * rank..).unwrap_or_default();
    if payload.len() != expected {
        return Err(bad(format!(
            "{} payload bytes for dimensions {dims:?} ({expected} expected)",
            payload.len()
        )));
    }
    Ok((dims, payload))
}

/// Loads MNIST images and labels.
///
/// # Errors
/// [`Error::Io`] for unreadable files; [`Error::Data`] for a bad gzip stream, a wrong
/// magic number, truncation, a count mismatch or a label above 9.
pub fn load(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
    let (images, labels) = (images.as_ref(), labels.as_ref());
    parse(&read_file(images)?, images, &read_file(labels)?, labels)
}

/// Parses decompressed idx images and labels; `images` and `labels` name their source
/// in errors.
fn parse(image_bytes: &[u8], images: &Path, label_bytes: &[u8], labels: &Path) -> Result<Dataset> {
    let (dims, pixels) = parse_idx(image_bytes, images, 3)?;
    let (ldims, label_payload) = parse_idx(label_bytes, labels, 1)?;
    let (n, h, w) = match dims.as_slice() {
        [n, h, w] => (*n, *h, *w),
        _ => unreachable_dims(images)?,
    };
    if ldims.first() != Some(&n) {
        return Err(Error::Data {
            path: labels.into(),
            reason: format!("{ldims:?} labels for {n} images"),
        });
    }
    if let Some(bad) = label_payload.iter().find(|&&l| l > 9) {
        return Err(Error::Data {
            path: labels.into(),
            reason: format!("label {bad} is not a digit"),
        });
    }
    let features = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let labels = label_payload.iter().map(|&l| u32::from(l)).collect();
    Dataset::new(features, labels, h * w, 10, vec![1, h, w])
}

fn unreachable_dims<T>(path: &Path) -> Result<T> {
    Err(Error::Data {
        path: path.into(),
        reason: "an image file needs three dimensions".into(),
    })
}

/// Loads the test split from a folder holding [`TEST_IMAGES`] and [`TEST_LABELS`].
///
/// # Errors
/// As [`load`].
pub fn load_test_split(dir: impl AsRef<Path>) -> Result<Dataset> {
    let dir = dir.as_ref();
    load(dir.join(TEST_IMAGES), dir.join(TEST_LABELS))
}

/// The test split compiled into the library (`data/mnist/` of the repository, 1.6 MB of
/// gzip), so a task or an example runs with no data files at all: the quickstart's
/// default. Decoding takes about 50 ms.
///
/// # Errors
/// [`Error::Data`] only if the embedded bytes were damaged at build time (the test suite
/// checks they decode to 10,000 labelled images).
#[cfg(feature = "embedded-mnist")]
pub fn embedded_test_split() -> Result<Dataset> {
    const IMAGES: &[u8] = include_bytes!("../../../data/mnist/t10k-images-idx3-ubyte.gz");
    const LABELS: &[u8] = include_bytes!("../../../data/mnist/t10k-labels-idx1-ubyte.gz");
    let (images, labels) = (
        Path::new("embedded:mnist/t10k-images-idx3-ubyte.gz"),
        Path::new("embedded:mnist/t10k-labels-idx1-ubyte.gz"),
    );
    parse(
        &gunzip(IMAGES.to_vec(), images)?,
        images,
        &gunzip(LABELS.to_vec(), labels)?,
        labels,
    )
}
