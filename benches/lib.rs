//! Holds din's criterion benchmarks (`benches/*.rs`); run them with
//! `cargo bench -p din-benches`. The library itself is empty.
