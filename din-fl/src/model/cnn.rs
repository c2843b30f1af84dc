//! A LeNet-5-style CNN: conv 5x5 (padding 2) -> ReLU -> max-pool 2 -> conv 5x5 -> ReLU ->
//! max-pool 2 -> linear -> ReLU -> linear -> ReLU -> linear.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;

use super::Classifier;

/// Channel and layer widths of the [`Cnn`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CnnConfig {
    /// Output channels of the first and second convolutions.
    pub channels: [usize; 2],
    /// Widths of the two hidden linear layers.
    pub hidden: [usize; 2],
}

impl Default for CnnConfig {
    /// LeNet-5: 6 and 16 channels, 120 and 84 hidden units.
    fn default() -> Self {
        Self {
            channels: [6, 16],
            hidden: [120, 84],
        }
    }
}

impl CnnConfig {
    /// Builds the CNN for `side x side` single-channel images (side >= 12).
    pub fn init<B: Backend>(&self, side: usize, n_classes: usize, device: &B::Device) -> Cnn<B> {
        // conv1 keeps the side (padding 2), pool halves; conv2 (no padding) removes 4, pool halves.
        let after = ((side / 2).saturating_sub(4)) / 2;
        let flat = self.channels[1] * after * after;
        Cnn {
            conv1: Conv2dConfig::new([1, self.channels[0]], [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(device),
            conv2: Conv2dConfig::new([self.channels[0], self.channels[1]], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1: LinearConfig::new(flat, self.hidden[0]).init(device),
            fc2: LinearConfig::new(self.hidden[0], self.hidden[1]).init(device),
            fc3: LinearConfig::new(self.hidden[1], n_classes).init(device),
            side,
        }
    }
}

/// LeNet-5-style convolutional network for single-channel square images.
#[derive(Module, Debug)]
pub struct Cnn<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    pool: MaxPool2d,
    fc1: Linear<B>,
    fc2: Linear<B>,
    fc3: Linear<B>,
    side: usize,
}

impl<B: Backend> Classifier<B> for Cnn<B> {
    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let [batch, _] = x.dims();
        let x = x.reshape([batch, 1, self.side, self.side]);
        let x = self.pool.forward(relu(self.conv1.forward(x)));
        let x = self.pool.forward(relu(self.conv2.forward(x)));
        let x: Tensor<B, 2> = x.flatten(1, 3);
        let x = relu(self.fc1.forward(x));
        let x = relu(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}
