//! The local filesystem store.
//!
//! Layout under the store's directory:
//!
//! ```text
//! blocks/<xy>/<cid>   one file per block, named by its CIDv1 (base32); <xy> shards by
//!                     the CID's next-to-last two characters, as IPFS's flatfs does
//! pins/<cid>          an empty file per stored root (what `has` reports)
//! tmp/                files being written; renamed into place when complete
//! lock                advisory lock: writers share it, removal holds it alone
//! ```
//!
//! Every file appears by an atomic `rename` of a fully written and synced temporary file,
//! so a crash leaves either the whole block or none of it. Concurrent writers of the
//! same block write identical bytes, so whichever rename lands last is right.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cid::Cid;

use super::Store;
use crate::content::car::{CarReader, CarWriter};
use crate::content::{self, MAX_BLOCK_SIZE};
use crate::{Error, Result};

/// Largest blob [`FsStore::get`] reassembles (64 GiB).
pub const DEFAULT_GET_LIMIT: u64 = 64 << 30;

/// Temporary files older than this are left-overs of crashed writers.
const STALE_TMP: Duration = Duration::from_secs(3600);

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A content-addressed store in a local directory (see the module docs for the layout).
#[derive(Debug, Clone)]
pub struct FsStore {
    dir: PathBuf,
}

/// Holds the store's advisory lock until dropped.
struct LockGuard(#[allow(dead_code)] File);

impl FsStore {
    /// Opens the store in `dir`, creating it if needed, and clears temporary files that
    /// crashed writers left behind more than an hour ago.
    ///
    /// # Errors
    /// [`Error::Io`] when the directories cannot be created.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        for sub in ["blocks", "pins", "tmp"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        }
        let store = Self { dir };
        store.clear_stale_tmp();
        Ok(store)
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn clear_stale_tmp(&self) {
        let Ok(entries) = fs::read_dir(self.dir.join("tmp")) else {
            return;
        };
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TMP);
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn lock(&self, exclusive: bool) -> Result<LockGuard> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|e| Error::io(&path, e))?;
        Ok(LockGuard(file))
    }

    fn key(cid: &Cid) -> Result<String> {
        let v1 = cid
            .into_v1()
            .map_err(|e| Error::MalformedCid(e.to_string()))?;
        Ok(v1.to_string())
    }

    fn block_path(&self, cid: &Cid) -> Result<PathBuf> {
        let key = Self::key(cid)?;
        let shard: String = key.chars().rev().skip(1).take(2).collect();
        Ok(self.dir.join("blocks").join(shard).join(key))
    }

    fn pin_path(&self, cid: &Cid) -> Result<PathBuf> {
        Ok(self.dir.join("pins").join(Self::key(cid)?))
    }

    /// Writes `bytes` to `dest` atomically: temporary file, fsync, rename, fsync dir.
    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<()> {
        let parent = dest.parent().unwrap_or(&self.dir);
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let tmp = self.dir.join("tmp").join(format!(
            "{}-{}-{nanos}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, dest)?;
            // Make the rename itself durable; not every filesystem can sync a directory.
            if let Ok(d) = File::open(parent) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(dest, e)
        })
    }

    /// Stores one block after checking it against `cid`. A block already present is
    /// re-read and rewritten if it turns out to be corrupt.
    ///
    /// # Errors
    /// [`Error::CorruptBlock`] when `bytes` do not match `cid`, [`Error::TooLong`] above
    /// [`MAX_BLOCK_SIZE`], [`Error::Io`].
    pub fn put_block(&self, cid: &Cid, bytes: &[u8]) -> Result<()> {
        let _lock = self.lock(false)?;
        self.put_block_locked(cid, bytes)
    }

    fn put_block_locked(&self, cid: &Cid, bytes: &[u8]) -> Result<()> {
        if bytes.len() > MAX_BLOCK_SIZE {
            return Err(Error::TooLong {
                field: "block",
                len: bytes.len() as u64,
                max: MAX_BLOCK_SIZE as u64,
            });
        }
        content::verify_block(cid, bytes)?;
        let path = self.block_path(cid)?;
        if matches!(self.read_block(cid, &path), Ok(existing) if existing == bytes) {
            return Ok(());
        }
        self.write_atomic(&path, bytes)
    }

    fn read_block(&self, cid: &Cid, path: &Path) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let read = File::open(path)
            .and_then(|f| f.take(MAX_BLOCK_SIZE as u64 + 1).read_to_end(&mut bytes));
        match read {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::BlockNotFound {
                    cid: cid.to_string(),
                });
            }
            Err(e) => return Err(Error::io(path, e)),
        }
        content::verify_block(cid, &bytes)?;
        Ok(bytes)
    }

    /// One block, verified against `cid`.
    ///
    /// # Errors
    /// [`Error::BlockNotFound`], [`Error::CorruptBlock`], [`Error::Io`].
    pub fn get_block(&self, cid: &Cid) -> Result<Vec<u8>> {
        self.read_block(cid, &self.block_path(cid)?)
    }

    /// Whether the block file for `cid` exists (its content is not checked).
    ///
    /// # Errors
    /// [`Error::MalformedCid`] for CIDs without a v1 form.
    pub fn has_block(&self, cid: &Cid) -> Result<bool> {
        Ok(self.block_path(cid)?.is_file())
    }

    fn pin(&self, cid: &Cid) -> Result<()> {
        let path = self.pin_path(cid)?;
        if path.is_file() {
            return Ok(());
        }
        self.write_atomic(&path, b"")
    }

    /// Every block of the DAG under `root`, root first, each once; `missing_ok` skips
    /// blocks that are absent instead of failing.
    fn walk(&self, root: &Cid, missing_ok: bool, mut visit: impl FnMut(&Cid)) -> Result<()> {
        let mut seen = HashSet::new();
        let mut stack = vec![*root];
        while let Some(cid) = stack.pop() {
            if !seen.insert(cid) {
                continue;
            }
            visit(&cid);
            if cid.codec() == content::RAW {
                continue;
            }
            let bytes = match self.get_block(&cid) {
                Err(Error::BlockNotFound { .. }) if missing_ok => continue,
                other => other?,
            };
            let mut links = content::links_of(&cid, &bytes)?;
            links.reverse();
            stack.extend(links);
        }
        Ok(())
    }

    fn pinned(&self) -> Result<Vec<Cid>> {
        let dir = self.dir.join("pins");
        let mut pins = Vec::new();
        for entry in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            if let Some(cid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) {
                pins.push(cid);
            }
        }
        Ok(pins)
    }

    fn reachable_from_pins(&self) -> Result<HashSet<String>> {
        let mut live = HashSet::new();
        for pin in self.pinned()? {
            self.walk(&pin, true, |cid| {
                if let Ok(key) = Self::key(cid) {
                    live.insert(key);
                }
            })?;
        }
        Ok(live)
    }

    /// Deletes every block that no stored root uses: the left-overs of writers that
    /// crashed between storing blocks and recording the root. Returns how many.
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn gc(&self) -> Result<usize> {
        let _lock = self.lock(true)?;
        let live = self.reachable_from_pins()?;
        let blocks = self.dir.join("blocks");
        let mut removed = 0;
        for shard in fs::read_dir(&blocks)
            .map_err(|e| Error::io(&blocks, e))?
            .flatten()
        {
            let Ok(files) = fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name();
                if !name.to_str().is_some_and(|n| live.contains(n))
                    && fs::remove_file(file.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Writes a CARv1 file holding every block under `roots`, each once, root first.
    ///
    /// # Errors
    /// [`Error::BlockNotFound`] / [`Error::CorruptBlock`] for incomplete or damaged
    /// content, [`Error::Io`] when writing fails.
    pub fn export_car<W: Write>(&self, roots: &[Cid], out: W) -> Result<W> {
        let _lock = self.lock(false)?;
        let mut car = CarWriter::new(out, roots)?;
        let mut written = HashSet::new();
        for root in roots {
            let mut order = Vec::new();
            self.walk(root, false, |cid| order.push(*cid))?;
            for cid in order {
                if written.insert(cid) {
                    car.write_block(&cid, &self.get_block(&cid)?)?;
                }
            }
        }
        car.finish()
    }

    /// Imports a CARv1 file: every block is verified and stored, then each root whose
    /// DAG is complete is recorded as stored content. Returns the roots.
    ///
    /// # Errors
    /// [`Error::MalformedCar`] for bad framing or a root whose DAG the file does not
    /// complete, [`Error::CorruptBlock`] for a block that does not match its CID.
    pub fn import_car(&self, input: impl Read) -> Result<Vec<Cid>> {
        let _lock = self.lock(false)?;
        let mut car = CarReader::new(input)?;
        while let Some((cid, bytes)) = car.next_block()? {
            self.put_block_locked(&cid, &bytes)?;
        }
        let roots = car.roots().to_vec();
        for root in &roots {
            let incomplete = |cid: &dyn std::fmt::Display| {
                Error::MalformedCar(format!(
                    "root {root} is incomplete: block {cid} is neither in the file nor in the store"
                ))
            };
            // `walk` reads (and so checks) every dag-pb node; raw leaves it only lists.
            let mut missing = None;
            self.walk(root, false, |cid| {
                if missing.is_none() && !self.has_block(cid).unwrap_or(false) {
                    missing = Some(*cid);
                }
            })
            .map_err(|e| match e {
                Error::BlockNotFound { cid } => incomplete(&cid),
                other => other,
            })?;
            if let Some(cid) = missing {
                return Err(incomplete(&cid));
            }
            self.pin(root)?;
        }
        Ok(roots)
    }
}

impl Store for FsStore {
    fn put(&self, data: &[u8]) -> Result<Cid> {
        let _lock = self.lock(false)?;
        let root = content::build_dag(data, |cid, bytes| self.put_block_locked(cid, bytes))?;
        self.pin(&root)?;
        Ok(root)
    }

    fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        content::assemble(cid, DEFAULT_GET_LIMIT, |c| self.get_block(c))
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(self.pin_path(cid)?.is_file())
    }

    fn remove(&self, cid: &Cid) -> Result<()> {
        let _lock = self.lock(true)?;
        let pin = self.pin_path(cid)?;
        match fs::remove_file(&pin) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::BlockNotFound {
                    cid: cid.to_string(),
                });
            }
            Err(e) => return Err(Error::io(&pin, e)),
        }
        let live = self.reachable_from_pins()?;
        let mut doomed = Vec::new();
        self.walk(cid, true, |c| doomed.push(*c))?;
        for c in doomed {
            if !live.contains(&Self::key(&c)?) {
                let path = self.block_path(&c)?;
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&path, e)),
                }
            }
        }
        Ok(())
    }
}
