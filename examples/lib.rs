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

/// mimalloc as the global allocator of every example binary linking this library.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
