//! `din-chain`: the DIN smart contracts and the Rust client that drives them.
//!
//! The contracts (paper §3.3, §3.4, §5.1, §5.2, §8.1) live in `contracts/src/`: the DIN
//! token, the evaluator registry (stakes, unstake delay, slashing) and the task manager
//! (tasks and deposits, opt-in with a Sybil gate, per-round seeds from a future block,
//! din-core's assignment checked on-chain, update and secure-aggregation message CIDs
//! with deadlines, majority acceptance of subgroup aggregates with slashing, global model
//! publication, score commit/reveal, BlockFlow median scoring verified on-chain, and
//! settlement to the wei with pull claims). Their ABI and bytecode are committed in
//! `artifacts/`, compiled by a pinned solc-js; [`bindings`] is generated from them.
//!
//! The client is chain-agnostic: [`backend::Chain`] is implemented by
//! [`EmbeddedChain`] (revm in-process, the default) and [`RpcChain`] (any JSON-RPC
//! node), and [`Din`] calls the contracts on either.
//!
//! ```
//! use din_chain::{Chain, DeployConfig, Din, EmbeddedChain, deploy};
//! use alloy::primitives::Address;
//!
//! let chain = EmbeddedChain::new();
//! let owner = chain.add_account(Address::repeat_byte(0x11));
//! let (deployment, receipts) = deploy(&chain, owner, &DeployConfig::dev(owner))?;
//! let din = Din::new(&chain, deployment);
//! assert!(din.token_balance(owner)? > alloy::primitives::U256::ZERO);
//! println!("deployed the task manager for {} gas", receipts[2].gas_used);
//! # Ok::<(), din_chain::Error>(())
//! ```

pub mod anvil;
pub mod backend;
pub mod bindings;
pub mod client;
mod error;
pub mod scripted;

pub use alloy;
pub use backend::{Chain, DevChain, EmbeddedChain, RpcChain};
pub use client::{DeployConfig, Deployment, Din, deploy};
pub use error::{ContractError, Error, Result};
