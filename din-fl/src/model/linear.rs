//! Logistic regression and the MLP.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;

use super::Classifier;
use crate::{Error, Result};

/// Multinomial logistic regression: one linear layer to the logits.
#[derive(Module, Debug)]
pub struct LogReg<B: Backend> {
    linear: Linear<B>,
}

impl<B: Backend> LogReg<B> {
    /// A model for `n_features` inputs and `n_classes` classes.
    pub fn new(n_features: usize, n_classes: usize, device: &B::Device) -> Self {
        Self {
            linear: LinearConfig::new(n_features, n_classes).init(device),
        }
    }
}

impl<B: Backend> Classifier<B> for LogReg<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.linear.forward(x)
    }
}

/// Hidden widths of an [`Mlp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlpConfig {
    /// Width of each hidden layer, in order (ReLU after each).
    pub hidden: Vec<usize>,
}

impl MlpConfig {
    /// Builds the MLP.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no hidden layer or a zero width.
    pub fn init<B: Backend>(
        &self,
        n_features: usize,
        n_classes: usize,
        device: &B::Device,
    ) -> Result<Mlp<B>> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "MLP hidden widths {:?} must be non-empty and positive",
                self.hidden
            )));
        }
        let mut widths = vec![n_features];
        widths.extend(&self.hidden);
        widths.push(n_classes);
        let layers = widths
            .iter()
            .zip(widths.iter().skip(1))
            .map(|(&i, &o)| LinearConfig::new(i, o).init(device))
            .collect();
        Ok(Mlp { layers })
    }
}

/// Multi-layer perceptron: linear layers with ReLU between them.
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    layers: Vec<Linear<B>>,
}

impl<B: Backend> Classifier<B> for Mlp<B> {
    fn forward(&self, mut x: Tensor<B, 2>) -> Tensor<B, 2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        x
    }
}
