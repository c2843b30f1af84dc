//! The one error type of `din-core`.
//!
//! Every fallible function in this crate returns [`Result`]; each variant says what was
//! wrong in words a user can act on, and carries the values needed to locate the problem.

use std::path::PathBuf;

/// Errors returned by `din-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A canonical encoding ended before a field was complete.
    #[error("truncated {context}: needed {needed} more bytes, {remaining} left")]
    Truncated {
        /// What was being read.
        context: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left in the input.
        remaining: usize,
    },
    /// A canonical encoding had bytes after its last field.
    #[error("{count} trailing bytes after a complete {context}")]
    TrailingBytes {
        /// What was decoded.
        context: &'static str,
        /// How many bytes were left over.
        count: usize,
    },
    /// The encoding's version byte is not one this build understands.
    #[error("unsupported encoding version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version found in the input.
        found: u8,
        /// Version this build reads and writes.
        supported: u8,
    },
    /// The encoding's type tag names a different message type.
    #[error("expected a {expected} (tag {expected_tag:#04x}), found tag {found:#04x}")]
    WrongType {
        /// The type the caller asked for.
        expected: &'static str,
        /// Its tag.
        expected_tag: u8,
        /// The tag found in the input.
        found: u8,
    },
    /// A field holds a value that is not allowed (bad enum tag, non-canonical boolean,
    /// invalid UTF-8, non-canonical CID bytes, ...).
    #[error("invalid {field}: {reason}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A length or count exceeds the limit for its field.
    #[error("{field} has length {len}, above the limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The length found.
        len: u64,
        /// The largest length allowed.
        max: u64,
    },
    /// A configuration cannot work as given.
    #[error("invalid task configuration: {field}: {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// Why it cannot work.
        reason: String,
    },
    /// A parameter manifest or model reference is inconsistent.
    #[error("invalid parameter manifest: {0}")]
    InvalidManifest(String),
    /// A CID could not be parsed.
    #[error("malformed CID: {0}")]
    MalformedCid(String),
    /// A CID is well formed but uses a codec or hash this crate does not handle.
    #[error("unsupported CID {cid}: {reason}")]
    UnsupportedCid {
        /// The CID.
        cid: String,
        /// What is not supported.
        reason: String,
    },
    /// A block is not in the store.
    #[error("block {cid} is not in the store")]
    BlockNotFound {
        /// The missing block's CID.
        cid: String,
    },
    /// A block's bytes do not hash to its CID (corrupted or truncated on disk or in transit).
    #[error("block {cid} is corrupt: {reason}")]
    CorruptBlock {
        /// The block's CID.
        cid: String,
        /// What was found instead.
        reason: String,
    },
    /// A UnixFS / dag-pb node could not be decoded or does not describe a file.
    #[error("malformed DAG node {cid}: {reason}")]
    MalformedDag {
        /// The node's CID.
        cid: String,
        /// What is wrong.
        reason: String,
    },
    /// A CAR file is malformed.
    #[error("malformed CAR file: {0}")]
    MalformedCar(String),
    /// A filesystem operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A networked store (an IPFS node) could not be reached or answered an error.
    #[error("store at {endpoint}: {reason}")]
    Transport {
        /// The endpoint (URL) involved.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// An assignment was asked for with inputs that cannot produce one.
    #[error("cannot assign subgroups: {0}")]
    Assignment(String),
    /// A score is outside `[0, SCORE_ONE]`.
    #[error("score {value} is outside [0, {max}]")]
    InvalidScore {
        /// The score given.
        value: u64,
        /// The largest allowed score.
        max: u64,
    },
    /// A revealed score does not match its commitment.
    #[error("score reveal does not match its commitment for participant {participant}")]
    CommitmentMismatch {
        /// The participant the score is about.
        participant: String,
    },
    /// A fixed-point configuration cannot guarantee an exact sum, or an input cannot be
    /// encoded (NaN or infinite values, zero or excessive weights).
    #[error("fixed-point encoding: {0}")]
    FixedPoint(String),
    /// Secure aggregation parameters that cannot work (threshold, neighbours, sizes).
    #[error("invalid secure-aggregation parameters: {0}")]
    SecAggParams(String),
    /// A secure-aggregation call came at the wrong stage (out of order, or repeated).
    #[error("secure aggregation is at stage {current}, cannot {attempted}")]
    StageOrder {
        /// The stage the party is in.
        current: &'static str,
        /// What was attempted.
        attempted: &'static str,
    },
    /// A message is bound to another task, round, subgroup or stage: a replay or a
    /// message delivered to the wrong place.
    #[error("message from client {sender} is bound to {field} {found}, expected {expected}")]
    WrongBinding {
        /// The claimed sender.
        sender: u32,
        /// Which binding differs (task, round, subgroup, stage).
        field: &'static str,
        /// The value this party expects.
        expected: String,
        /// The value in the message.
        found: String,
    },
    /// A message's sender is unknown, repeated, or not entitled to send it.
    #[error("message from client {sender} rejected: {reason}")]
    BadSender {
        /// The claimed sender.
        sender: u32,
        /// Why it is rejected.
        reason: String,
    },
    /// A message field has the wrong length.
    #[error("{what} from client {sender} has length {found}, expected {expected}")]
    WrongLength {
        /// The field.
        what: &'static str,
        /// The claimed sender.
        sender: u32,
        /// The length required.
        expected: u64,
        /// The length found.
        found: u64,
    },
    /// An encrypted share did not decrypt: forged sender, tampered ciphertext or wrong key.
    #[error("encrypted share from client {sender} to client {recipient} failed authentication")]
    Decryption {
        /// The claimed sender.
        sender: u32,
        /// The recipient.
        recipient: u32,
    },
    /// Fewer clients survived than the threshold: the round cannot be unmasked.
    #[error(
        "only {survivors} clients survived, the threshold is {threshold}: the round fails rather than return a wrong sum"
    )]
    TooFewSurvivors {
        /// Surviving clients.
        survivors: usize,
        /// The Shamir threshold.
        threshold: u32,
    },
    /// Too few shares of one client's secret arrived to reconstruct it.
    #[error("client {owner}'s {secret} needs {need} shares, {have} arrived")]
    NotEnoughShares {
        /// Whose secret.
        owner: u32,
        /// Which secret (self-mask seed or mask key).
        secret: &'static str,
        /// Shares available.
        have: usize,
        /// The threshold.
        need: u32,
    },
    /// Both a client's self-mask seed and its mask key were asked for or revealed:
    /// together they would unmask its individual update.
    #[error("client {owner}: both its self-mask seed and its mask key would be revealed")]
    ConflictingReveal {
        /// The client concerned.
        owner: u32,
    },
    /// An unmasked subgroup sum is outside what clipped, bounded inputs can add up to
    /// (review hole 4): some survivor wrote words no honest encoding produces.
    #[error("subgroup sum out of bounds: {reason}")]
    OutOfBounds {
        /// Which bound, with the values.
        reason: String,
    },
    /// A reconstructed secret does not match what its owner committed to.
    #[error("client {owner}'s reconstructed {secret} does not match its commitment")]
    ShareMismatch {
        /// Whose secret.
        owner: u32,
        /// Which secret.
        secret: &'static str,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidValue {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
