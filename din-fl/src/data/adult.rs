//! UCI Adult ("census income") from its CSV: 14 attributes, label `>50K`.
//!
//! Numeric columns are standardized and categorical columns one-hot encoded, with the
//! means, deviations and category lists taken from the **training split only**, so
//! nothing about the test split leaks into the features. `?` (missing) is a category
//! of its own; a category seen only in the test split encodes as all zeros.

use std::collections::BTreeSet;
use std::path::Path;

use super::{Dataset, split_order};
use crate::{Error, Result};

/// Column names of the CSV (the label `Salary` last).
pub const COLUMNS: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "Salary",
];
const NUMERIC: [usize; 6] = [0, 2, 4, 10, 11, 12];
const CATEGORICAL: [usize; 8] = [1, 3, 5, 6, 7, 8, 9, 13];

struct Row {
    numeric: [f64; 6],
    categories: [String; 8],
    label: u32,
}

fn parse(text: &str, path: &Path) -> Result<Vec<Row>> {
    let bad = |line: usize, reason: String| Error::Data {
        path: path.into(),
        reason: format!("line {line}: {reason}"),
    };
    let mut lines = text.lines().enumerate();
    let (_, header) = lines.next().ok_or_else(|| bad(1, "empty file".into()))?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    if names != COLUMNS {
        return Err(bad(1, format!("header {names:?} is not the Adult columns")));
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != COLUMNS.len() {
            return Err(bad(
                i + 1,
                format!("{} fields, expected {}", cells.len(), COLUMNS.len()),
            ));
        }
        let mut numeric = [0f64; 6];
        for (slot, &c) in numeric.iter_mut().zip(&NUMERIC) {
            let cell = cells.get(c).copied().unwrap_or_default();
            *slot = cell.parse().map_err(|_| {
                bad(
                    i + 1,
                    format!(
                        "{} = {cell:?} is not a number",
                        COLUMNS.get(c).unwrap_or(&"")
                    ),
                )
            })?;
        }
        let categories = CATEGORICAL.map(|c| cells.get(c).copied().unwrap_or_default().to_owned());
        let label = match cells
            .get(14)
            .copied()
            .unwrap_or_default()
            .trim_end_matches('.')
        {
            ">50K" => 1,
            "<=50K" => 0,
            other => {
                return Err(bad(
                    i + 1,
                    format!("label {other:?} is neither >50K nor <=50K"),
                ));
            }
        };
        rows.push(Row {
            numeric,
            categories,
            label,
        });
    }
    if rows.is_empty() {
        return Err(bad(2, "no data rows".into()));
    }
    Ok(rows)
}

/// Loads the CSV at `path` and splits it (seeded) into `(train, test)`, fitting the
/// encoding on the training rows only. 2 classes.
///
/// # Errors
/// [`Error::Io`]; [`Error::Data`] for a wrong header, a short row, a non-numeric value
/// or an unknown label; [`Error::InvalidArgument`] for a bad `test_fraction`.
pub fn load(path: impl AsRef<Path>, test_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    let rows = parse(&text, path)?;
    let order = split_order(rows.len(), test_fraction, seed)?;
    let n_test = (rows.len() as f64 * test_fraction).round() as usize;
    let (test_idx, train_idx) = order.split_at(n_test);

    // Fit on the training rows.
    let n = train_idx.len() as f64;
    let mut mean = [0f64; 6];
    let mut std = [0f64; 6];
    for &i in train_idx {
        for (m, x) in mean
            .iter_mut()
            .zip(rows.get(i).map(|r| r.numeric).unwrap_or_default())
        {
            *m += x / n;
        }
    }
    for &i in train_idx {
        for ((s, m), x) in std
            .iter_mut()
            .zip(&mean)
            .zip(rows.get(i).map(|r| r.numeric).unwrap_or_default())
        {
            *s += (x - m).powi(2) / n;
        }
    }
    let std = std.map(|v| if v > 0.0 { v.sqrt() } else { 1.0 });
    let vocab: Vec<Vec<String>> = (0..CATEGORICAL.len())
        .map(|c| {
            let set: BTreeSet<&str> = train_idx
                .iter()
                .filter_map(|&i| {
                    rows.get(i)
                        .and_then(|r| r.categories.get(c))
                        .map(String::as_str)
                })
                .collect();
            set.into_iter().map(str::to_owned).collect()
        })
        .collect();
    let width = NUMERIC.len() + vocab.iter().map(Vec::len).sum::<usize>();

    let encode = |idx: &[usize]| -> Result<Dataset> {
        let mut features = Vec::with_capacity(idx.len() * width);
        let mut labels = Vec::with_capacity(idx.len());
        for &i in idx {
            let Some(r) = rows.get(i) else { continue };
            for ((x, m), s) in r.numeric.iter().zip(&mean).zip(&std) {
                features.push(((x - m) / s) as f32);
            }
            for (cats, value) in vocab.iter().zip(&r.categories) {
                features.extend(cats.iter().map(|c| if c == value { 1.0 } else { 0.0 }));
            }
            labels.push(r.label);
        }
        Dataset::new(features, labels, width, 2, vec![width])
    };
    Ok((encode(train_idx)?, encode(test_idx)?))
}
