//! `din-fl`: federated learning for DIN on Burn.
//!
//! **Not built yet.** This crate will hold local training on Burn (CPU by default,
//! `wgpu` and `cuda` behind features), FedAvg and hierarchical aggregation, evaluation
//! metrics and dataset loaders (issue "din-fl"). It exposes nothing today, so that
//! nothing pretends to work that does not.
