//! Holds din's user-facing examples; see `examples/*.rs` and the repository README.
//! Each example is one self-contained file; the library holds only what several share:
//! [`chart`], a small PNG chart writer, and the allocator: every example that trains
//! links this library (`extern crate din_examples;`) and so allocates with mimalloc.
//!
//! Why an allocator: Burn's CPU backend allocates fresh buffers for every tensor of
//! every step; glibc's malloc hands the larger ones back to the kernel when they are
//! freed and faults them in again on the next step, which made one MLP epoch 1.5x
//! slower (0.79 s against 0.54 s, `fl_bench`). A Rust application using din-fl should
//! do the same: `#[global_allocator] static A: mimalloc::MiMalloc = mimalloc::MiMalloc;`.

pub mod chart;

/// The repository's `data/` folder (MNIST's 10k split, UCI Adult, BlockFlow's results:
/// see `data/README.md`), the default of every example's `--data`. It is resolved at
/// build time, so examples find it from any working directory.
pub const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");

/// mimalloc as the global allocator of every example binary linking this library.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
