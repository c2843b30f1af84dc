//! The sealed test set (paper §5.2; threat model §6, sixth and seventh threats).
//!
//! The Model Owner keeps the test split secret until training is over, then lets only
//! the task's staked, assigned Evaluators read it:
//! 1. [`seal`] encrypts the test set under a fresh [`DataKey`] (ChaCha20-Poly1305, random
//!    nonce, bound to the task by associated data); the sealed bytes go to storage by
//!    CID, where anyone may fetch them but nobody can read them.
//! 2. After the final round, [`wrap_key`] encrypts the data key to each Evaluator's
//!    X25519 public key (an ephemeral key per recipient, HKDF-SHA256, ChaCha20-Poly1305);
//!    the [`KeyBundle`] goes to storage and its CID on-chain (`releaseTestSet`).
//! 3. An Evaluator finds its entry, [`unwrap_key`]s it with its [`EvaluatorKey`] and
//!    [`open`]s the test set. Wrong keys, another task's bundle, or tampered bytes fail
//!    with [`Error::InvalidValue`].
//!
//! Secret types ([`DataKey`], [`EvaluatorKey`]) are zeroized on drop and have no
//! `Debug`, `Clone` or serde.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::encoding::{Canonical, MAX_ITEMS, Message, Reader, Writer};
use crate::types::{Address, TaskId};
use crate::{Error, Result};

/// Version byte of sealed test sets.
pub const SEALED_VERSION: u8 = 1;
/// HKDF info of key wrapping.
pub const WRAP_INFO: &[u8] = b"din/test-set/v1/wrap";
/// Length of a wrapped key's ciphertext (32-byte key + 16-byte tag).
pub const WRAPPED_LEN: usize = 48;

fn random32() -> Zeroizing<[u8; 32]> {
    use rand::Rng as _;
    let mut out = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(out.as_mut());
    out
}

fn aad(task: TaskId, what: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(8 + what.len());
    a.extend_from_slice(&task.0.to_be_bytes());
    a.extend_from_slice(what);
    a
}

fn decryption(what: &str) -> Error {
    Error::invalid(
        "sealed test set",
        format!("{what}: authentication failed (wrong key, another task, or tampered bytes)"),
    )
}

/// The symmetric key of one task's test set.
#[derive(ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(*random32())
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.0.into())
    }
}

/// An Evaluator's long-term X25519 key for receiving wrapped test-set keys.
#[derive(ZeroizeOnDrop)]
pub struct EvaluatorKey(StaticSecret);

impl EvaluatorKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(StaticSecret::from(*random32()))
    }

    /// The key from its 32 secret bytes (e.g. read from the Evaluator's key file).
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self(StaticSecret::from(*bytes))
    }

    /// The secret bytes, for the Evaluator's own key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key to publish.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.0).to_bytes()
    }
}

/// Encrypts `test_set` for `task`: `version || nonce(12) || ciphertext+tag`.
///
/// # Errors
/// [`Error::InvalidValue`] if the AEAD refuses (inputs beyond its limits).
pub fn seal(task: TaskId, key: &DataKey, test_set: &[u8]) -> Result<Vec<u8>> {
    let nonce_bytes = random32();
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(nonce_bytes.get(..12).unwrap_or(&[0; 12]));
    let ct = key
        .cipher()
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: test_set,
                aad: &aad(task, b"din/test-set/v1/data"),
            },
        )
        .map_err(|_| Error::invalid("sealed test set", "encryption failed"))?;
    let mut out = Vec::with_capacity(1 + 12 + ct.len());
    out.push(SEALED_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts a sealed test set of `task`.
///
/// # Errors
/// [`Error::Truncated`] / [`Error::UnsupportedVersion`] for malformed bytes;
/// [`Error::InvalidValue`] when authentication fails.
pub fn open(task: TaskId, key: &DataKey, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut r = Reader::new(sealed);
    let version = r.u8("sealed test set version")?;
    if version != SEALED_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: SEALED_VERSION,
        });
    }
    let nonce: [u8; 12] = r.array("sealed test set nonce")?;
    let ct = r.take(
        sealed.len().saturating_sub(13),
        "sealed test set ciphertext",
    )?;
    if ct.len() < 16 {
        return Err(Error::Truncated {
            context: "sealed test set ciphertext",
            needed: 16,
            remaining: ct.len(),
        });
    }
    key.cipher()
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: ct,
                aad: &aad(task, b"din/test-set/v1/data"),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| decryption("test set"))
}

/// A data key encrypted to one Evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The Evaluator it is for.
    pub evaluator: Address,
    /// Ephemeral X25519 public key of this wrapping.
    pub ephemeral: [u8; 32],
    /// The data key under the derived key-encryption key, with its tag.
    pub ciphertext: [u8; WRAPPED_LEN],
}

fn kek(
    task: TaskId,
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> Result<ChaCha20Poly1305> {
    let hk = Hkdf::<Sha256>::new(Some(&task.0.to_be_bytes()), shared);
    let mut info = Vec::with_capacity(WRAP_INFO.len() + 64);
    info.extend_from_slice(WRAP_INFO);
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(recipient);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(&info, okm.as_mut())
        .map_err(|_| Error::invalid("key wrap", "HKDF output length"))?;
    Ok(ChaCha20Poly1305::new(&(*okm).into()))
}

/// Encrypts `key` to the Evaluator `evaluator` whose X25519 public key is `recipient`.
///
/// # Errors
/// [`Error::InvalidValue`] for a low-order (all-zero shared secret) public key.
pub fn wrap_key(
    task: TaskId,
    key: &DataKey,
    evaluator: Address,
    recipient: &[u8; 32],
) -> Result<WrappedKey> {
    let eph = StaticSecret::from(*random32());
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = Zeroizing::new(eph.diffie_hellman(&PublicKey::from(*recipient)).to_bytes());
    if shared.iter().all(|&b| b == 0) {
        return Err(Error::invalid("evaluator public key", "low-order point"));
    }
    let ct = kek(task, &shared, &eph_pub, recipient)?
        .encrypt(
            (&[0u8; 12]).into(),
            Payload {
                msg: &key.0,
                aad: evaluator.as_bytes(),
            },
        )
        .map_err(|_| Error::invalid("key wrap", "encryption failed"))?;
    let ciphertext: [u8; WRAPPED_LEN] = ct
        .try_into()
        .map_err(|_| Error::invalid("key wrap", "unexpected ciphertext length"))?;
    Ok(WrappedKey {
        evaluator,
        ephemeral: eph_pub,
        ciphertext,
    })
}

/// Recovers the data key from `wrapped` with the Evaluator's key.
///
/// # Errors
/// [`Error::InvalidValue`] when it was not wrapped to this key for this task.
pub fn unwrap_key(task: TaskId, wrapped: &WrappedKey, me: &EvaluatorKey) -> Result<DataKey> {
    let shared = Zeroizing::new(
        me.0.diffie_hellman(&PublicKey::from(wrapped.ephemeral))
            .to_bytes(),
    );
    let plain = kek(task, &shared, &wrapped.ephemeral, &me.public())?
        .decrypt(
            (&[0u8; 12]).into(),
            Payload {
                msg: &wrapped.ciphertext,
                aad: wrapped.evaluator.as_bytes(),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| decryption("wrapped key"))?;
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| Error::invalid("wrapped key", "not 32 bytes"))?;
    Ok(DataKey(bytes))
}

impl Canonical for WrappedKey {
    fn encode(&self, w: &mut Writer) {
        self.evaluator.encode(w);
        w.raw(&self.ephemeral);
        w.raw(&self.ciphertext);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            evaluator: Address::decode(r)?,
            ephemeral: r.array("ephemeral key")?,
            ciphertext: r.array("wrapped key")?,
        })
    }
}

/// The data key wrapped to every assigned Evaluator of a task: published by CID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBundle {
    /// The task.
    pub task: TaskId,
    /// One entry per Evaluator.
    pub keys: Vec<WrappedKey>,
}

impl KeyBundle {
    /// The entry for `evaluator`, if any.
    pub fn for_evaluator(&self, evaluator: &Address) -> Option<&WrappedKey> {
        self.keys.iter().find(|k| &k.evaluator == evaluator)
    }
}

impl Canonical for KeyBundle {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.keys.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let task = TaskId::decode(r)?;
        let keys = r.list("wrapped keys", MAX_ITEMS, WrappedKey::decode)?;
        Ok(Self { task, keys })
    }
}

impl Message for KeyBundle {
    const TAG: u8 = 0x07;
    const NAME: &'static str = "test-set key bundle";
}

/// A Participant's contribution for scoring (paper §5.2): its last local model sealed
/// under a fresh data key, the key wrapped to each Evaluator of its subgroup. Stored by
/// CID and recorded on-chain (`submitContribution`); only those Evaluators can open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedContribution {
    /// The task.
    pub task: TaskId,
    /// The Participant whose model this is.
    pub participant: Address,
    /// The data key, wrapped to each Evaluator.
    pub keys: Vec<WrappedKey>,
    /// The model file, sealed ([`seal`]).
    pub sealed: Vec<u8>,
}

impl SealedContribution {
    /// Seals `model` (e.g. a din-fl model file) for the Evaluators `(address, X25519
    /// public key)`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a low-order Evaluator key.
    pub fn seal(
        task: TaskId,
        participant: Address,
        model: &[u8],
        evaluators: &[(Address, [u8; 32])],
    ) -> Result<Self> {
        let key = DataKey::generate();
        let keys = evaluators
            .iter()
            .map(|(a, pk)| wrap_key(task, &key, *a, pk))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            task,
            participant,
            keys,
            sealed: seal(task, &key, model)?,
        })
    }

    /// Opens the model as Evaluator `me` (address `evaluator`).
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when this Evaluator has no key here or authentication fails.
    pub fn open(&self, evaluator: &Address, me: &EvaluatorKey) -> Result<Zeroizing<Vec<u8>>> {
        let wrapped = self
            .keys
            .iter()
            .find(|k| &k.evaluator == evaluator)
            .ok_or_else(|| {
                Error::invalid(
                    "sealed contribution",
                    format!("no key for evaluator {evaluator}"),
                )
            })?;
        let key = unwrap_key(self.task, wrapped, me)?;
        open(self.task, &key, &self.sealed)
    }
}

impl Canonical for SealedContribution {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.participant.encode(w);
        self.keys.encode(w);
        w.bytes(&self.sealed);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let task = TaskId::decode(r)?;
        let participant = Address::decode(r)?;
        let keys = r.list("wrapped keys", MAX_ITEMS, WrappedKey::decode)?;
        let sealed = r.bytes("sealed model", u32::MAX)?.to_vec();
        Ok(Self {
            task,
            participant,
            keys,
            sealed,
        })
    }
    fn size_hint(&self) -> usize {
        128 + self.sealed.len() + self.keys.len() * 100
    }
}

impl Message for SealedContribution {
    const TAG: u8 = 0x08;
    const NAME: &'static str = "sealed contribution";
}
