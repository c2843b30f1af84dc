//! Models: logistic regression, an MLP with configurable widths, a LeNet-5-style CNN,
//! and the [`Classifier`] trait through which a user brings any Burn module.
//!
//! Every model takes a batch of flattened samples `[batch, n_features]` and returns
//! logits `[batch, n_classes]`; image models reshape internally.

mod cnn;
mod linear;

use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

pub use cnn::{Cnn, CnnConfig};
pub use linear::{LogReg, Mlp, MlpConfig};

use crate::{Error, Result};

/// A classifier over flattened samples: implement this for any Burn [`Module`] to train
/// and federate it with din-fl.
pub trait Classifier<B: Backend>: Module<B> {
    /// Logits `[batch, n_classes]` for samples `[batch, n_features]`.
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2>;
}

/// The built-in architectures, as one module type so they can be chosen at run time.
// A model is built once per Participant and moved, never copied in bulk: variant sizes
// do not matter, and Burn's derive does not see through a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Net<B: Backend> {
    /// Logistic regression.
    LogReg(LogReg<B>),
    /// Multi-layer perceptron.
    Mlp(Mlp<B>),
    /// Convolutional network.
    Cnn(Cnn<B>),
}

impl<B: Backend> Classifier<B> for Net<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            Net::LogReg(m) => m.forward(x),
            Net::Mlp(m) => m.forward(x),
            Net::Cnn(m) => m.forward(x),
        }
    }
}

/// Which architecture to build, for [`Net::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Architecture {
    /// Logistic regression.
    LogReg,
    /// MLP with these hidden widths.
    Mlp(Vec<usize>),
    /// LeNet-5-style CNN for square single-channel images.
    Cnn,
}

impl std::str::FromStr for Architecture {
    type Err = Error;
    /// `logreg`, `mlp` (one hidden layer of 128), `mlp:256,128`, or `cnn`.
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "logreg" => Ok(Architecture::LogReg),
            None if s == "mlp" => Ok(Architecture::Mlp(vec![128])),
            None if s == "cnn" => Ok(Architecture::Cnn),
            Some(("mlp", widths)) => widths
                .split(',')
                .map(|w| w.trim().parse::<usize>().ok().filter(|&w| w > 0))
                .collect::<Option<Vec<_>>>()
                .map(Architecture::Mlp)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "hidden widths {widths:?} must be positive integers"
                    ))
                }),
            _ => Err(Error::InvalidArgument(format!(
                "model {s:?}: use logreg, mlp, mlp:W1,W2,... or cnn"
            ))),
        }
    }
}

impl<B: Backend> Net<B> {
    /// A freshly initialized model for samples of `sample_shape` and `n_classes`
    /// classes (parameters from the backend's RNG; seed it with `B::seed`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero sizes, or a CNN on non-image samples.
    pub fn new(
        arch: &Architecture,
        sample_shape: &[usize],
        n_classes: usize,
        device: &B::Device,
    ) -> Result<Self> {
        let n_features: usize = sample_shape.iter().product();
        if n_features == 0 || n_classes < 2 {
            return Err(Error::InvalidArgument(format!(
                "{n_features} features and {n_classes} classes cannot make a classifier"
            )));
        }
        let net = match arch {
            Architecture::LogReg => Net::LogReg(LogReg::new(n_features, n_classes, device)),
            Architecture::Mlp(widths) => Net::Mlp(
                MlpConfig {
                    hidden: widths.clone(),
                }
                .init(n_features, n_classes, device)?,
            ),
            Architecture::Cnn => match sample_shape {
                [1, h, w] if h == w && *h >= 12 => {
                    Net::Cnn(CnnConfig::default().init(*h, n_classes, device))
                }
                other => {
                    return Err(Error::InvalidArgument(format!(
                        "the CNN needs square single-channel images of side >= 12, not {other:?}"
                    )));
                }
            },
        };
        // Draw the initial parameters now, so that clones share them.
        crate::params::materialize(&net);
        Ok(net)
    }
}
