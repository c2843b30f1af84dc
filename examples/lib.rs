//! Holds din's user-facing examples; see `examples/*.rs` and the repository README.
//! Each example is one self-contained file; the library holds only what several share:
//! [`chart`], a small PNG chart writer.

pub mod chart;
