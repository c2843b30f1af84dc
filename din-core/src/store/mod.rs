//! Content-addressed storage: bytes in, CID out; CID in, verified bytes out.
//!
//! [`Store`] is what the protocol's roles use to publish models and updates (paper §5.1
//! steps 1b, 2d, 3b). Every implementation computes CIDs as [`crate::content`] does, so
//! content is portable to any IPFS node, and verifies every byte it returns against the
//! CID asked for: a store that lies (a corrupted disk, a malicious gateway) produces an
//! error, never wrong data.
//!
//! [`FsStore`] is the default: a directory of blocks on the local disk with atomic
//! writes, safe for concurrent writers, with CARv1 import and export.
//!
//! ```
//! use din_core::store::{FsStore, Store};
//! # fn main() -> din_core::Result<()> {
//! # let dir = tempfile::tempdir().map_err(|e| din_core::Error::Io { path: "tmp".into(), source: e })?;
//! let store = FsStore::open(dir.path())?;
//! let cid = store.put(b"hello din\n")?;
//! assert_eq!(store.get(&cid)?, b"hello din\n");
//! # Ok(()) }
//! ```

mod fs;
mod mem;

pub use fs::{DEFAULT_GET_LIMIT, FsStore};
pub use mem::MemStore;

use cid::Cid;

use crate::Result;

/// A content-addressed store of byte blobs (UnixFS files).
pub trait Store {
    /// Stores `data` and returns its CID, equal to [`crate::content::cid_of`]`(data)`.
    /// Storing the same bytes twice is harmless and returns the same CID.
    ///
    /// # Errors
    /// I/O or transport errors.
    fn put(&self, data: &[u8]) -> Result<Cid>;

    /// The bytes stored under `cid`, every block verified against its CID.
    ///
    /// # Errors
    /// [`crate::Error::BlockNotFound`] when some block is missing,
    /// [`crate::Error::CorruptBlock`] when some block does not match its CID,
    /// [`crate::Error::MalformedDag`] when the DAG is not a UnixFS file.
    fn get(&self, cid: &Cid) -> Result<Vec<u8>>;

    /// Whether `cid` was stored (by [`Store::put`] or an import) and not removed since.
    ///
    /// # Errors
    /// I/O or transport errors.
    fn has(&self, cid: &Cid) -> Result<bool>;

    /// Forgets `cid`; blocks no other stored content uses are deleted.
    ///
    /// # Errors
    /// [`crate::Error::BlockNotFound`] when `cid` is not stored, I/O errors.
    fn remove(&self, cid: &Cid) -> Result<()>;
}

impl<S: Store + ?Sized> Store for &S {
    fn put(&self, data: &[u8]) -> Result<Cid> {
        (**self).put(data)
    }
    fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        (**self).get(cid)
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        (**self).has(cid)
    }
    fn remove(&self, cid: &Cid) -> Result<()> {
        (**self).remove(cid)
    }
}
