//! The protocol's three roles from Python, against a real chain (JSON-RPC) and a real
//! store (an IPFS node's RPC API, or a local content-addressed folder): `din.Chain`,
//! `din.IpfsStore`, `din.Owner`, `din.Participant`, `din.Evaluator`, and the pluggable
//! parts (`din.Trainer`, or any Python callable, for local training; a `din.Model` or a
//! callable for scoring).
//!
//! Each role object wraps the Rust step machine of `din::roles` unchanged: `step()` reads
//! where the task stands from the chain, does the next thing due or says what it waits
//! for, and runs with the GIL released (a Python trainer or scorer takes the GIL back
//! only for its own call). Its state directory makes it restartable: a new object on
//! the same directory resumes where a killed process stopped.
//!
//! A role borrows its chain connection and its store for its whole life; the Python
//! objects `Chain` and `IpfsStore` therefore own connections that live until the
//! interpreter exits (a few kilobytes each; make one per node, not one per call).

use std::sync::Mutex;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use din::chain::alloy::primitives::{Address, U256};
use din::chain::alloy::signers::local::PrivateKeySigner;
use din::chain::client::TaskParams;
use din::chain::{Chain as _, DeployConfig, Deployment, DevChain as _, Din, RpcChain};
use din::core::Store;
use din::core::scoring::SCORE_ONE;
use din::core::secagg::FixedPoint;
use din::fl::data::Dataset;
use din::fl::train::{OptimizerKind, TrainConfig};
use din::roles::evaluator::EvaluatorRole;
use din::roles::learning::{AccuracyScorer, ContributionScorer, FlTrainer, LocalTrainer};
use din::roles::owner::{OwnerConfig, OwnerRole};
use din::roles::participant::ParticipantRole;
use din::roles::{StateDir, Step};

use crate::errors::{InvalidInputError, din_err};
use crate::model::{Model, dataset};
use crate::{LocalStore, store_get, store_has, store_put};

/// A store a role can borrow for its whole life.
type SharedStore = dyn Store + Send + Sync;

fn address(s: &str) -> PyResult<Address> {
    s.parse()
        .map_err(|e| InvalidInputError::new_err(format!("bad address {s:?}: {e}")))
}

fn chain_err(e: din::chain::Error) -> PyErr {
    din_err(din::Error::Chain(e))
}

/// A connection to an EVM node over JSON-RPC, with the signing keys of the accounts
/// this process acts for and, once deployed or given, the DIN contracts' addresses.
///
/// ``Chain(url)`` connects (``ChainError`` if the node does not answer);
/// ``add_signer(key)`` registers a private key and returns its address. The
/// development controls (``set_balance``, ``advance_time``, ``mine``) work on anvil and
/// other dev nodes, not on public chains.
#[pyclass(module = "din._din", frozen)]
pub(crate) struct Chain {
    inner: &'static RpcChain,
    deployment: Mutex<Option<Deployment>>,
}

impl Chain {
    fn din(&self) -> PyResult<Din<'static, RpcChain>> {
        let d = self
            .deployment
            .lock()
            .ok()
            .and_then(|d| *d)
            .ok_or_else(|| {
                InvalidInputError::new_err(
                    "this Chain has no DIN deployment: call deploy(...) or use_deployment(...) first",
                )
            })?;
        Ok(Din::new(self.inner, d))
    }
}

fn deployment_dict<'py>(py: Python<'py>, d: &Deployment) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("token", d.token.to_string())?;
    out.set_item("registry", d.registry.to_string())?;
    out.set_item("manager", d.manager.to_string())?;
    out.set_item("block", d.block)?;
    Ok(out)
}

#[pymethods]
impl Chain {
    /// Connects to the node at `url` (e.g. ``"http://127.0.0.1:8545"``); `deployment`
    /// is a dict as ``deploy`` returns it, for contracts deployed earlier.
    #[new]
    #[pyo3(signature = (url, *, deployment = None))]
    fn new(py: Python<'_>, url: &str, deployment: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let url = url.to_string();
        let chain = py.detach(|| RpcChain::connect(&url)).map_err(chain_err)?;
        let this = Self {
            inner: Box::leak(Box::new(chain)),
            deployment: Mutex::new(None),
        };
        if let Some(d) = deployment {
            this.use_deployment(d)?;
        }
        Ok(this)
    }

    /// Registers the private key `key` (32 bytes as hex, ``0x`` optional) and returns
    /// its address; transactions from that address are signed with it.
    fn add_signer(&self, key: &str) -> PyResult<String> {
        let signer: PrivateKeySigner = key
            .trim_start_matches("0x")
            .parse()
            .map_err(|_| InvalidInputError::new_err("a private key is 32 bytes of hex"))?;
        Ok(self.inner.add_signer(signer).to_string())
    }

    /// The chain's clock: the latest block's timestamp (seconds).
    fn now(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| self.inner.block())
            .map(|b| b.timestamp)
            .map_err(chain_err)
    }

    /// The chain id.
    fn chain_id(&self, py: Python<'_>) -> PyResult<u64> {
        py.detach(|| self.inner.chain_id()).map_err(chain_err)
    }

    /// The native-coin balance of `account`, in wei.
    fn balance(&self, py: Python<'_>, account: &str) -> PyResult<u128> {
        let a = address(account)?;
        let b = py.detach(|| self.inner.balance(a)).map_err(chain_err)?;
        u128::try_from(b).map_err(|_| InvalidInputError::new_err("balance exceeds 2^128"))
    }

    /// Sets `account`'s native balance to `wei` (dev nodes only).
    fn set_balance(&self, py: Python<'_>, account: &str, wei: u128) -> PyResult<()> {
        let a = address(account)?;
        py.detach(|| self.inner.set_balance(a, U256::from(wei)))
            .map_err(chain_err)
    }

    /// Moves the chain's clock `seconds` forward and mines a block (dev nodes only).
    fn advance_time(&self, py: Python<'_>, seconds: u64) -> PyResult<()> {
        py.detach(|| self.inner.advance_time(seconds))
            .map_err(chain_err)
    }

    /// Mines `blocks` empty blocks (dev nodes only).
    #[pyo3(signature = (blocks = 1))]
    fn mine(&self, py: Python<'_>, blocks: u64) -> PyResult<()> {
        py.detach(|| self.inner.mine(blocks)).map_err(chain_err)
    }

    /// Deploys the DIN token, evaluator registry and task manager from `deployer`
    /// (a registered signer) with development settings (10^9 DIN minted to the
    /// deployer, 100 DIN minimum stake, 50 DIN slashing penalty to `treasury`), uses
    /// them from now on and returns their addresses as a dict.
    #[pyo3(signature = (deployer, *, treasury = "0x7777777777777777777777777777777777777777"))]
    fn deploy<'py>(
        &self,
        py: Python<'py>,
        deployer: &str,
        treasury: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let from = address(deployer)?;
        let cfg = DeployConfig::dev(address(treasury)?);
        let (d, _) = py
            .detach(|| din::chain::deploy(self.inner, from, &cfg))
            .map_err(chain_err)?;
        if let Ok(mut slot) = self.deployment.lock() {
            *slot = Some(d);
        }
        deployment_dict(py, &d)
    }

    /// Uses the contracts of `deployment` (a dict with ``token``, ``registry``,
    /// ``manager`` addresses and the deployment ``block``).
    fn use_deployment(&self, deployment: &Bound<'_, PyDict>) -> PyResult<()> {
        let get = |k: &str| -> PyResult<Bound<'_, PyAny>> {
            deployment
                .get_item(k)?
                .ok_or_else(|| InvalidInputError::new_err(format!("the deployment has no {k:?}")))
        };
        let d = Deployment {
            token: address(&get("token")?.extract::<String>()?)?,
            registry: address(&get("registry")?.extract::<String>()?)?,
            manager: address(&get("manager")?.extract::<String>()?)?,
            block: get("block")?.extract()?,
        };
        if let Ok(mut slot) = self.deployment.lock() {
            *slot = Some(d);
        }
        Ok(())
    }

    /// The contracts in use, as a dict (``None`` before ``deploy``/``use_deployment``).
    #[getter]
    fn deployment<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let d = self.deployment.lock().ok().and_then(|d| *d);
        d.map(|d| deployment_dict(py, &d)).transpose()
    }

    /// Sends `amount` DIN wei from `sender` (a registered signer) to `to`.
    fn transfer(&self, py: Python<'_>, sender: &str, to: &str, amount: u128) -> PyResult<()> {
        let (from, to) = (address(sender)?, address(to)?);
        let din = self.din()?;
        py.detach(|| din.transfer(from, to, U256::from(amount)))
            .map(|_| ())
            .map_err(chain_err)
    }

    /// `account`'s DIN token balance, in wei.
    fn token_balance(&self, py: Python<'_>, account: &str) -> PyResult<u128> {
        let a = address(account)?;
        let din = self.din()?;
        let b = py.detach(|| din.token_balance(a)).map_err(chain_err)?;
        u128::try_from(b).map_err(|_| InvalidInputError::new_err("balance exceeds 2^128"))
    }

    /// The CID of `task`'s global model after `round` (round 0: the genesis model),
    /// or ``None`` while it is not published.
    fn model_cid(&self, py: Python<'_>, task: u64, round: u16) -> PyResult<Option<String>> {
        let din = self.din()?;
        py.detach(|| din.model(task, round))
            .map(|c| c.map(|c| c.to_string()))
            .map_err(chain_err)
    }

    fn __repr__(&self) -> String {
        format!("Chain({:?})", self.inner)
    }
}

/// An IPFS node reached through its RPC API (Kubo's ``/api/v0``, e.g.
/// ``"http://127.0.0.1:5001"``): ``put(data) -> cid``, ``get(cid) -> bytes``
/// (verified against the CID), ``has(cid)``. CIDs are the same as ``din.cid``'s.
#[pyclass(module = "din._din", frozen)]
pub(crate) struct IpfsStore {
    inner: &'static din::store::IpfsStore,
}

#[pymethods]
impl IpfsStore {
    /// A client of the node whose RPC API is at `api`.
    #[new]
    fn new(api: &str) -> Self {
        Self {
            inner: Box::leak(Box::new(din::store::IpfsStore::new(api))),
        }
    }

    /// Stores `data` on the node; returns its CID.
    fn put(&self, py: Python<'_>, data: &[u8]) -> PyResult<String> {
        store_put(py, self.inner, data)
    }

    /// The bytes of `cid`, every block verified.
    fn get<'py>(&self, py: Python<'py>, cid: &str) -> PyResult<Bound<'py, PyBytes>> {
        store_get(py, self.inner, cid)
    }

    /// Whether the node has all of `cid`.
    fn has(&self, py: Python<'_>, cid: &str) -> PyResult<bool> {
        store_has(py, self.inner, cid)
    }
}

/// The store a role uses: a `LocalStore` (a folder every role of this machine shares)
/// or an `IpfsStore`.
fn store_of(store: &Bound<'_, PyAny>) -> PyResult<&'static SharedStore> {
    if let Ok(s) = store.cast::<IpfsStore>() {
        return Ok(s.get().inner);
    }
    if let Ok(s) = store.cast::<LocalStore>() {
        return Ok(s.get().shared());
    }
    Err(InvalidInputError::new_err(format!(
        "store must be a din.LocalStore or a din.IpfsStore, not {}",
        store.get_type()
    )))
}

/// A step's outcome as a dict: ``{"status": "acted", "what": ...}``,
/// ``{"status": "waiting", "reason": ..., "until": chain time or None}`` or
/// ``{"status": "done"}``.
fn step_dict(py: Python<'_>, step: Step) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    match step {
        Step::Acted(what) => {
            d.set_item("status", "acted")?;
            d.set_item("what", what)?;
        }
        Step::Waiting { reason, until } => {
            d.set_item("status", "waiting")?;
            d.set_item("reason", reason)?;
            d.set_item("until", until)?;
        }
        Step::Done => d.set_item("status", "done")?,
    }
    Ok(d)
}

/// Local training done by a Python callable `f(round, global_params) -> (params,
/// weight)`: float32 vectors of the model's length and the update's sample count.
struct PyTrainer(Py<PyAny>);

impl LocalTrainer for PyTrainer {
    fn train(&mut self, round: u16, global: &[f32]) -> din::Result<(Vec<f32>, u64)> {
        let fail = |reason: String| din::Error::Role {
            role: "participant",
            reason: format!("the trainer failed: {reason}"),
        };
        Python::attach(|py| {
            let out = self
                .0
                .call1(py, (round, PyArray1::from_slice(py, global)))
                .map_err(|e| fail(e.to_string()))?;
            let (params, weight): (PyReadonlyArray1<'_, f32>, u64) =
                out.extract(py).map_err(|_| {
                    fail("it must return (a 1-D float32 array, a positive int weight)".into())
                })?;
            if params.len() != global.len() {
                return Err(fail(format!(
                    "it returned {} parameters, the model has {}",
                    params.len(),
                    global.len()
                )));
            }
            Ok((params.as_array().iter().copied().collect(), weight))
        })
    }
}

/// Scoring done by a Python callable `f(x, y, global_params, params) -> float` in
/// [0, 1] (the test set opened from the chain as numpy arrays).
struct PyScorer(Py<PyAny>);

impl ContributionScorer for PyScorer {
    fn score(&mut self, test_set: &[u8], global: &[f32], model: &[f32]) -> din::Result<u32> {
        let test = Dataset::from_bytes(test_set)?;
        let fail = |reason: String| din::Error::Role {
            role: "evaluator",
            reason: format!("the scorer failed: {reason}"),
        };
        Python::attach(|py| {
            let x = PyArray1::from_slice(py, &test.features)
                .reshape([test.len(), test.n_features])
                .map_err(|e| fail(e.to_string()))?;
            let labels: Vec<i64> = test.labels.iter().map(|&l| i64::from(l)).collect();
            let y = PyArray1::from_vec(py, labels);
            let out = self
                .0
                .call1(
                    py,
                    (
                        x,
                        y,
                        PyArray1::from_slice(py, global),
                        PyArray1::from_slice(py, model),
                    ),
                )
                .map_err(|e| fail(e.to_string()))?;
            let s: f64 = out
                .extract(py)
                .map_err(|_| fail("it must return a float in [0, 1]".into()))?;
            if !(0.0..=1.0).contains(&s) {
                return Err(fail(format!("it returned {s}, outside [0, 1]")));
            }
            Ok((s * f64::from(SCORE_ONE)).round() as u32)
        })
    }
}

/// A Participant's local training in Rust: `model`'s architecture trained on `x`, `y`
/// (SGD with momentum 0.9) from each round's global parameters.
#[pyclass(module = "din._din", frozen)]
pub(crate) struct Trainer {
    inner: Mutex<Option<FlTrainer>>,
}

#[pymethods]
impl Trainer {
    /// Trains models like `model` (its architecture; its parameters are replaced by
    /// each round's global ones) on `x` (float32, samples x features) and `y` (int64).
    /// The update's weight is the sample count, at most 1000 with the default
    /// fixed-point encoding (a larger one makes the masking step raise `SecAggError`).
    #[new]
    #[pyo3(signature = (model, x, y, *, epochs = 1, batch_size = 32, lr = 0.1, momentum = 0.9, seed = 0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        model: PyRef<'_, Model>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        epochs: usize,
        batch_size: usize,
        lr: f64,
        momentum: f64,
        seed: u64,
    ) -> PyResult<Self> {
        if epochs == 0 || batch_size == 0 || !lr.is_finite() || lr <= 0.0 {
            return Err(InvalidInputError::new_err(
                "epochs and batch_size must be at least 1 and lr positive",
            ));
        }
        let (arch, shape, classes) = model.spec();
        let data = dataset(x, y, &shape, classes)?;
        let config = TrainConfig {
            epochs,
            batch_size,
            learning_rate: lr,
            optimizer: OptimizerKind::Sgd { momentum },
            seed,
        };
        Ok(Self {
            inner: Mutex::new(Some(FlTrainer::new(arch, data, config))),
        })
    }
}

fn trainer_of(trainer: &Bound<'_, PyAny>) -> PyResult<Box<dyn LocalTrainer>> {
    if let Ok(t) = trainer.cast::<Trainer>() {
        let inner = locked(&t.get().inner)?.take().ok_or_else(|| {
            InvalidInputError::new_err("this Trainer already belongs to a Participant")
        })?;
        return Ok(Box::new(inner));
    }
    if trainer.is_callable() {
        return Ok(Box::new(PyTrainer(trainer.clone().unbind())));
    }
    Err(InvalidInputError::new_err(
        "trainer must be a din.Trainer or a callable f(round, global_params) -> (params, weight)",
    ))
}

fn scorer_of(scorer: &Bound<'_, PyAny>) -> PyResult<Box<dyn ContributionScorer>> {
    if let Ok(m) = scorer.cast::<Model>() {
        return Ok(Box::new(AccuracyScorer::new(m.borrow().spec().0)));
    }
    if scorer.is_callable() {
        return Ok(Box::new(PyScorer(scorer.clone().unbind())));
    }
    Err(InvalidInputError::new_err(
        "scorer must be a din.Model (accuracy relative to the global model) or a callable f(x, y, global_params, params) -> float",
    ))
}

/// What every role's constructor takes from Python: the chain with its deployment, the
/// store, the role's account and its state directory.
type RoleParts = (
    Din<'static, RpcChain>,
    &'static SharedStore,
    Address,
    StateDir,
);

fn role_parts(
    chain: &Bound<'_, Chain>,
    store: &Bound<'_, PyAny>,
    account: &str,
    state_dir: std::path::PathBuf,
) -> PyResult<RoleParts> {
    Ok((
        chain.get().din()?,
        store_of(store)?,
        address(account)?,
        StateDir::open(state_dir).map_err(din_err)?,
    ))
}

/// Locks a role (a role object is used by one thread at a time; the lock only makes
/// the Python object shareable).
fn locked<R>(m: &Mutex<R>) -> PyResult<std::sync::MutexGuard<'_, R>> {
    m.lock().map_err(|_| {
        crate::errors::ProtocolError::new_err("an earlier step panicked; make a new role object")
    })
}

/// One `#[pymethods]` block per role: the common methods, then the role's own.
macro_rules! role_class {
    ($t:ident { $($own:tt)* }) => {
        #[pymethods]
        impl $t {
            /// Does the next thing due for this role (GIL released) and returns what
            /// happened: ``{"status": "acted", "what": ...}``, ``{"status": "waiting",
            /// "reason": ..., "until": ...}`` or ``{"status": "done"}``. A step that
            /// raises changed nothing that a later step cannot redo.
            fn step<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let step = py
                    .detach(|| locked(&self.role).map(|mut r| r.step()))?
                    .map_err(din_err)?;
                step_dict(py, step)
            }

            /// Its address.
            #[getter]
            fn address(&self) -> PyResult<String> {
                Ok(locked(&self.role)?.address().to_string())
            }

            /// The gas of each transaction it sent, as ``(operation, gas)`` pairs.
            #[getter]
            fn gas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
                let r = locked(&self.role)?;
                PyList::new(py, r.gas.0.iter().map(|(op, g)| (op.clone(), *g)))
            }

            fn __repr__(&self) -> PyResult<String> {
                Ok(format!("{:?}", *locked(&self.role)?))
            }

            $($own)*
        }
    };
    ($t:ident, claims { $($own:tt)* }) => {
        role_class!($t {
            /// What it claimed after settlement, in DIN wei (an Evaluator's claim also
            /// unlocks what is left of its stake in the registry, withdrawable after
            /// the unstake delay).
            #[getter]
            fn claimed(&self) -> PyResult<Option<u128>> {
                Ok(locked(&self.role)?.claimed())
            }

            $($own)*
        });
    };
}

/// The Model Owner of one task: creates it (genesis model, deposit), starts training,
/// draws seeds, finalizes subgroups, combines the subgroups' aggregates into each
/// round's global model, releases the sealed test set, finalizes scores, settles and
/// takes its refund.
#[pyclass(module = "din._din", frozen)]
pub(crate) struct Owner {
    role: Mutex<OwnerRole<'static, RpcChain, SharedStore>>,
}

role_class!(Owner {
    /// The Owner `account` (a signer of `chain`) with state in `state_dir`; the task
    /// trains `genesis` (a ``din.Model``) for `rounds` rounds, is scored on `test_x`,
    /// `test_y`, and pays `deposit` DIN wei (the Owner must hold it). Training starts
    /// once `participants` Participants and `evaluators` Evaluators joined, or when
    /// registration (`registration_period` seconds, default one stage) ends.
    #[new]
    #[pyo3(signature = (chain, store, account, state_dir, *, genesis, test_x, test_y,
        participants, evaluators, rounds, deposit, subgroup_size,
        evaluators_per_subgroup = 3, neighbours = None, threshold = None,
        evaluator_fee_bps = 1000, stage_period = 3600, registration_period = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        chain: &Bound<'_, Chain>,
        store: &Bound<'_, PyAny>,
        account: &str,
        state_dir: std::path::PathBuf,
        genesis: PyRef<'_, Model>,
        test_x: &Bound<'_, PyAny>,
        test_y: &Bound<'_, PyAny>,
        participants: u32,
        evaluators: u32,
        rounds: u16,
        deposit: u128,
        subgroup_size: u16,
        evaluators_per_subgroup: u8,
        neighbours: Option<u16>,
        threshold: Option<u16>,
        evaluator_fee_bps: u16,
        stage_period: u32,
        registration_period: Option<u64>,
    ) -> PyResult<Self> {
        let (din, store, me, dir) = role_parts(chain, store, account, state_dir)?;
        let (_, shape, classes) = genesis.spec();
        let test = dataset(test_x, test_y, &shape, classes)?;
        let neighbours = neighbours.unwrap_or(subgroup_size.saturating_sub(1));
        let mut params = TaskParams {
                token: din.deployment.token,
                deposit,
                evaluatorFeeBps: evaluator_fee_bps,
                rounds,
                subgroupSize: subgroup_size,
                evaluatorsPerSubgroup: evaluators_per_subgroup,
                neighbours,
                threshold: threshold.unwrap_or_else(|| {
                    din::core::secagg::graph::majority_threshold(
                        u32::from(subgroup_size),
                        u32::from(neighbours),
                    ) as u16
                }),
                stagePeriod: stage_period,
                registrationEnd: 0,
                gate: Address::ZERO,
                maxEvaluators: evaluators.max(u32::from(evaluators_per_subgroup)),
                ..Default::default()
            };
        // Clip 8, steps of 2^-12, weights up to 1000; `testSet` is set by the Owner.
        din::round::onchain::set_bounds(&mut params, &FixedPoint::default());
        let config = OwnerConfig {
            params,
            registration_period: registration_period.unwrap_or(u64::from(stage_period)),
            participants,
            evaluators,
            genesis: genesis.file_bytes()?,
            test_set: test.to_bytes(),
        };
        let role = OwnerRole::new(din, store, me, dir, config).map_err(din_err)?;
        Ok(Self {
            role: Mutex::new(role),
        })
    }

    /// The task id, once created (the first ``step`` creates it).
    #[getter]
    fn task(&self) -> PyResult<Option<u64>> {
        Ok(locked(&self.role)?.task())
    }

    /// What the Owner got back after settlement, in DIN wei.
    #[getter]
    fn refunded(&self) -> PyResult<Option<u128>> {
        Ok(locked(&self.role)?.refunded())
    }
});

/// A Participant of one task: opts in; per round trains from the last global model
/// (with `trainer`), masks its update (SecAgg+) and uploads it, reveals the shares that
/// unmask its subgroup's sum; then seals its last model to its Evaluators and claims.
#[pyclass(module = "din._din", frozen)]
pub(crate) struct Participant {
    role: Mutex<ParticipantRole<'static, RpcChain, SharedStore>>,
}

role_class!(Participant, claims {
    /// Participant `account` (a signer of `chain`) of `task`, state in `state_dir`
    /// (its secret is created there, mode 0600), training with `trainer`: a
    /// ``din.Trainer`` or a callable ``f(round, global_params) -> (params, weight)``.
    #[new]
    fn new(
        chain: &Bound<'_, Chain>,
        store: &Bound<'_, PyAny>,
        account: &str,
        task: u64,
        state_dir: std::path::PathBuf,
        trainer: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let (din, store, me, dir) = role_parts(chain, store, account, state_dir)?;
        let role =
            ParticipantRole::new(din, store, me, task, dir, trainer_of(trainer)?).map_err(din_err)?;
        Ok(Self {
            role: Mutex::new(role),
        })
    }

});

/// An Evaluator of one task: stakes, publishes its key and joins; per round rebuilds
/// its subgroup from the chain, unmasks the sum and submits the aggregate; after the
/// last round opens the test set and the sealed contributions, scores them with
/// `scorer` (commit, then reveal) and claims (which unlocks its stake).
#[pyclass(module = "din._din", frozen)]
pub(crate) struct Evaluator {
    role: Mutex<EvaluatorRole<'static, RpcChain, SharedStore>>,
}

role_class!(Evaluator, claims {
    /// Evaluator `account` (a signer of `chain`, holding `stake` DIN wei) of `task`,
    /// state in `state_dir`, scoring with `scorer`: a ``din.Model`` of the task's
    /// architecture (test accuracy relative to the final global model, 0 below half of
    /// its gain over chance) or a callable ``f(x, y, global_params, params) -> float``
    /// in [0, 1] (deterministic: honest Evaluators' scores are compared).
    #[new]
    #[pyo3(signature = (chain, store, account, task, state_dir, *, scorer, stake = 100 * 10u128.pow(18)))]
    fn new(
        chain: &Bound<'_, Chain>,
        store: &Bound<'_, PyAny>,
        account: &str,
        task: u64,
        state_dir: std::path::PathBuf,
        scorer: &Bound<'_, PyAny>,
        stake: u128,
    ) -> PyResult<Self> {
        let (din, store, me, dir) = role_parts(chain, store, account, state_dir)?;
        let role = EvaluatorRole::new(din, store, me, task, dir, U256::from(stake), scorer_of(scorer)?)
            .map_err(din_err)?;
        Ok(Self {
            role: Mutex::new(role),
        })
    }

});
