//! JSON-RPC to any Ethereum node, through alloy's provider, signing locally.
//!
//! Sending first estimates the transaction's gas, which runs it: a transaction that would
//! revert is not sent and its revert data comes back as [`Error::Revert`], exactly as on the
//! embedded chain. The backend owns a single-threaded tokio runtime and blocks on it, so
//! it must not be called from inside another async runtime's task.

use std::sync::RwLock;

use alloy::eips::BlockNumberOrTag;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};

use super::{BlockInfo, Chain, DevChain, LogEntry, LogFilter, Receipt, TxRequest};
use crate::{Error, Result};

/// Largest gas limit the backend sets on a transaction (Osaka's per-transaction cap).
const GAS_CAP: u64 = 16_777_216;

struct Inner {
    wallet: Option<EthereumWallet>,
    accounts: Vec<Address>,
    provider: DynProvider,
}

/// A chain reached over JSON-RPC (see the module docs).
pub struct RpcChain {
    url: alloy::transports::http::reqwest::Url,
    runtime: tokio::runtime::Runtime,
    inner: RwLock<Inner>,
}

impl std::fmt::Debug for RpcChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcChain")
            .field("url", &self.url.as_str())
            .finish()
    }
}

fn rpc_error(e: RpcError<TransportErrorKind>) -> Error {
    if let Some(payload) = e.as_error_resp() {
        if let Some(data) = payload.as_revert_data() {
            return Error::Revert { data };
        }
        return Error::Rpc(format!("{} (code {})", payload.message, payload.code));
    }
    Error::Rpc(e.to_string())
}

impl RpcChain {
    /// Connects to the node at `url` (e.g. `http://127.0.0.1:8545`), with no signers yet.
    ///
    /// # Errors
    /// [`Error::Rpc`] for a malformed URL or a node that does not answer `eth_chainId`.
    pub fn connect(url: &str) -> Result<Self> {
        let url: alloy::transports::http::reqwest::Url = url
            .parse()
            .map_err(|e| Error::Rpc(format!("bad node URL {url:?}: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Backend(format!("cannot start the async runtime: {e}")))?;
        let provider = ProviderBuilder::new().connect_http(url.clone()).erased();
        let chain = Self {
            url,
            runtime,
            inner: RwLock::new(Inner {
                wallet: None,
                accounts: Vec::new(),
                provider,
            }),
        };
        chain.chain_id()?;
        Ok(chain)
    }

    /// Adds a signing key; transactions from its address are signed with it.
    pub fn add_signer(&self, signer: PrivateKeySigner) -> Address {
        let address = signer.address();
        if let Ok(mut inner) = self.inner.write() {
            let wallet = match inner.wallet.take() {
                Some(mut w) => {
                    w.register_signer(signer);
                    w
                }
                None => EthereumWallet::new(signer),
            };
            inner.provider = ProviderBuilder::new()
                .wallet(wallet.clone())
                .connect_http(self.url.clone())
                .erased();
            inner.wallet = Some(wallet);
            if !inner.accounts.contains(&address) {
                inner.accounts.push(address);
            }
        }
        address
    }

    fn provider(&self) -> Result<DynProvider> {
        self.inner
            .read()
            .map(|i| i.provider.clone())
            .map_err(|_| Error::Backend("RPC chain state poisoned by a panic".into()))
    }

    fn request(tx: &TxRequest) -> TransactionRequest {
        let mut req = TransactionRequest::default()
            .with_from(tx.from)
            .with_input(tx.data.clone())
            .with_value(tx.value);
        match tx.to {
            Some(to) => req.set_to(to),
            None => req.set_create(),
        }
        req
    }

    fn raw(&self, method: &'static str, params: serde_json::Value) -> Result<serde_json::Value> {
        let p = self.provider()?;
        self.runtime.block_on(async move {
            p.raw_request::<_, serde_json::Value>(method.into(), params)
                .await
                .map_err(rpc_error)
        })
    }
}

impl Chain for RpcChain {
    fn chain_id(&self) -> Result<u64> {
        let p = self.provider()?;
        self.runtime
            .block_on(async move { p.get_chain_id().await.map_err(rpc_error) })
    }

    fn block(&self) -> Result<BlockInfo> {
        let p = self.provider()?;
        self.runtime.block_on(async move {
            let block = p
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await
                .map_err(rpc_error)?
                .ok_or_else(|| Error::Rpc("the node has no latest block".into()))?;
            Ok(BlockInfo {
                number: block.header.number,
                timestamp: block.header.timestamp,
            })
        })
    }

    fn block_at(&self, number: u64) -> Result<BlockInfo> {
        let p = self.provider()?;
        self.runtime.block_on(async move {
            let block = p
                .get_block_by_number(BlockNumberOrTag::Number(number))
                .await
                .map_err(rpc_error)?
                .ok_or_else(|| Error::Rpc(format!("the node has no block {number}")))?;
            Ok(BlockInfo {
                number: block.header.number,
                timestamp: block.header.timestamp,
            })
        })
    }

    fn call(&self, from: Address, to: Address, data: Bytes) -> Result<Bytes> {
        let p = self.provider()?;
        let req = Self::request(&TxRequest::call(from, to, data));
        self.runtime
            .block_on(async move { p.call(req).await.map_err(rpc_error) })
    }

    fn send(&self, tx: &TxRequest) -> Result<Receipt> {
        if !self.accounts().contains(&tx.from) {
            return Err(Error::UnknownAccount(tx.from));
        }
        let p = self.provider()?;
        let req = Self::request(tx);
        self.runtime.block_on(async move {
            // The gas estimate is the dry run: a transaction that would revert fails here
            // with its revert data and is not sent.
            // Headroom over the estimate: a transaction whose path depends on the block it
            // lands in (a seed drawn or rescheduled, a deadline just passed) must not run
            // out of gas because it was estimated one block earlier. Unused gas is not paid.
            let estimate = p.estimate_gas(req.clone()).await.map_err(rpc_error)?;
            let limit = estimate.saturating_add(estimate / 2).saturating_add(50_000);
            let req = req.with_gas_limit(limit.min(GAS_CAP));
            let pending = p.send_transaction(req.clone()).await.map_err(rpc_error)?;
            let r = pending
                .get_receipt()
                .await
                .map_err(|e| Error::Rpc(format!("waiting for the receipt: {e}")))?;
            let block_number = r.block_number.unwrap_or_default();
            if !r.status() {
                // Replay it on the state it ran on, for the revert reason.
                let replay = p
                    .call(req)
                    .block(BlockNumberOrTag::Number(block_number.saturating_sub(1)).into())
                    .await;
                if let Err(e) = replay {
                    return Err(rpc_error(e));
                }
                return Err(Error::Halt(format!(
                    "transaction {} failed on-chain after a successful dry run (gas used {})",
                    r.transaction_hash, r.gas_used
                )));
            }
            let logs = r
                .inner
                .logs()
                .iter()
                .map(|l| LogEntry {
                    address: l.address(),
                    topics: l.topics().to_vec(),
                    data: l.data().data.clone(),
                    block_number: l.block_number.unwrap_or(block_number),
                })
                .collect();
            Ok(Receipt {
                tx_hash: r.transaction_hash,
                gas_used: r.gas_used,
                block_number,
                contract_address: r.contract_address,
                logs,
            })
        })
    }

    fn logs(&self, filter: &LogFilter) -> Result<Vec<LogEntry>> {
        let p = self.provider()?;
        let mut f = Filter::new()
            .address(filter.address)
            .from_block(filter.from_block);
        if let Some(to) = filter.to_block {
            f = f.to_block(to);
        }
        if let Some(e) = filter.event {
            f = f.event_signature(e);
        }
        self.runtime.block_on(async move {
            let logs = p.get_logs(&f).await.map_err(rpc_error)?;
            Ok(logs
                .into_iter()
                .map(|l| LogEntry {
                    address: l.address(),
                    topics: l.topics().to_vec(),
                    data: l.data().data.clone(),
                    block_number: l.block_number.unwrap_or_default(),
                })
                .collect())
        })
    }

    fn balance(&self, who: Address) -> Result<U256> {
        let p = self.provider()?;
        self.runtime
            .block_on(async move { p.get_balance(who).await.map_err(rpc_error) })
    }

    fn accounts(&self) -> Vec<Address> {
        self.inner
            .read()
            .map(|i| i.accounts.clone())
            .unwrap_or_default()
    }
}

impl DevChain for RpcChain {
    fn advance_time(&self, seconds: u64) -> Result<()> {
        self.raw("evm_increaseTime", serde_json::json!([seconds]))?;
        self.raw("evm_mine", serde_json::json!([]))?;
        Ok(())
    }

    fn mine(&self, blocks: u64) -> Result<()> {
        self.raw("anvil_mine", serde_json::json!([blocks]))?;
        Ok(())
    }

    fn set_balance(&self, who: Address, wei: U256) -> Result<()> {
        self.raw("anvil_setBalance", serde_json::json!([who, wei]))?;
        Ok(())
    }
}
