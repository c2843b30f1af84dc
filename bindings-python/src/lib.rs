//! Python bindings of din (`pip install din`).
//!
//! **Not built yet.** This crate will become the PyO3 extension module `din._din`, built
//! by maturin into an abi3 wheel (issue "Python package `din`"). It is kept out of the
//! workspace's default members so that a plain `cargo test` never links Python.
