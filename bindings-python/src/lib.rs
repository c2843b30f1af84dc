//! `din._din`: the native module of the `din` Python package.
//!
//! Thin wrappers over din-core (CIDs, the local store, secure aggregation, median
//! scoring), din-fl (models, training, FedAvg) and din (whole tasks through the roles),
//! numpy in and numpy out. Heavy work
//! runs with the GIL released. Every Rust error becomes one of the exceptions of
//! [`errors`], all subclasses of `din.DinError`, carrying the Rust message.

mod encoding;
mod errors;
mod model;
mod roles;
mod secagg;
mod task;

use numpy::{PyArray1, PyArrayMethods as _, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use din_core::secagg::{FixedPoint, SecAggParams};
use din_core::{Digest32, Round, Store, SubgroupId, TaskId};

use errors::{InvalidInputError, core_err, fl_err};

/// The native module allocates with mimalloc (as polars does): Burn's CPU backend makes
/// fresh buffers for every tensor of every training step, and glibc's malloc returns the
/// larger ones to the kernel and faults them in again each time (one MLP epoch: 0.79 s
/// with glibc, 0.54 s with mimalloc; `examples/fl_bench.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Updates as owned rows: a 2-D float32 array (one row per client) or a list of 1-D
/// float32 arrays of equal length.
fn rows(updates: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<f32>>> {
    if let Ok(a) = updates.extract::<PyReadonlyArray2<'_, f32>>() {
        let view = a.as_array();
        return Ok(view.outer_iter().map(|r| r.to_vec()).collect());
    }
    if let Ok(list) = updates.cast::<PyList>() {
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let a = item.extract::<PyReadonlyArray1<'_, f32>>().map_err(|_| {
                InvalidInputError::new_err(format!(
                    "update {i} is not a 1-D float32 numpy array (convert with np.asarray(x, dtype=np.float32))"
                ))
            })?;
            out.push(a.as_array().to_vec());
        }
        return Ok(out);
    }
    let what = updates
        .getattr("dtype")
        .map(|d| {
            format!(
                "an array of dtype {d} and shape {:?}",
                updates.getattr("shape").ok()
            )
        })
        .unwrap_or_else(|_| updates.get_type().to_string());
    Err(InvalidInputError::new_err(format!(
        "updates must be a 2-D float32 array or a list of 1-D float32 arrays, not {what}"
    )))
}

fn weights_of(weights: &Bound<'_, PyAny>, n: usize) -> PyResult<Vec<f64>> {
    let w: Vec<f64> = if let Ok(a) = weights.extract::<PyReadonlyArray1<'_, f64>>() {
        a.as_array().to_vec()
    } else {
        weights.extract::<Vec<f64>>().map_err(|_| {
            InvalidInputError::new_err("weights must be a sequence or 1-D array of numbers")
        })?
    };
    if w.len() != n {
        return Err(InvalidInputError::new_err(format!(
            "{} weights for {n} updates",
            w.len()
        )));
    }
    Ok(w)
}

/// Features (samples x features, float32) and int64 labels, as numpy arrays.
type Samples<'py> = (Bound<'py, numpy::PyArray2<f32>>, Bound<'py, PyArray1<i64>>);

/// MNIST's 10,000-image test split as compiled into the package: `(x, y)` with `x`
/// float32 of shape (10000, 784) in [0, 1] and `y` int64 digit labels.
#[pyfunction]
fn load_mnist(py: Python<'_>) -> PyResult<Samples<'_>> {
    let d = py
        .detach(din_fl::data::mnist::embedded_test_split)
        .map_err(fl_err)?;
    let labels: Vec<i64> = d.labels.iter().map(|&l| i64::from(l)).collect();
    let x = PyArray1::from_vec(py, d.features).reshape([labels.len(), d.n_features])?;
    Ok((x, PyArray1::from_vec(py, labels)))
}

/// The CID of `data` exactly as `ipfs add --cid-version=1` computes it (raw leaves,
/// 256 KiB chunks, balanced DAG), base32.
#[pyfunction]
fn cid(py: Python<'_>, data: &[u8]) -> String {
    py.detach(|| din_core::content::cid_of(data).to_string())
}

/// Sample-weighted FedAvg of `updates` (2-D float32, one row per client, or a list of
/// 1-D float32 arrays) with `weights` (sample counts). Bit-exact and deterministic.
#[pyfunction]
fn fedavg<'py>(
    py: Python<'py>,
    updates: &Bound<'py, PyAny>,
    weights: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    // Zero-copy for a C-contiguous 2-D array: rows are slices of numpy's buffer.
    if let Ok(a) = updates.extract::<PyReadonlyArray2<'py, f32>>() {
        let view = a.as_array();
        let (n, d) = view.dim();
        let w = weights_of(weights, n)?;
        if let Some(flat) = view.as_slice() {
            let result = py.detach(|| {
                let slices: Vec<&[f32]> = if d == 0 {
                    vec![&[][..]; n]
                } else {
                    flat.chunks(d).collect()
                };
                din_fl::aggregate::fedavg(&slices, &w)
            });
            return result.map(|v| PyArray1::from_vec(py, v)).map_err(fl_err);
        }
    }
    let rows = rows(updates)?;
    let w = weights_of(weights, rows.len())?;
    let result = py.detach(|| {
        let slices: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        din_fl::aggregate::fedavg(&slices, &w)
    });
    result.map(|v| PyArray1::from_vec(py, v)).map_err(fl_err)
}

/// Runs the whole SecAgg+ protocol among `len(updates)` simulated clients in-process
/// (keys, Shamir shares, masking, dropout recovery, unmasking) and returns the
/// dequantized weighted mean of the surviving clients' updates.
///
/// `weights` are integer sample counts (1..=1000); `dropouts` are client indices that
/// vanish after sharing keys, before sending their masked update (their masks are then
/// removed with their neighbours' shares and their updates are not in the mean); `seed`
/// fixes the neighbour graph. Values are clipped to
/// [-8, 8] and quantized at 2^-12.
#[pyfunction]
#[pyo3(signature = (updates, weights, *, neighbours, threshold, dropouts = Vec::new(), seed = 0))]
fn simulate_secure_aggregation<'py>(
    py: Python<'py>,
    updates: &Bound<'py, PyAny>,
    weights: &Bound<'py, PyAny>,
    neighbours: u32,
    threshold: u32,
    dropouts: Vec<u32>,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let rows = rows(updates)?;
    let w = weights_of(weights, rows.len())?;
    let weights: Vec<u64> = w
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if x.fract() == 0.0 && (1.0..=1000.0).contains(&x) {
                Ok(x as u64)
            } else {
                Err(InvalidInputError::new_err(format!(
                    "weight {i} is {x}: secure aggregation needs whole sample counts in 1..=1000"
                )))
            }
        })
        .collect::<PyResult<_>>()?;
    if let Some((i, _)) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.iter().any(|x| !x.is_finite()))
    {
        return Err(InvalidInputError::new_err(format!(
            "update {i} contains NaN or infinity"
        )));
    }
    let d = rows.first().map_or(0, Vec::len);
    if let Some((i, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != d) {
        return Err(InvalidInputError::new_err(format!(
            "update {i} has {} values, update 0 has {d}",
            r.len()
        )));
    }
    let n =
        u32::try_from(rows.len()).map_err(|_| InvalidInputError::new_err("too many clients"))?;
    let mut graph_seed = [0u8; 32];
    graph_seed[..8].copy_from_slice(&seed.to_be_bytes());
    let params = SecAggParams {
        task: TaskId(0),
        round: Round(0),
        subgroup: SubgroupId(0),
        clients: n,
        neighbours,
        threshold,
        vector_len: u32::try_from(d).map_err(|_| InvalidInputError::new_err("update too long"))?,
        fixed_point: FixedPoint {
            clip: 8.0,
            scale_bits: 12,
            max_weight: 1000,
            max_clients: n.max(1),
        },
        graph_seed: Digest32(din_core::hash::sha256(&graph_seed)),
    };
    let result = py.detach(|| {
        let sum = din_core::secagg::simulate(&params, &rows, &weights, &dropouts, &[])?;
        sum.mean(&params.fixed_point)
    });
    let (mean, _) = result.map_err(core_err)?;
    Ok(PyArray1::from_vec(py, mean))
}

/// Participant scores and evaluator qualities, as numpy arrays.
type ScorePair<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// BlockFlow median scoring of an evaluators x participants float64 matrix of scores in
/// [0, 1]: returns `(participant_scores, evaluator_quality)`, i.e. m' = m / max m and
/// d' = d / max d.
#[pyfunction]
fn median_scores<'py>(py: Python<'py>, scores: &Bound<'py, PyAny>) -> PyResult<ScorePair<'py>> {
    let a = scores
        .extract::<PyReadonlyArray2<'py, f64>>()
        .map_err(|_| {
            InvalidInputError::new_err(
                "scores must be a 2-D float64 array (evaluators x participants)",
            )
        })?;
    let matrix: Vec<Vec<f64>> = a.as_array().outer_iter().map(|r| r.to_vec()).collect();
    let r = py
        .detach(|| din_core::scoring::median_scores(&matrix))
        .map_err(core_err)?;
    Ok((
        PyArray1::from_vec(py, r.participant),
        PyArray1::from_vec(py, r.evaluator),
    ))
}

/// A local content-addressed store (a folder): `put(data) -> cid`, `get(cid) -> bytes`,
/// verified against the CID on every read. Roles on one machine can share one.
///
/// The store is opened once and lives until the interpreter exits, so that role
/// objects can hold on to it.
#[pyclass(module = "din._din", frozen)]
struct LocalStore {
    inner: &'static din_core::FsStore,
}

impl LocalStore {
    /// The store, for roles that borrow it for their whole life.
    fn shared(&self) -> &'static (dyn Store + Send + Sync) {
        self.inner
    }
}

#[pymethods]
impl LocalStore {
    /// Opens (or creates) a store in the folder `path`.
    #[new]
    fn new(path: std::path::PathBuf) -> PyResult<Self> {
        Ok(Self {
            inner: Box::leak(Box::new(din_core::FsStore::open(&path).map_err(core_err)?)),
        })
    }

    /// Stores `data`; returns its CID.
    fn put(&self, py: Python<'_>, data: &[u8]) -> PyResult<String> {
        store_put(py, self.inner, data)
    }

    /// The bytes of `cid` (raises `StoreError` when missing or corrupt).
    fn get<'py>(&self, py: Python<'py>, cid: &str) -> PyResult<Bound<'py, PyBytes>> {
        store_get(py, self.inner, cid)
    }

    /// Whether the store holds all of `cid`.
    fn has(&self, py: Python<'_>, cid: &str) -> PyResult<bool> {
        store_has(py, self.inner, cid)
    }
}

/// `put` of the Python store classes: stores `data` without the GIL, returns its CID.
pub(crate) fn store_put(
    py: Python<'_>,
    store: &(dyn Store + Sync),
    data: &[u8],
) -> PyResult<String> {
    py.detach(|| store.put(data))
        .map(|c| c.to_string())
        .map_err(core_err)
}

/// `get` of the Python store classes: the bytes of `cid`, every block verified.
pub(crate) fn store_get<'py>(
    py: Python<'py>,
    store: &(dyn Store + Sync),
    cid: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let c = din_core::content::parse_cid(cid).map_err(core_err)?;
    let bytes = py.detach(|| store.get(&c)).map_err(core_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// `has` of the Python store classes: whether all of `cid` is there.
pub(crate) fn store_has(py: Python<'_>, store: &(dyn Store + Sync), cid: &str) -> PyResult<bool> {
    let c = din_core::content::parse_cid(cid).map_err(core_err)?;
    py.detach(|| store.has(&c)).map_err(core_err)
}

/// The native module (imported by `din/__init__.py`; use `import din`).
#[pymodule]
fn _din(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cid, m)?)?;
    m.add_function(wrap_pyfunction!(load_mnist, m)?)?;
    m.add_function(wrap_pyfunction!(fedavg, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_secure_aggregation, m)?)?;
    m.add_function(wrap_pyfunction!(median_scores, m)?)?;
    m.add_function(wrap_pyfunction!(encoding::encode_json, m)?)?;
    m.add_function(wrap_pyfunction!(encoding::decode_json, m)?)?;
    m.add_class::<LocalStore>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<secagg::PySecAggParams>()?;
    m.add_class::<secagg::SecAggClient>()?;
    m.add_function(wrap_pyfunction!(secagg::secagg_unmask, m)?)?;
    m.add_function(wrap_pyfunction!(task::run_task_json, m)?)?;
    m.add_class::<roles::Chain>()?;
    m.add_class::<roles::IpfsStore>()?;
    m.add_class::<roles::Trainer>()?;
    m.add_class::<roles::Owner>()?;
    m.add_class::<roles::Participant>()?;
    m.add_class::<roles::Evaluator>()?;
    errors::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
