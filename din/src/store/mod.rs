//! Content-addressed stores beyond din-core's local [`din_core::FsStore`].
//!
//! - [`IpfsStore`]: any IPFS node speaking the Kubo RPC API (Kubo itself, or js-ipfs,
//!   which the tests run), every byte verified against its CID.

mod ipfs;
pub mod jsipfs;

pub use ipfs::IpfsStore;
pub use jsipfs::JsIpfs;
