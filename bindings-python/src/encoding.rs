//! Canonical encoding (din-core's versioned binary format) from Python, through the
//! types' JSON (serde) form.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use din_core::Message;
use din_core::assignment::SubgroupAssignment;
use din_core::types::{ModelRef, ScoreCommitment, ScoreReveal, TaskConfig, UpdateRecord};

use crate::errors::{InvalidInputError, core_err};

/// The message kinds `encode`/`decode` accept.
pub(crate) const KINDS: &[&str] = &[
    "task_config",
    "model_ref",
    "update_record",
    "subgroup_assignment",
    "score_commitment",
    "score_reveal",
];

fn from_json<T: serde::de::DeserializeOwned>(kind: &str, json: &str) -> PyResult<T> {
    serde_json::from_str(json)
        .map_err(|e| InvalidInputError::new_err(format!("not a valid {kind}: {e}")))
}

fn enc<T: Message + serde::de::DeserializeOwned>(kind: &str, json: &str) -> PyResult<Vec<u8>> {
    Ok(from_json::<T>(kind, json)?.to_canonical_bytes())
}

fn dec<T: Message + serde::Serialize>(data: &[u8]) -> PyResult<String> {
    let v = T::from_canonical_bytes(data).map_err(core_err)?;
    serde_json::to_string(&v).map_err(|e| InvalidInputError::new_err(e.to_string()))
}

fn unknown(kind: &str) -> PyErr {
    InvalidInputError::new_err(format!("unknown kind {kind:?}; one of {KINDS:?}"))
}

/// Canonical bytes of `value_json` (the JSON form of a `kind` value).
#[pyfunction]
pub(crate) fn encode_json<'py>(
    py: Python<'py>,
    kind: &str,
    value_json: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = match kind {
        "task_config" => {
            let c: TaskConfig = from_json(kind, value_json)?;
            c.validate().map_err(core_err)?;
            c.to_canonical_bytes()
        }
        "model_ref" => enc::<ModelRef>(kind, value_json)?,
        "update_record" => enc::<UpdateRecord>(kind, value_json)?,
        "subgroup_assignment" => enc::<SubgroupAssignment>(kind, value_json)?,
        "score_commitment" => enc::<ScoreCommitment>(kind, value_json)?,
        "score_reveal" => enc::<ScoreReveal>(kind, value_json)?,
        other => return Err(unknown(other)),
    };
    Ok(PyBytes::new(py, &bytes))
}

/// The JSON form of canonical bytes of a `kind` value (strict: truncated, trailing or
/// wrong-type bytes raise `EncodingError`).
#[pyfunction]
pub(crate) fn decode_json(kind: &str, data: &[u8]) -> PyResult<String> {
    match kind {
        "task_config" => dec::<TaskConfig>(data),
        "model_ref" => dec::<ModelRef>(data),
        "update_record" => dec::<UpdateRecord>(data),
        "subgroup_assignment" => dec::<SubgroupAssignment>(data),
        "score_commitment" => dec::<ScoreCommitment>(data),
        "score_reveal" => dec::<ScoreReveal>(data),
        other => Err(unknown(other)),
    }
}
