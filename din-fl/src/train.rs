//! Local training (paper §5.1 step 2b) and evaluation.
//!
//! Mini-batch training with SGD (optionally with momentum) or Adam and cross-entropy
//! loss. Batches come from a seeded shuffle per epoch, so with the backend seeded too
//! (`B::seed`), training on the CPU backend is deterministic for a given seed. A
//! progress callback sees every step (the examples draw a progress bar with it).

use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};

use crate::data::Dataset;
use crate::metrics::Metrics;
use crate::model::Classifier;
use crate::rng::SeededRng;
use crate::{Error, Result};

/// The optimizer of local training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent; `momentum` 0 for plain SGD (no dampening).
    Sgd {
        /// Momentum factor in `[0, 1)`.
        momentum: f64,
    },
    /// Adam with Burn's defaults (β1 0.9, β2 0.999).
    Adam,
}

/// How a Participant trains locally.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Passes over the local data.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Seed of the batch order.
    pub seed: u64,
}

impl Default for TrainConfig {
    /// One epoch, batches of 64, SGD with learning rate 0.05 and momentum 0.9.
    fn default() -> Self {
        Self {
            epochs: 1,
            batch_size: 64,
            learning_rate: 0.05,
            optimizer: OptimizerKind::Sgd { momentum: 0.9 },
            seed: 0,
        }
    }
}

/// One training step, for progress reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Step within the epoch, from 0.
    pub step: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// Loss of this step's batch.
    pub loss: f64,
}

/// Rows `indices` of `data` as a feature tensor and a label tensor.
fn batch<B: Backend>(
    data: &Dataset,
    indices: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let f = data.n_features;
    let mut x = Vec::with_capacity(indices.len() * f);
    let mut y = Vec::with_capacity(indices.len());
    for &i in indices {
        x.extend_from_slice(data.features.get(i * f..(i + 1) * f).unwrap_or_default());
        y.push(i64::from(data.labels.get(i).copied().unwrap_or_default()));
    }
    (
        Tensor::from_data(TensorData::new(x, [indices.len(), f]), device),
        Tensor::from_data(TensorData::new(y, [indices.len()]), device),
    )
}

fn check(config: &TrainConfig, data: &Dataset) -> Result<()> {
    if data.is_empty() {
        return Err(Error::Empty("no local training data"));
    }
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(Error::InvalidArgument(
            "epochs and batch size must be positive".into(),
        ));
    }
    if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
        return Err(Error::InvalidArgument(format!(
            "learning rate {} must be positive",
            config.learning_rate
        )));
    }
    if let OptimizerKind::Sgd { momentum } = config.optimizer
        && !(0.0..1.0).contains(&momentum)
    {
        return Err(Error::InvalidArgument(format!(
            "momentum {momentum} must be in [0, 1)"
        )));
    }
    Ok(())
}

/// Trains `model` on `data`; returns the trained model and the mean loss of the last
/// epoch.
///
/// # Errors
/// [`Error::Empty`] / [`Error::InvalidArgument`] for unusable data or settings, and
/// [`Error::InvalidArgument`] when the loss becomes NaN (diverged training).
pub fn train<B, M>(
    model: M,
    data: &Dataset,
    config: &TrainConfig,
    device: &B::Device,
    progress: impl FnMut(&Progress),
) -> Result<(M, f64)>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
{
    check(config, data)?;
    match config.optimizer {
        OptimizerKind::Sgd { momentum } => {
            let mut sgd = SgdConfig::new();
            if momentum > 0.0 {
                sgd = sgd.with_momentum(Some(
                    MomentumConfig::new()
                        .with_momentum(momentum)
                        .with_dampening(0.0),
                ));
            }
            run(model, sgd.init(), data, config, device, progress)
        }
        OptimizerKind::Adam => run(
            model,
            AdamConfig::new().init(),
            data,
            config,
            device,
            progress,
        ),
    }
}

fn run<B, M, O>(
    mut model: M,
    mut optim: O,
    data: &Dataset,
    config: &TrainConfig,
    device: &B::Device,
    mut progress: impl FnMut(&Progress),
) -> Result<(M, f64)>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Classifier<B>,
    O: Optimizer<M, B>,
{
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let steps = data.len().div_ceil(config.batch_size);
    let mut last_epoch_loss = f64::NAN;
    for epoch in 0..config.epochs {
        let mut order: Vec<usize> = (0..data.len()).collect();
        SeededRng::new(
            config
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64),
        )
        .shuffle(&mut order);
        let mut total = 0.0;
        for (step, idx) in order.chunks(config.batch_size).enumerate() {
            let (x, y) = batch::<B>(data, idx, device);
            let loss = loss_fn.forward(model.forward(x), y);
            let value: f64 = loss.clone().into_scalar().elem();
            if !value.is_finite() {
                return Err(Error::InvalidArgument(format!(
                    "training diverged (loss {value} at epoch {epoch}, step {step}); lower the learning rate"
                )));
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
            total += value * idx.len() as f64;
            progress(&Progress {
                epoch,
                step,
                steps_per_epoch: steps,
                loss: value,
            });
        }
        last_epoch_loss = total / data.len() as f64;
    }
    Ok((model, last_epoch_loss))
}

/// Loss, accuracy, macro precision/recall/F1 and the confusion matrix of `model` on
/// `data`.
///
/// # Errors
/// [`Error::Empty`] for no samples.
pub fn evaluate<B: Backend, M: Classifier<B>>(
    model: &M,
    data: &Dataset,
    device: &B::Device,
) -> Result<Metrics> {
    if data.is_empty() {
        return Err(Error::Empty("no samples to evaluate"));
    }
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut predicted = Vec::with_capacity(data.len());
    let mut loss_sum = 0.0;
    for idx in indices.chunks(1024) {
        let (x, y) = batch::<B>(data, idx, device);
        let logits = model.forward(x);
        let loss: f64 = loss_fn.forward(logits.clone(), y).into_scalar().elem();
        loss_sum += loss * idx.len() as f64;
        let arg = logits.argmax(1).into_data().convert::<i64>();
        predicted.extend(arg.iter::<i64>().map(|p| p as u32));
    }
    Metrics::from_predictions(
        &predicted,
        &data.labels,
        data.n_classes,
        loss_sum / data.len() as f64,
    )
}
