//! The backend din-fl's tests run on, switched by features (burn's `TestBackend`
//! pattern): `ndarray` by default, `--features test-wgpu` for wgpu (lavapipe on a
//! CPU-only machine), `--features test-cuda` for an NVIDIA GPU.
#![allow(dead_code, unreachable_pub)]

#[cfg(feature = "test-cuda")]
pub type TestBackend = din_fl::backend::Cuda;
#[cfg(all(feature = "test-wgpu", not(feature = "test-cuda")))]
pub type TestBackend = din_fl::backend::Wgpu;
#[cfg(not(any(feature = "test-wgpu", feature = "test-cuda")))]
pub type TestBackend = din_fl::backend::Cpu;

/// [`TestBackend`] with autodiff, for training.
pub type TestAutodiff = din_fl::burn::backend::Autodiff<TestBackend>;
