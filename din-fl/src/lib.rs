#![doc = include_str!("../README.md")]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod aggregate;
pub mod backend;
pub mod data;
mod error;
pub mod metrics;
pub mod model;
pub mod params;
pub mod rng;
pub mod train;

pub use burn;
pub use error::{Error, Result};
pub use metrics::Metrics;
pub use model::{Architecture, Classifier, Net};
pub use train::{OptimizerKind, Progress, TrainConfig, evaluate, train};
