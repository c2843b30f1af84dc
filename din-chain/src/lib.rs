//! `din-chain`: the DIN smart contracts and the Rust client that drives them.
//!
//! **Not built yet.** This crate will hold the Solidity contracts (token, evaluator
//! registry, task contract) with committed artifacts, `sol!` bindings, and one chain
//! client trait with an embedded EVM backend (default) and a JSON-RPC backend (issue
//! "din-chain"). It exposes nothing today, so that nothing pretends to work that does not.
