//! What a Participant computes locally and how an Evaluator scores contributions: the
//! pluggable parts of the roles, with din-fl implementations.
//!
//! - [`LocalTrainer`]: from the round's global parameters to the Participant's new
//!   parameters and its weight (sample count). [`FlTrainer`] trains a din-fl model on
//!   a local [`Dataset`]; its [`Behaviour`] can also make it a faulty Participant (noise,
//!   inverted labels) for fault-injection runs.
//! - [`ContributionScorer`]: an Evaluator's score of one contribution on the opened
//!   test set, in `[0, SCORE_ONE]`. [`AccuracyScorer`] scores test accuracy relative
//!   to the final global model, BlockFlow-style (paper §6): a contribution that does
//!   not reach half of the global model's improvement over chance scores 0.

use din_core::scoring::SCORE_ONE;
use din_fl::backend::{Cpu, CpuAutodiff};
use din_fl::burn::module::AutodiffModule;
use din_fl::data::Dataset;
use din_fl::rng::SeededRng;
use din_fl::{Architecture, Net, TrainConfig, evaluate, params, train};

use crate::Result;

/// A Participant's local training.
pub trait LocalTrainer: Send {
    /// Trains from the global parameters `global` in `round`; returns the new
    /// parameters (same length) and the weight of this update (its sample count).
    ///
    /// # Errors
    /// Training errors.
    fn train(&mut self, round: u16, global: &[f32]) -> Result<(Vec<f32>, u64)>;
}

/// An Evaluator's scoring of contributions.
pub trait ContributionScorer: Send {
    /// The score in `[0, SCORE_ONE]` of a contribution's parameters `model`, on the
    /// opened `test_set` bytes, given the final `global` parameters. Must be
    /// deterministic: honest Evaluators' scores are compared.
    ///
    /// # Errors
    /// Decoding and evaluation errors.
    fn score(&mut self, test_set: &[u8], global: &[f32], model: &[f32]) -> Result<u32>;
}

/// How an [`FlTrainer`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Trains on its data.
    #[default]
    Honest,
    /// Uploads Gaussian noise (σ = 0.3) instead of a model (a free rider).
    Noise,
    /// Trains on its data with every label `l` replaced by `classes - 1 - l`
    /// (a poisoner).
    InvertedLabels,
}

/// Local training with din-fl on the CPU backend.
pub struct FlTrainer {
    arch: Architecture,
    data: Dataset,
    config: TrainConfig,
    behaviour: Behaviour,
    on_step: Option<Box<dyn FnMut() + Send>>,
}

impl std::fmt::Debug for FlTrainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlTrainer")
            .field("arch", &self.arch)
            .field("samples", &self.data.len())
            .field("config", &self.config)
            .field("behaviour", &self.behaviour)
            .finish_non_exhaustive()
    }
}

impl FlTrainer {
    /// Trains `arch` on `data` with `config` (its seed is mixed with the round).
    pub fn new(arch: Architecture, data: Dataset, config: TrainConfig) -> Self {
        Self {
            arch,
            data,
            config,
            behaviour: Behaviour::Honest,
            on_step: None,
        }
    }

    /// Makes it behave as `behaviour`.
    pub fn with_behaviour(mut self, behaviour: Behaviour) -> Self {
        if behaviour == Behaviour::InvertedLabels {
            let c = self.data.n_classes as u32;
            for l in &mut self.data.labels {
                *l = c.saturating_sub(1).saturating_sub(*l);
            }
        }
        self.behaviour = behaviour;
        self
    }

    /// Calls `f` after every optimizer step (for progress bars).
    pub fn on_step(mut self, f: impl FnMut() + Send + 'static) -> Self {
        self.on_step = Some(Box::new(f));
        self
    }

    /// Optimizer steps per round.
    pub fn steps_per_round(&self) -> usize {
        self.data.len().div_ceil(self.config.batch_size.max(1)) * self.config.epochs
    }
}

impl LocalTrainer for FlTrainer {
    fn train(&mut self, round: u16, global: &[f32]) -> Result<(Vec<f32>, u64)> {
        let weight = self.data.len() as u64;
        if self.behaviour == Behaviour::Noise {
            let mut rng = SeededRng::new(self.config.seed ^ (u64::from(round) << 40));
            let out = global.iter().map(|_| (rng.normal() * 0.3) as f32).collect();
            return Ok((out, weight));
        }
        let device = Default::default();
        let template: Net<CpuAutodiff> = Net::new(
            &self.arch,
            &self.data.sample_shape,
            self.data.n_classes,
            &device,
        )?;
        let model = params::unflatten(template, global)?;
        let config = TrainConfig {
            seed: self.config.seed ^ (u64::from(round) << 32),
            ..self.config
        };
        let on_step = &mut self.on_step;
        let (trained, _) = train(model, &self.data, &config, &device, |_| {
            if let Some(f) = on_step.as_mut() {
                f();
            }
        })?;
        Ok((params::flatten(&trained)?.0, weight))
    }
}

/// Test accuracy of a flat parameter vector of `arch` on `test`.
///
/// # Errors
/// Parameter and evaluation errors.
pub fn accuracy(arch: &Architecture, test: &Dataset, values: &[f32]) -> Result<f64> {
    let device = Default::default();
    let template: Net<CpuAutodiff> = Net::new(arch, &test.sample_shape, test.n_classes, &device)?;
    let model: Net<Cpu> = params::unflatten(template, values)?.valid();
    Ok(evaluate(&model, test, &device)?.accuracy)
}

/// Scores test accuracy relative to the final global model:
/// `s = (acc - chance) / (acc_global - chance)` clamped to `[0, 1]`, and `0` when
/// `s < 1/2` (BlockFlow's cut-off: a model that does not reach half of the global
/// model's gain over chance earns nothing), in units of `SCORE_ONE`.
#[derive(Debug, Clone)]
pub struct AccuracyScorer {
    arch: Architecture,
    cache: Option<(Vec<u8>, Dataset, f64)>,
}

impl AccuracyScorer {
    /// Scores models of `arch`.
    pub fn new(arch: Architecture) -> Self {
        Self { arch, cache: None }
    }
}

impl ContributionScorer for AccuracyScorer {
    fn score(&mut self, test_set: &[u8], global: &[f32], model: &[f32]) -> Result<u32> {
        let fresh = !matches!(&self.cache, Some((bytes, _, _)) if bytes.as_slice() == test_set);
        if fresh {
            let test = Dataset::from_bytes(test_set)?;
            let reference = accuracy(&self.arch, &test, global)?;
            self.cache = Some((test_set.to_vec(), test, reference));
        }
        let Some((_, test, reference)) = &self.cache else {
            return Ok(0);
        };
        let chance = 1.0 / test.n_classes.max(1) as f64;
        let acc = accuracy(&self.arch, test, model)?;
        let gain = (reference - chance).max(1e-9);
        let s = ((acc - chance) / gain).clamp(0.0, 1.0);
        let s = if s < 0.5 { 0.0 } else { s };
        Ok((s * f64::from(SCORE_ONE)).round() as u32)
    }
}
