//! A whole DIN task from Python: `din::local::run_task` (the quickstart's engine) with
//! the GIL released, its summary returned as JSON text (parsed by `din.run_task`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{InvalidInputError, din_err};

/// Runs a whole task on the embedded chain (see `din.run_task`); returns its summary as
/// JSON. `progress`, if given, is called with a dict after every role action.
#[pyfunction]
#[pyo3(signature = (*, data_dir=None, participants, subgroup_size, evaluators_per_subgroup,
    rounds, model, local_epochs, seed, drop, lying_evaluators, garbage_updates,
    progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_task_json(
    py: Python<'_>,
    data_dir: Option<PathBuf>,
    participants: usize,
    subgroup_size: u16,
    evaluators_per_subgroup: u8,
    rounds: u16,
    model: String,
    local_epochs: usize,
    seed: u64,
    drop: usize,
    lying_evaluators: usize,
    garbage_updates: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    if rounds == 0 || local_epochs == 0 {
        return Err(InvalidInputError::new_err(
            "rounds and local_epochs must be at least 1",
        ));
    }
    let opts = din::local::TaskOptions {
        data_dir,
        participants,
        subgroup_size,
        evaluators_per_subgroup,
        rounds,
        model,
        local_epochs,
        seed,
        drop,
        lying_evaluators,
        garbage_updates,
        ..din::local::TaskOptions::default()
    };
    let summary = py
        .detach(|| {
            din::local::run_task(&opts, |p| {
                let Some(cb) = &progress else { return };
                Python::attach(|py| {
                    let d = PyDict::new(py);
                    let _ = d.set_item("round", p.round);
                    let _ = d.set_item("rounds", p.rounds);
                    let _ = d.set_item("trained_steps", p.trained_steps);
                    let _ = d.set_item("total_steps", p.total_steps);
                    let _ = d.set_item("last", &p.last);
                    if let Err(e) = cb.call1(py, (d,)) {
                        // A failing progress callback must not stop the task.
                        e.print(py);
                    }
                });
            })
        })
        .map_err(din_err)?;
    serde_json::to_string(&summary).map_err(|e| InvalidInputError::new_err(e.to_string()))
}
