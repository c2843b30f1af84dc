//! Chain backends: where transactions run.
//!
//! [`Chain`] is the one interface the DIN client needs from a chain: read-only calls,
//! transactions with receipts (gas used, logs), log queries and the current block.
//! Two backends implement it:
//! - [`EmbeddedChain`]: an in-process EVM (revm), the default. No setup, deterministic
//!   (blocks, timestamps and block hashes follow fixed rules), and it measures gas
//!   exactly as a node would.
//! - [`RpcChain`]: JSON-RPC to any Ethereum node (anvil in the tests), signing locally
//!   with the accounts' private keys.
//!
//! Both are blocking: a role process is a sequence of waits on the chain, and blocking
//! calls keep the Python bindings and the examples simple. [`DevChain`] adds what only a
//! development chain can do (move time, fund accounts).

mod embedded;
mod rpc;

pub use embedded::{BLOCK_GAS_LIMIT, BLOCK_TIME, CHAIN_ID, EmbeddedChain, GENESIS_TIMESTAMP};
pub use rpc::RpcChain;

use alloy::primitives::{Address, B256, Bytes, U256};

use crate::Result;

/// A transaction to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    /// Sender; must be an account the backend can sign for.
    pub from: Address,
    /// Callee; `None` deploys `data` as init code.
    pub to: Option<Address>,
    /// Calldata (or init code).
    pub data: Bytes,
    /// Ether sent along (wei).
    pub value: U256,
}

impl TxRequest {
    /// A call of `to` with `data` from `from`, no value.
    pub fn call(from: Address, to: Address, data: impl Into<Bytes>) -> Self {
        Self {
            from,
            to: Some(to),
            data: data.into(),
            value: U256::ZERO,
        }
    }

    /// A deployment of `init_code` from `from`.
    pub fn deploy(from: Address, init_code: impl Into<Bytes>) -> Self {
        Self {
            from,
            to: None,
            data: init_code.into(),
            value: U256::ZERO,
        }
    }
}

/// One event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Emitting contract.
    pub address: Address,
    /// Topics (the first is the event signature hash).
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// Block that included it.
    pub block_number: u64,
}

/// The outcome of a successful transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Transaction hash (the embedded chain derives one from the block and sender).
    pub tx_hash: B256,
    /// Gas charged, as in the node's receipt (intrinsic gas included, refunds applied).
    pub gas_used: u64,
    /// Block that included it.
    pub block_number: u64,
    /// Address of the deployed contract, for deployments.
    pub contract_address: Option<Address>,
    /// Logs emitted.
    pub logs: Vec<LogEntry>,
}

/// The latest block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// Block number.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
}

/// A log query: logs of `address` from block `from_block` on (up to `to_block`, if
/// given), optionally with a given first topic (event signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Emitting contract.
    pub address: Address,
    /// First block to include.
    pub from_block: u64,
    /// Last block to include (`None`: the latest): a pinned view.
    pub to_block: Option<u64>,
    /// Event signature hash, if only one event is wanted.
    pub event: Option<B256>,
}

/// What the DIN client needs from a chain.
///
/// A reverted call or transaction is [`crate::Error::Revert`] carrying the revert data,
/// which [`crate::Error::contract_error`] decodes into the contracts' named errors; a
/// reverted transaction changes no state.
pub trait Chain: Send + Sync {
    /// The chain id.
    ///
    /// # Errors
    /// Transport failures.
    fn chain_id(&self) -> Result<u64>;

    /// The latest block.
    ///
    /// # Errors
    /// Transport failures.
    fn block(&self) -> Result<BlockInfo>;

    /// Block `number` (at most the latest).
    ///
    /// # Errors
    /// Transport failures; [`crate::Error::Backend`] or [`crate::Error::Rpc`] for a block
    /// the chain does not have.
    fn block_at(&self, number: u64) -> Result<BlockInfo>;

    /// Executes a read-only call against the latest state.
    ///
    /// # Errors
    /// [`crate::Error::Revert`] when the call reverts; transport failures.
    fn call(&self, from: Address, to: Address, data: Bytes) -> Result<Bytes>;

    /// Sends a transaction and waits for its receipt.
    ///
    /// # Errors
    /// [`crate::Error::Revert`] when it would revert (then nothing is sent);
    /// [`crate::Error::UnknownAccount`] when `from` has no signer here; transport failures.
    fn send(&self, tx: &TxRequest) -> Result<Receipt>;

    /// Logs matching `filter`, oldest first.
    ///
    /// # Errors
    /// Transport failures.
    fn logs(&self, filter: &LogFilter) -> Result<Vec<LogEntry>>;

    /// Ether balance of `who` (wei).
    ///
    /// # Errors
    /// Transport failures.
    fn balance(&self, who: Address) -> Result<U256>;

    /// Accounts this backend can send from.
    fn accounts(&self) -> Vec<Address>;
}

/// Development-chain controls: time travel and funding. The embedded chain and anvil
/// have them; a public chain does not.
pub trait DevChain: Chain {
    /// Moves the chain's clock forward by `seconds` and mines a block.
    ///
    /// # Errors
    /// Transport failures.
    fn advance_time(&self, seconds: u64) -> Result<()>;

    /// Mines `blocks` empty blocks.
    ///
    /// # Errors
    /// Transport failures.
    fn mine(&self, blocks: u64) -> Result<()>;

    /// Sets the ether balance of `who`.
    ///
    /// # Errors
    /// Transport failures.
    fn set_balance(&self, who: Address, wei: U256) -> Result<()>;
}
