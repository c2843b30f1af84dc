//! The Python exception hierarchy: `DinError` and one subclass per Rust error family,
//! each carrying the Rust error's message.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(din, DinError, PyException, "Base class of every din error.");
create_exception!(
    din,
    InvalidInputError,
    DinError,
    "Bad arguments: shapes, dtypes, lengths, NaN or infinite values, out-of-range numbers."
);
create_exception!(din, CidError, DinError, "A malformed or unsupported CID.");
create_exception!(
    din,
    EncodingError,
    DinError,
    "Bytes that do not decode: truncated, trailing, wrong version or type."
);
create_exception!(
    din,
    StoreError,
    DinError,
    "Content-addressed storage: a missing or corrupt block, a malformed DAG or CAR, I/O."
);
create_exception!(
    din,
    SecAggError,
    DinError,
    "Secure aggregation: bad parameters, too few survivors or shares, tampered messages."
);
create_exception!(din, ScoringError, DinError, "Scores and score commitments.");
create_exception!(
    din,
    TrainingError,
    DinError,
    "Models, training, data sets and aggregation (din-fl)."
);

create_exception!(
    din,
    ChainError,
    DinError,
    "The chain: a contract's named error (revert), a node that cannot be reached."
);
create_exception!(
    din,
    ProtocolError,
    DinError,
    "A role cannot go on, or what the chain and the store say does not fit together."
);

/// Maps an error of the `din` crate (roles, whole tasks) to its exception family.
pub(crate) fn din_err(e: din::Error) -> PyErr {
    match e {
        din::Error::Core(c) => core_err(c),
        din::Error::Fl(f) => fl_err(f),
        din::Error::Chain(c) => ChainError::new_err(c.to_string()),
        din::Error::Role {
            role: "task options",
            ..
        } => InvalidInputError::new_err(e.to_string()),
        other => ProtocolError::new_err(other.to_string()),
    }
}

/// Maps a din-core error to its exception family.
pub(crate) fn core_err(e: din_core::Error) -> PyErr {
    use din_core::Error as E;
    let msg = e.to_string();
    match e {
        E::MalformedCid(_) | E::UnsupportedCid { .. } => CidError::new_err(msg),
        E::Truncated { .. }
        | E::TrailingBytes { .. }
        | E::UnsupportedVersion { .. }
        | E::WrongType { .. }
        | E::TooLong { .. } => EncodingError::new_err(msg),
        E::BlockNotFound { .. }
        | E::CorruptBlock { .. }
        | E::MalformedDag { .. }
        | E::MalformedCar(_)
        | E::Io { .. }
        | E::Transport { .. } => StoreError::new_err(msg),
        E::InvalidScore { .. } | E::CommitmentMismatch { .. } => ScoringError::new_err(msg),
        E::InvalidValue { .. } | E::InvalidConfig { .. } | E::InvalidManifest(_) => {
            InvalidInputError::new_err(msg)
        }
        E::Assignment(_) => InvalidInputError::new_err(msg),
        _ => SecAggError::new_err(msg),
    }
}

/// Maps a din-fl error to its exception family.
pub(crate) fn fl_err(e: din_fl::Error) -> PyErr {
    use din_fl::Error as E;
    match e {
        E::Core(c) => core_err(c),
        E::LengthMismatch { .. }
        | E::NonFinite { .. }
        | E::InvalidWeight(_)
        | E::InvalidArgument(_)
        | E::Empty(_)
        | E::ParameterMismatch(_) => InvalidInputError::new_err(e.to_string()),
        other => TrainingError::new_err(other.to_string()),
    }
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("DinError", py.get_type::<DinError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("CidError", py.get_type::<CidError>())?;
    m.add("EncodingError", py.get_type::<EncodingError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("SecAggError", py.get_type::<SecAggError>())?;
    m.add("ScoringError", py.get_type::<ScoringError>())?;
    m.add("TrainingError", py.get_type::<TrainingError>())?;
    m.add("ChainError", py.get_type::<ChainError>())?;
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    Ok(())
}
