//! An IPFS node as a [`Store`], through the Kubo HTTP RPC API.
//!
//! - `put`: `POST /api/v0/add?cid-version=1&raw-leaves=true&chunker=size-262144&pin=true`
//!   (multipart), then checks the node's CID equals [`din_core::content::cid_of`] of the
//!   same bytes: a node that chunks differently is an error, not a silent mismatch.
//! - `get`: `POST /api/v0/block/get` block by block from the root, each block checked
//!   against its CID ([`din_core::content::verify_block`]) before it is used; a node
//!   serving wrong bytes is [`Error::CorruptBlock`].
//! - `has`: `POST /api/v0/pin/ls?type=recursive`; `remove`: `POST /api/v0/pin/rm`.
//!
//! Kubo and js-ipfs (npm `ipfs@0.66.1`) both serve this API; js-ipfs answers base58 CIDs
//! unless asked for `cid-base=base32` (always sent here) and takes POST only (all calls
//! here are POST).

use std::io::Read;
use std::time::Duration;

use din_core::content::{MAX_BLOCK_SIZE, assemble, cid_of, parse_cid, verify_block};
use din_core::store::DEFAULT_GET_LIMIT;
use din_core::{Cid, Error, Result, Store};

/// Chunk size of `ipfs add` that din's CIDs assume (256 KiB).
const CHUNKER: &str = "size-262144";
/// Largest single block accepted from a node.
const MAX_BLOCK: u64 = MAX_BLOCK_SIZE as u64;

/// A Kubo-RPC IPFS node (see the module docs).
pub struct IpfsStore {
    api: String,
    agent: ureq::Agent,
    limit: u64,
    block_timeout: String,
}

impl std::fmt::Debug for IpfsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpfsStore").field("api", &self.api).finish()
    }
}

fn transport(endpoint: &str, reason: impl std::fmt::Display) -> Error {
    Error::Transport {
        endpoint: endpoint.to_string(),
        reason: reason.to_string(),
    }
}

impl IpfsStore {
    /// A store on the node whose RPC API is at `api` (e.g. `http://127.0.0.1:5001`), with
    /// a 60 s timeout per request.
    pub fn new(api: &str) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self {
            api: api.trim_end_matches('/').to_string(),
            agent,
            limit: DEFAULT_GET_LIMIT,
            block_timeout: "30s".into(),
        }
    }

    /// The same store giving up on a block the node cannot find within `timeout` (the
    /// node's own `timeout` option; 30 s by default). A missing block is then
    /// [`Error::BlockNotFound`].
    #[must_use]
    pub fn with_block_timeout(mut self, timeout: Duration) -> Self {
        self.block_timeout = format!("{}ms", timeout.as_millis().max(1));
        self
    }

    /// The same store refusing files larger than `limit` bytes on `get`.
    #[must_use]
    pub fn with_get_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The RPC API base URL.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// The node's version string (`/api/v0/version`): a liveness check.
    ///
    /// # Errors
    /// [`Error::Transport`] when the node does not answer.
    pub fn version(&self) -> Result<String> {
        let body = self.call("version", &[], None, 1 << 16)?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| transport(&self.api, format!("version: {e}")))?;
        Ok(v.get("Version")
            .and_then(|x| x.as_str())
            .unwrap_or("unknown")
            .to_string())
    }

    /// POSTs `/api/v0/{cmd}?{args}` (with an optional multipart file) and returns the
    /// body of a 200 answer; other answers become [`Error::Transport`] with the node's
    /// message.
    fn call(
        &self,
        cmd: &str,
        args: &[(&str, &str)],
        file: Option<&[u8]>,
        limit: u64,
    ) -> Result<Vec<u8>> {
        let mut url = format!("{}/api/v0/{cmd}?cid-base=base32", self.api);
        for (k, v) in args {
            url.push('&');
            url.push_str(k);
            url.push('=');
            url.push_str(v);
        }
        let response = match file {
            None => self.agent.post(&url).send_empty(),
            Some(data) => {
                let boundary = format!("din-{:016x}", data.len() ^ 0x5eed_d1a0);
                let mut body = Vec::with_capacity(data.len() + 256);
                body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(data);
                body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
                self.agent
                    .post(&url)
                    .header(
                        "Content-Type",
                        &format!("multipart/form-data; boundary={boundary}"),
                    )
                    .send(&body[..])
            }
        };
        let mut response = response.map_err(|e| transport(&url, e))?;
        let status = response.status();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(limit + 1)
            .read_to_end(&mut body)
            .map_err(|e| transport(&url, e))?;
        if body.len() as u64 > limit {
            return Err(transport(&url, format!("answer larger than {limit} bytes")));
        }
        if status != 200 {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("Message").and_then(|m| m.as_str()).map(String::from))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(NodeError {
                status: status.as_u16(),
                message,
            }
            .into_error(&url));
        }
        Ok(body)
    }

    fn block(&self, cid: &Cid) -> Result<Vec<u8>> {
        let c = cid.to_string();
        let bytes = self
            .call(
                "block/get",
                &[("arg", &c), ("timeout", &self.block_timeout)],
                None,
                MAX_BLOCK,
            )
            .map_err(|e| match e {
                Error::Transport { reason, .. } if is_not_found(&reason) => {
                    Error::BlockNotFound { cid: c.clone() }
                }
                other => other,
            })?;
        verify_block(cid, &bytes)?;
        Ok(bytes)
    }
}

struct NodeError {
    status: u16,
    message: String,
}

impl NodeError {
    fn into_error(self, url: &str) -> Error {
        transport(url, format!("HTTP {}: {}", self.status, self.message))
    }
}

fn is_not_found(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("not found") || r.contains("timed out") || r.contains("could not find")
}

impl Store for IpfsStore {
    fn put(&self, data: &[u8]) -> Result<Cid> {
        let expected = cid_of(data);
        let body = self.call(
            "add",
            &[
                ("cid-version", "1"),
                ("raw-leaves", "true"),
                ("chunker", CHUNKER),
                ("pin", "true"),
                ("hash", "sha2-256"),
            ],
            Some(data),
            1 << 20,
        )?;
        // One JSON object per line (progress and the file); the file's line has "Hash".
        let text = String::from_utf8_lossy(&body);
        let hash = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v.get("Hash").and_then(|h| h.as_str()).map(String::from))
            .next_back()
            .ok_or_else(|| transport(&self.api, format!("add answered no hash: {text}")))?;
        let got = parse_cid(&hash)?;
        if got != expected {
            return Err(Error::CorruptBlock {
                cid: expected.to_string(),
                reason: format!(
                    "the node stored the bytes as {got}, not {expected}: it does not chunk like `ipfs add --cid-version=1 --raw-leaves`"
                ),
            });
        }
        Ok(got)
    }

    fn get(&self, cid: &Cid) -> Result<Vec<u8>> {
        assemble(cid, self.limit, |c| self.block(c))
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        let c = cid.to_string();
        match self.call(
            "pin/ls",
            &[("arg", &c), ("type", "recursive")],
            None,
            1 << 20,
        ) {
            Ok(body) => Ok(String::from_utf8_lossy(&body).contains(&c)),
            Err(Error::Transport { reason, .. })
                if reason.contains("not pinned") || is_not_found(&reason) =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn remove(&self, cid: &Cid) -> Result<()> {
        let c = cid.to_string();
        match self.call("pin/rm", &[("arg", &c)], None, 1 << 20) {
            Ok(_) => Ok(()),
            Err(Error::Transport { reason, .. })
                if reason.contains("not pinned") || is_not_found(&reason) =>
            {
                Err(Error::BlockNotFound { cid: c })
            }
            Err(e) => Err(e),
        }
    }
}
