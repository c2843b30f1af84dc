//! Secure aggregation for real deployments: one `SecAggClient` per participant and
//! `secagg_unmask` for evaluators, exchanging din-core's canonical message bytes
//! (the same bytes that go to storage and are referenced on-chain by CID).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use din_core::Message;
use din_core::secagg::{
    AdvertiseKeys, FixedPoint, MaskedInput, Participant, SecAggParams, ShareKeys, UnmaskShares,
};
use din_core::{Digest32, Round, SubgroupId, TaskId};

use crate::errors::{InvalidInputError, SecAggError, core_err};

/// The parameters of one subgroup's secure aggregation (shared by all its clients and
/// evaluators).
#[pyclass(module = "din._din", name = "SecAggParams", frozen)]
#[derive(Clone)]
pub(crate) struct PySecAggParams {
    pub(crate) inner: SecAggParams,
}

#[pymethods]
impl PySecAggParams {
    /// `clients` in the subgroup, `neighbours` per client, Shamir `threshold`, updates of
    /// `vector_len` values clipped to `[-clip, clip]` at `2^-scale_bits`, weights up to
    /// `max_weight`; `graph_seed` (32 bytes) fixes the neighbour graph (on-chain: the
    /// round seed).
    #[new]
    #[pyo3(signature = (clients, neighbours, threshold, vector_len, *, graph_seed = None, task = 0, round = 0, subgroup = 0, clip = 8.0, scale_bits = 12, max_weight = 1000))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        clients: u32,
        neighbours: u32,
        threshold: u32,
        vector_len: u32,
        graph_seed: Option<&[u8]>,
        task: u64,
        round: u32,
        subgroup: u32,
        clip: f64,
        scale_bits: u32,
        max_weight: u64,
    ) -> PyResult<Self> {
        let seed = match graph_seed {
            None => [0u8; 32],
            Some(b) => <[u8; 32]>::try_from(b).map_err(|_| {
                InvalidInputError::new_err(format!("graph_seed must be 32 bytes, not {}", b.len()))
            })?,
        };
        let inner = SecAggParams {
            task: TaskId(task),
            round: Round(round),
            subgroup: SubgroupId(subgroup),
            clients,
            neighbours,
            threshold,
            vector_len,
            fixed_point: FixedPoint {
                clip,
                scale_bits,
                max_weight,
                max_clients: clients.max(1),
            },
            graph_seed: Digest32(seed),
        };
        inner.validate().map_err(core_err)?;
        Ok(Self { inner })
    }

    /// Neighbours of each client in the SecAgg+ graph.
    fn graph(&self) -> PyResult<Vec<Vec<u32>>> {
        self.inner.graph().map_err(core_err)
    }

    fn __repr__(&self) -> String {
        let p = &self.inner;
        format!(
            "SecAggParams(clients={}, neighbours={}, threshold={}, vector_len={})",
            p.clients, p.neighbours, p.threshold, p.vector_len
        )
    }
}

fn decode_all<T: Message>(what: &str, msgs: Vec<Vec<u8>>) -> PyResult<Vec<T>> {
    msgs.iter()
        .enumerate()
        .map(|(i, b)| {
            T::from_canonical_bytes(b).map_err(|e| {
                let err = core_err(e);
                InvalidInputError::new_err(format!("{what} message {i}: {err}"))
            })
        })
        .collect()
}

/// One participant's side of secure aggregation (its secrets never leave this object).
///
/// `advertise()` → publish; `share_keys(all adverts)` → publish; `mask(update, weight,
/// share messages)` → publish the masked input; `unmask(survivors)` → publish.
#[pyclass(module = "din._din")]
pub(crate) struct SecAggClient {
    inner: Participant,
    advert: Vec<u8>,
}

#[pymethods]
impl SecAggClient {
    /// Client `index` of the subgroup, with fresh keys.
    #[new]
    fn new(params: &PySecAggParams, index: u32) -> PyResult<Self> {
        let (inner, advert) = Participant::new(params.inner.clone(), index).map_err(core_err)?;
        Ok(Self {
            inner,
            advert: advert.to_canonical_bytes(),
        })
    }

    /// The client's public keys message (canonical bytes).
    fn advertise<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.advert)
    }

    /// Encrypted Shamir shares for the neighbours, given every client's advert.
    fn share_keys<'py>(
        &mut self,
        py: Python<'py>,
        adverts: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let adverts: Vec<AdvertiseKeys> = decode_all("advertise-keys", adverts)?;
        let msg = self.inner.share_keys(&adverts).map_err(core_err)?;
        Ok(PyBytes::new(py, &msg.to_canonical_bytes()))
    }

    /// The masked update (float32 vector, integer weight), given the share messages of
    /// all clients. Runs without the GIL.
    fn mask<'py>(
        &mut self,
        py: Python<'py>,
        update: PyReadonlyArray1<'py, f32>,
        weight: u64,
        shares: Vec<Vec<u8>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let shares: Vec<ShareKeys> = decode_all("share-keys", shares)?;
        let view = update.as_array();
        let owned;
        let slice = match view.as_slice() {
            Some(s) => s,
            None => {
                owned = view.to_vec();
                &owned
            }
        };
        let inner = &mut self.inner;
        let msg = py
            .detach(|| {
                inner
                    .mask(slice, weight, &shares)
                    .map(|m| m.to_canonical_bytes())
            })
            .map_err(core_err)?;
        Ok(PyBytes::new(py, &msg))
    }

    /// The unmasking shares for the clients in `survivors` (those whose masked input
    /// arrived).
    fn unmask<'py>(
        &mut self,
        py: Python<'py>,
        survivors: Vec<u32>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let msg = self.inner.unmask(&survivors).map_err(core_err)?;
        Ok(PyBytes::new(py, &msg.to_canonical_bytes()))
    }

    /// The client's index.
    #[getter]
    fn index(&self) -> u32 {
        self.inner.index()
    }
}

/// Evaluator side: the subgroup's weighted mean from the public messages, its total
/// weight, and the SHA-256 digest honest evaluators agree on. Deterministic.
#[pyfunction]
pub(crate) fn secagg_unmask<'py>(
    py: Python<'py>,
    params: &PySecAggParams,
    adverts: Vec<Vec<u8>>,
    shares: Vec<Vec<u8>>,
    masked: Vec<Vec<u8>>,
    reveals: Vec<Vec<u8>>,
) -> PyResult<(Bound<'py, PyArray1<f32>>, u64, Bound<'py, PyBytes>)> {
    let adverts: Vec<AdvertiseKeys> = decode_all("advertise-keys", adverts)?;
    let shares: Vec<ShareKeys> = decode_all("share-keys", shares)?;
    let masked: Vec<MaskedInput> = decode_all("masked-input", masked)?;
    let reveals: Vec<UnmaskShares> = decode_all("unmask", reveals)?;
    let p = &params.inner;
    let (mean, weight, digest) = py
        .detach(|| {
            let sum = din_core::secagg::unmask(p, &adverts, &shares, &masked, &reveals)?;
            let (mean, weight) = sum.mean(&p.fixed_point)?;
            Ok::<_, din_core::Error>((mean, weight, sum.digest()))
        })
        .map_err(|e| match e {
            din_core::Error::TooFewSurvivors { .. } | din_core::Error::NotEnoughShares { .. } => {
                SecAggError::new_err(e.to_string())
            }
            other => core_err(other),
        })?;
    Ok((
        PyArray1::from_vec(py, mean),
        weight,
        PyBytes::new(py, &digest),
    ))
}
