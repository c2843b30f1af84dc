//! The one error type of the `din` crate: the layers' errors, plus what only joining
//! them can find.

/// Everything that can go wrong in the SDK's composed operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Protocol, content-addressing, storage or secure-aggregation errors (din-core).
    #[error(transparent)]
    Core(#[from] din_core::Error),
    /// Training, model or aggregation errors (din-fl).
    #[error(transparent)]
    Fl(#[from] din_fl::Error),
    /// Chain errors, reverts named (din-chain).
    #[error(transparent)]
    Chain(#[from] din_chain::Error),
    /// Inputs that do not fit together (e.g. aggregates of different lengths).
    #[error("{what}: {reason}")]
    Inconsistent {
        /// What was being combined or checked.
        what: &'static str,
        /// Why it does not fit.
        reason: String,
    },
    /// A role's persisted state cannot be read or written.
    #[error("role state ({what}): {reason}")]
    State {
        /// Which part of the state.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A role cannot go on (e.g. an Evaluator without tokens to stake, a task that
    /// does not exist).
    #[error("{role}: {reason}")]
    Role {
        /// The role.
        role: &'static str,
        /// Why.
        reason: String,
    },
}

/// The `din` crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
