#![doc = include_str!("../README.md")]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod assignment;
pub mod content;
pub mod encoding;
mod error;
pub mod hash;
pub mod scoring;
pub mod sealed;
pub mod secagg;
pub mod store;
pub mod types;

pub use cid::Cid;
pub use encoding::{Canonical, Message};
pub use error::{Error, Result};
pub use store::{FsStore, MemStore, Store};
pub use types::*;
