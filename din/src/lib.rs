//! `din`: the DIN SDK in one crate.
//!
//! It re-exports the layers ([`core`] = din-core: protocol types, CIDs, secure
//! aggregation, scoring; [`fl`] = din-fl: models, training, aggregation; [`chain`] =
//! din-chain: contracts and chain clients) and adds what joins them into a network:
//! [`store::IpfsStore`], the [`din_core::Store`] of a real IPFS node over the Kubo RPC
//! API, verifying every block it receives; and [`round`], what each role computes and
//! stores in a round (masking, unmasking, combining, verifying).

pub use din_chain as chain;
pub use din_core as core;
pub use din_fl as fl;

mod error;
pub mod local;
pub mod roles;
pub mod round;
pub mod store;

pub use error::{Error, Result};
