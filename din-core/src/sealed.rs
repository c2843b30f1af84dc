//! Sealed data: the test set and the Participants' contributions (paper §5.2; threat
//! model §6, sixth and seventh threats; review hole 8).
//!
//! The Model Owner keeps the test split secret until training is over, then lets only
//! the task's staked, assigned Evaluators read it; each Participant's last model is read
//! only by its subgroup's Evaluators:
//! 1. [`seal`] encrypts the data under a fresh [`DataKey`] (ChaCha20-Poly1305). The
//!    sealed bytes start with a **key commitment** (an HKDF output of the key), so they
//!    open under exactly one key: an Owner cannot show different Evaluators different
//!    plaintexts by wrapping different keys. The associated data names the [`Purpose`]
//!    (separate labels for the test set and contributions) and a context (a
//!    contribution's task and Participant). Each key seals one message; the nonce is
//!    derived from it.
//! 2. The Model Owner seals its test set **before** creating the task, and the task
//!    commits to the sealed bytes' CID (`TaskParams.testSet`): the contract rejects a
//!    release of anything else, so the test set cannot be chosen after seeing the models.
//! 3. [`wrap_key`] encrypts the data key to each Evaluator's X25519 public key (an
//!    ephemeral key per recipient, HKDF-SHA256, ChaCha20-Poly1305), bound to the task,
//!    the purpose, the Evaluator and the sealed bytes ([`Binding`]), so a wrapped key
//!    cannot be moved to other data. The [`KeyBundle`] goes to storage and its CID
//!    on-chain (`releaseTestSet`).
//! 4. An Evaluator finds its entry, [`unwrap_key`]s it with its [`EvaluatorKey`] and
//!    [`open`]s the data. Wrong keys, another task's bundle, another Participant's name
//!    or tampered bytes fail with [`Error::InvalidValue`].
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

/// Version byte of sealed data (2: key commitment, purpose labels, derived nonce).
pub const SEALED_VERSION: u8 = 2;
/// Length of a wrapped key's ciphertext (32-byte key + 16-byte tag).
pub const WRAPPED_LEN: usize = 48;
/// Bytes before the ciphertext: the version and the key commitment.
const HEADER_LEN: usize = 1 + 32;

/// What sealed bytes hold; each purpose has its own labels, so sealed data or a wrapped
/// key of one purpose never opens as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The Model Owner's test set.
    TestSet,
    /// A Participant's contribution (its last local model).
    Contribution,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::TestSet => b"din/sealed/v2/test-set",
            Purpose::Contribution => b"din/sealed/v2/contribution",
        }
    }

    fn wrap_label(self) -> &'static [u8] {
        match self {
            Purpose::TestSet => b"din/sealed/v2/test-set/wrap",
            Purpose::Contribution => b"din/sealed/v2/contribution/wrap",
        }
    }
}

fn random32() -> Zeroizing<[u8; 32]> {
    use rand::Rng as _;
    let mut out = Zeroizing::new([0u8; 32]);
    rand::rng().fill_bytes(out.as_mut());
    out
}

/// `label || context length (u32 BE) || context`: the associated data of sealed bytes.
fn aad(purpose: Purpose, context: &[u8]) -> Vec<u8> {
    let label = purpose.label();
    let mut a = Vec::with_capacity(label.len() + 4 + context.len());
    a.extend_from_slice(label);
    a.extend_from_slice(
        &u32::try_from(context.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    a.extend_from_slice(context);
    a
}

fn decryption(what: &str) -> Error {
    Error::invalid(
        "sealed data",
        format!(
            "{what}: authentication failed (wrong key, another task or participant, or tampered bytes)"
        ),
    )
}

/// The symmetric key of one sealed message. A key seals one message only (the nonce is
/// derived from it).
#[derive(ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(*random32())
    }

    /// A key from 32 secret bytes, e.g. derived from a role's secret and a hash of what
    /// it seals, so a restarted role seals the same bytes again.
    pub fn from_bytes(bytes: Zeroizing<[u8; 32]>) -> Self {
        Self(*bytes)
    }

    fn expand(&self, info: &[u8], out: &mut [u8]) -> Result<()> {
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(info, out)
            .map_err(|_| Error::invalid("data key", "HKDF output length"))
    }

    /// The key commitment sealed bytes start with: `HKDF-SHA256(ikm = key, info =
    /// "din/sealed/v2/key-commitment")`.
    fn commitment(&self) -> Result<[u8; 32]> {
        let mut out = [0u8; 32];
        self.expand(b"din/sealed/v2/key-commitment", &mut out)?;
        Ok(out)
    }

    fn cipher_and_nonce(&self) -> Result<(ChaCha20Poly1305, [u8; 12])> {
        let mut okm = Zeroizing::new([0u8; 44]);
        self.expand(b"din/sealed/v2/cipher", okm.as_mut())?;
        let (k, n) = okm.split_at(32);
        let key: [u8; 32] = k
            .try_into()
            .map_err(|_| Error::invalid("data key", "length"))?;
        let key = Zeroizing::new(key);
        let nonce: [u8; 12] = n
            .try_into()
            .map_err(|_| Error::invalid("data key", "length"))?;
        Ok((ChaCha20Poly1305::new(&(*key).into()), nonce))
    }
}

/// An Evaluator's long-term X25519 key for receiving wrapped data keys.
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

/// Encrypts `plaintext` for `purpose` under `key`, which must seal nothing else:
/// `version || key commitment(32) || ciphertext+tag`, with associated data `purpose
/// label || context`.
///
/// # Errors
/// [`Error::InvalidValue`] if the AEAD refuses (inputs beyond its limits).
pub fn seal(purpose: Purpose, context: &[u8], key: &DataKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    let (cipher, nonce) = key.cipher_and_nonce()?;
    let ct = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad: &aad(purpose, context),
            },
        )
        .map_err(|_| Error::invalid("sealed data", "encryption failed"))?;
    let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
    out.push(SEALED_VERSION);
    out.extend_from_slice(&key.commitment()?);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts sealed bytes of `purpose` with `context`.
///
/// # Errors
/// [`Error::Truncated`] / [`Error::UnsupportedVersion`] for malformed bytes;
/// [`Error::InvalidValue`] when the key is not the one the bytes commit to, or
/// authentication fails.
pub fn open(
    purpose: Purpose,
    context: &[u8],
    key: &DataKey,
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let mut r = Reader::new(sealed);
    let version = r.u8("sealed data version")?;
    if version != SEALED_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            supported: SEALED_VERSION,
        });
    }
    let committed: [u8; 32] = r.array("sealed data key commitment")?;
    let ct = r.take(
        sealed.len().saturating_sub(HEADER_LEN),
        "sealed data ciphertext",
    )?;
    if ct.len() < 16 {
        return Err(Error::Truncated {
            context: "sealed data ciphertext",
            needed: 16,
            remaining: ct.len(),
        });
    }
    let ours = key.commitment()?;
    if ours
        .iter()
        .zip(&committed)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        != 0
    {
        return Err(Error::invalid(
            "sealed data",
            "the key is not the one these bytes commit to (a different key was wrapped to this evaluator)",
        ));
    }
    let (cipher, nonce) = key.cipher_and_nonce()?;
    cipher
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: ct,
                aad: &aad(purpose, context),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| {
            decryption(match purpose {
                Purpose::TestSet => "test set",
                Purpose::Contribution => "contribution",
            })
        })
}

/// What a wrapped key is bound to: the purpose, the context and the sealed bytes it
/// opens (`SHA-256(label || context || sealed)`), so it cannot be moved to other data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    purpose: Purpose,
    digest: [u8; 32],
}

impl Binding {
    /// The binding of `sealed` (as [`seal`] returned it for `purpose` and `context`).
    pub fn of(purpose: Purpose, context: &[u8], sealed: &[u8]) -> Self {
        let mut a = aad(purpose, context);
        a.extend_from_slice(sealed);
        Self {
            purpose,
            digest: crate::hash::sha256(&a),
        }
    }
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
    purpose: Purpose,
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> Result<ChaCha20Poly1305> {
    let hk = Hkdf::<Sha256>::new(Some(&task.0.to_be_bytes()), shared);
    let label = purpose.wrap_label();
    let mut info = Vec::with_capacity(label.len() + 64);
    info.extend_from_slice(label);
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(recipient);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(&info, okm.as_mut())
        .map_err(|_| Error::invalid("key wrap", "HKDF output length"))?;
    Ok(ChaCha20Poly1305::new(&(*okm).into()))
}

fn wrap_aad(evaluator: &Address, binding: &Binding) -> Vec<u8> {
    let mut a = evaluator.as_bytes().to_vec();
    a.extend_from_slice(&binding.digest);
    a
}

/// Encrypts `key` to the Evaluator `evaluator` whose X25519 public key is `recipient`,
/// for the sealed bytes `binding` names.
///
/// # Errors
/// [`Error::InvalidValue`] for a low-order (all-zero shared secret) public key.
pub fn wrap_key(
    task: TaskId,
    key: &DataKey,
    evaluator: Address,
    recipient: &[u8; 32],
    binding: &Binding,
) -> Result<WrappedKey> {
    let eph = StaticSecret::from(*random32());
    let eph_pub = PublicKey::from(&eph).to_bytes();
    let shared = Zeroizing::new(eph.diffie_hellman(&PublicKey::from(*recipient)).to_bytes());
    if shared.iter().all(|&b| b == 0) {
        return Err(Error::invalid("evaluator public key", "low-order point"));
    }
    let ct = kek(task, binding.purpose, &shared, &eph_pub, recipient)?
        .encrypt(
            (&[0u8; 12]).into(),
            Payload {
                msg: &key.0,
                aad: &wrap_aad(&evaluator, binding),
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
/// [`Error::InvalidValue`] when it was not wrapped to this key, for this task, for the
/// sealed bytes `binding` names.
pub fn unwrap_key(
    task: TaskId,
    wrapped: &WrappedKey,
    me: &EvaluatorKey,
    binding: &Binding,
) -> Result<DataKey> {
    let shared = Zeroizing::new(
        me.0.diffie_hellman(&PublicKey::from(wrapped.ephemeral))
            .to_bytes(),
    );
    let plain = kek(
        task,
        binding.purpose,
        &shared,
        &wrapped.ephemeral,
        &me.public(),
    )?
    .decrypt(
        (&[0u8; 12]).into(),
        Payload {
            msg: &wrapped.ciphertext,
            aad: &wrap_aad(&wrapped.evaluator, binding),
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
    /// The associated data context of a contribution: `task (u64 BE) || participant`.
    fn context(task: TaskId, participant: &Address) -> Vec<u8> {
        let mut c = task.0.to_be_bytes().to_vec();
        c.extend_from_slice(participant.as_bytes());
        c
    }

    /// Seals `model` (e.g. a din-fl model file) for the Evaluators `(address, X25519
    /// public key)`. The Participant's address is in the associated data of the sealed
    /// model and, with the sealed bytes, of every wrapped key: renaming the contribution
    /// breaks it.
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
        let context = Self::context(task, &participant);
        let sealed = seal(Purpose::Contribution, &context, &key, model)?;
        let binding = Binding::of(Purpose::Contribution, &context, &sealed);
        let keys = evaluators
            .iter()
            .map(|(a, pk)| wrap_key(task, &key, *a, pk, &binding))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            task,
            participant,
            keys,
            sealed,
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
        let context = Self::context(self.task, &self.participant);
        let binding = Binding::of(Purpose::Contribution, &context, &self.sealed);
        let key = unwrap_key(self.task, wrapped, me, &binding)?;
        open(Purpose::Contribution, &context, &key, &self.sealed)
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
