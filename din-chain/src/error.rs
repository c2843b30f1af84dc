//! The one error type of `din-chain`.

use alloy::primitives::{Address, Bytes};
use alloy::sol_types::SolInterface;

use crate::bindings::{AllowListGate, DinTaskManager, DinToken, EvaluatorRegistry};

/// Everything that can go wrong talking to a chain or the DIN contracts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The call or transaction reverted; [`Error::contract_error`] names the reason.
    #[error("reverted: {}", describe_revert(.data))]
    Revert {
        /// Raw revert data (a custom error's selector and arguments, or empty).
        data: Bytes,
    },
    /// Execution halted (out of gas, invalid opcode, ...).
    #[error("execution halted: {0}")]
    Halt(String),
    /// The backend has no signer for this sender.
    #[error("no signer for account {0} on this chain")]
    UnknownAccount(Address),
    /// A JSON-RPC failure (transport, node error).
    #[error("JSON-RPC: {0}")]
    Rpc(String),
    /// The backend itself failed.
    #[error("chain backend: {0}")]
    Backend(String),
    /// A contract answered something that does not decode as its ABI says.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A deployment produced no contract address.
    #[error("deploying {0} produced no contract")]
    Deploy(&'static str),
    /// An argument was rejected before reaching the chain.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The argument.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A local node process (anvil) could not be started.
    #[error("node process: {0}")]
    Node(String),
    /// A din-core error (CIDs, assignment, encodings).
    #[error(transparent)]
    Core(#[from] din_core::Error),
}

/// `din-chain`'s result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A revert decoded into the DIN contracts' named custom errors.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContractError {
    /// An error of the task manager.
    TaskManager(DinTaskManager::DinTaskManagerErrors),
    /// An error of the evaluator registry.
    Registry(EvaluatorRegistry::EvaluatorRegistryErrors),
    /// An ERC-20 error of the token (OpenZeppelin's `IERC20Errors`).
    Token(DinToken::DinTokenErrors),
    /// An error of the allow-list gate.
    Gate(AllowListGate::AllowListGateErrors),
}

impl ContractError {
    /// Decodes revert data; `None` when it is no DIN contract's error.
    pub fn decode(data: &[u8]) -> Option<Self> {
        if let Ok(e) = DinTaskManager::DinTaskManagerErrors::abi_decode(data) {
            return Some(Self::TaskManager(e));
        }
        if let Ok(e) = EvaluatorRegistry::EvaluatorRegistryErrors::abi_decode(data) {
            return Some(Self::Registry(e));
        }
        if let Ok(e) = DinToken::DinTokenErrors::abi_decode(data) {
            return Some(Self::Token(e));
        }
        AllowListGate::AllowListGateErrors::abi_decode(data)
            .ok()
            .map(Self::Gate)
    }

    /// The Solidity name of the error, e.g. `"AlreadySubmitted"`.
    pub fn name(&self) -> String {
        let debug = format!("{self:?}");
        // `TaskManager(AlreadySubmitted(AlreadySubmitted { .. }))` -> `AlreadySubmitted`
        debug
            .split(['(', ' ', '{'])
            .nth(1)
            .unwrap_or_default()
            .to_string()
    }
}

fn describe_revert(data: &Bytes) -> String {
    if data.is_empty() {
        return "no reason given".into();
    }
    if let Some(e) = ContractError::decode(data) {
        return format!("{e:?}");
    }
    // Solidity's Error(string) and Panic(uint256), and OpenZeppelin's errors.
    if let Ok(reason) = alloy::sol_types::decode_revert_reason(data).ok_or(()) {
        return reason;
    }
    format!("0x{}", alloy::primitives::hex::encode(data))
}

impl Error {
    /// The named contract error behind a revert, if it is one of the DIN contracts'.
    pub fn contract_error(&self) -> Option<ContractError> {
        match self {
            Self::Revert { data } => ContractError::decode(data),
            _ => None,
        }
    }

    /// The Solidity name of the revert's custom error, if any (e.g. `"WrongPhase"`).
    pub fn revert_name(&self) -> Option<String> {
        self.contract_error().map(|e| e.name())
    }
}
