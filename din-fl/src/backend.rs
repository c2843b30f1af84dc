//! Backend aliases: pick the backend at the edge (examples, bindings, tests), keep the
//! library generic over `B: Backend`.
//!
//! - [`Cpu`] / [`CpuAutodiff`]: Burn's pure-Rust `ndarray` backend (feature `ndarray`,
//!   the default).
//! - `Wgpu` (feature `wgpu`) and `Cuda` (feature `cuda`): Burn's GPU backends.
//!
//! din-fl's own tests use `TestBackend` (in `tests/common`), switched by the features
//! `test-wgpu` and `test-cuda`, so the same tests run on CPU, on lavapipe and on a GPU:
//! `cargo test -p din-fl --features test-wgpu`.

/// The CPU backend.
#[cfg(feature = "ndarray")]
pub type Cpu = burn::backend::NdArray<f32>;
/// The CPU backend with automatic differentiation, for training.
#[cfg(feature = "ndarray")]
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// The wgpu backend.
#[cfg(feature = "wgpu")]
pub type Wgpu = burn::backend::Wgpu<f32, i32>;
/// The wgpu backend with automatic differentiation.
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// The CUDA backend.
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda<f32, i32>;
/// The CUDA backend with automatic differentiation.
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;
