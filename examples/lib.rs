//! Holds din's user-facing examples; see `examples/*.rs` and the repository README.
//! The library itself is empty: each example is one self-contained file.
