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
}

/// The `din` crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
