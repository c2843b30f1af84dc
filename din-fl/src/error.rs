//! The one error type of `din-fl`.

use std::path::PathBuf;

/// Errors returned by `din-fl`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing to work on (no updates, an empty data set, zero participants, ...).
    #[error("empty input: {0}")]
    Empty(&'static str),
    /// A vector has the wrong length.
    #[error("{what} {index} has length {found}, expected {expected}")]
    LengthMismatch {
        /// What the vector is.
        what: &'static str,
        /// Its position in the input.
        index: usize,
        /// The length required.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what} {index} holds a non-finite value at position {position}")]
    NonFinite {
        /// What the vector is.
        what: &'static str,
        /// Its position in the input.
        index: usize,
        /// The first offending element.
        position: usize,
    },
    /// A weight is negative or not finite, or all weights are zero.
    #[error("invalid weight: {0}")]
    InvalidWeight(String),
    /// An argument cannot work (a bad option, a fraction outside its range, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A data file is malformed or truncated.
    #[error("malformed data in {path}: {reason}")]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A flat parameter vector or manifest does not fit the model.
    #[error("parameters do not fit the model: {0}")]
    ParameterMismatch(String),
    /// An error from `din-core` (encoding, CIDs, storage).
    #[error(transparent)]
    Core(#[from] din_core::Error),
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
