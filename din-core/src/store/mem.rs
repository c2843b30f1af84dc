//! An in-memory content-addressed store: the same blocks and CIDs as [`super::FsStore`],
//! kept in a map. For simulations and tests of whole networks in one process, where the
//! durability of a disk store is not wanted.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use cid::Cid;

use super::Store;
use super::fs::DEFAULT_GET_LIMIT;
use crate::{Error, Result, content};

/// A content-addressed store in memory (see the module docs). Blocks are verified when
/// written and when read; `remove` forgets a root but keeps its blocks until dropped.
#[derive(Debug, Default)]
pub struct MemStore {
    blocks: RwLock<HashMap<Cid, Vec<u8>>>,
    roots: RwLock<HashSet<Cid>>,
}

fn poisoned() -> Error {
    Error::Transport {
        endpoint: "memory store".into(),
        reason: "a writer panicked while holding the lock".into(),
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct blocks held.
    pub fn block_count(&self) -> usize {
        self.blocks.read().map(|b| b.len()).unwrap_or(0)
    }
}

impl Store for MemStore {
    fn put(&self, data: &[u8]) -> Result<Cid> {
        let mut new_blocks = Vec::new();
        let root = content::build_dag(data, |cid, bytes| {
            new_blocks.push((*cid, bytes.to_vec()));
            Ok(())
        })?;
        {
            let mut blocks = self.blocks.write().map_err(|_| poisoned())?;
            for (cid, bytes) in new_blocks {
                blocks.entry(cid).or_insert(bytes);
            }
        }
        self.roots.write().map_err(|_| poisoned())?.insert(root);
        Ok(root)
    }

    fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        let blocks = self.blocks.read().map_err(|_| poisoned())?;
        content::assemble(cid, DEFAULT_GET_LIMIT, |c| {
            let bytes = blocks
                .get(c)
                .ok_or_else(|| Error::BlockNotFound { cid: c.to_string() })?;
            content::verify_block(c, bytes)?;
            Ok(bytes.clone())
        })
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(self.roots.read().map_err(|_| poisoned())?.contains(cid))
    }

    fn remove(&self, cid: &Cid) -> Result<()> {
        if self.roots.write().map_err(|_| poisoned())?.remove(cid) {
            Ok(())
        } else {
            Err(Error::BlockNotFound {
                cid: cid.to_string(),
            })
        }
    }
}
