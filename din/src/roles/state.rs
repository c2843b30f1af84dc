//! A role's persisted state: one directory with its long-term secret (0600) and small
//! JSON records, each written atomically (temporary file, fsync, rename), so a process
//! killed mid-write leaves the previous version, never a torn one.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use din_core::secagg::{ClientSecret, RoundRatchet};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::{Error, Result};

const SECRET_FILE: &str = "secret.key";
const RATCHET_FILE: &str = "secagg-ratchet.key";

/// The directory a role keeps its state in.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

fn io(what: &'static str, path: &Path, e: &std::io::Error) -> Error {
    Error::State {
        what,
        reason: format!("{}: {e}", path.display()),
    }
}

impl StateDir {
    /// Opens (creating) the directory.
    ///
    /// # Errors
    /// [`Error::State`] when it cannot be created.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        fs::create_dir_all(&path).map_err(|e| io("state directory", &path, &e))?;
        Ok(Self { path })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The role's long-term secret: read from `secret.key`, or generated from the OS
    /// CSPRNG and written there (mode 0600) on first use.
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable or malformed file.
    pub fn secret(&self) -> Result<ClientSecret> {
        let file = self.path.join(SECRET_FILE);
        match fs::read(&file) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::State {
                    what: "secret",
                    reason: format!("{} holds {} bytes, not 32", file.display(), bytes.len()),
                })?;
                Ok(ClientSecret::from_bytes(Zeroizing::new(arr)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = ClientSecret::generate();
                self.write_atomic(SECRET_FILE, secret.to_bytes().as_ref(), true)?;
                Ok(secret)
            }
            Err(e) => Err(io("secret", &file, &e)),
        }
    }

    /// The secure-aggregation ratchet of a Participant (forward-secure per-round
    /// secrets): read from `secagg-ratchet.key`, or a fresh one written there (0600).
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable or malformed file.
    pub fn ratchet(&self) -> Result<RoundRatchet> {
        match self.get_bytes(RATCHET_FILE)? {
            Some(bytes) => {
                let bytes = Zeroizing::new(bytes);
                RoundRatchet::from_bytes(&bytes).map_err(|e| Error::State {
                    what: "ratchet",
                    reason: format!("{}: {e}", self.path.join(RATCHET_FILE).display()),
                })
            }
            None => {
                let ratchet = RoundRatchet::generate();
                self.save_ratchet(&ratchet)?;
                Ok(ratchet)
            }
        }
    }

    /// Replaces the stored ratchet (atomically, 0600): the earlier value is gone from
    /// the directory once this returns.
    ///
    /// # Errors
    /// [`Error::State`] when it cannot be written.
    pub fn save_ratchet(&self, ratchet: &RoundRatchet) -> Result<()> {
        self.write_atomic(RATCHET_FILE, ratchet.to_bytes().as_ref(), true)
    }

    /// Deletes `name` if present.
    ///
    /// # Errors
    /// [`Error::State`] when it exists but cannot be removed.
    pub fn remove(&self, name: &str) -> Result<()> {
        let file = self.path.join(name);
        match fs::remove_file(&file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("file", &file, &e)),
        }
    }

    /// The record `name` (a JSON file), or `T::default()` when there is none yet.
    ///
    /// # Errors
    /// [`Error::State`] for an unreadable or malformed file.
    pub fn load<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        let file = self.path.join(name);
        match fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::State {
                what: "record",
                reason: format!("{}: {e}", file.display()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(io("record", &file, &e)),
        }
    }

    /// Writes the record `name` atomically.
    ///
    /// # Errors
    /// [`Error::State`] when it cannot be written.
    pub fn save<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::State {
            what: "record",
            reason: e.to_string(),
        })?;
        self.write_atomic(name, &bytes, false)
    }

    /// Writes raw bytes `name` atomically (e.g. a private local model).
    ///
    /// # Errors
    /// [`Error::State`] when it cannot be written.
    pub fn put_bytes(&self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write_atomic(name, bytes, true)
    }

    /// Raw bytes `name`, if present.
    ///
    /// # Errors
    /// [`Error::State`] when present but unreadable.
    pub fn get_bytes(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let file = self.path.join(name);
        match fs::read(&file) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("file", &file, &e)),
        }
    }

    fn write_atomic(&self, name: &str, bytes: &[u8], private: bool) -> Result<()> {
        let target = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut f = options.open(&tmp).map_err(|e| io("file", &tmp, &e))?;
        f.write_all(bytes).map_err(|e| io("file", &tmp, &e))?;
        f.sync_all().map_err(|e| io("file", &tmp, &e))?;
        drop(f);
        fs::rename(&tmp, &target).map_err(|e| io("file", &target, &e))
    }
}
