//! A local js-ipfs node for tests and examples.
//!
//! js-ipfs (npm `ipfs@0.66.1`, installed by `npm ci` in `tests/js-ipfs`, run by Node 20)
//! serves the same Kubo HTTP RPC API as Kubo, which cannot be installed here. [`JsIpfs::spawn`]
//! initializes a throw-away repository, binds every listener to a free loopback port,
//! starts the daemon offline, and stops it (and removes the repository) when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use din_core::{Error, Result};

/// A running js-ipfs daemon, killed on drop.
#[derive(Debug)]
pub struct JsIpfs {
    child: Child,
    api: String,
    _repo: TempRepo,
}

#[derive(Debug)]
struct TempRepo(PathBuf);

impl Drop for TempRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn node_err(reason: impl std::fmt::Display) -> Error {
    Error::Transport {
        endpoint: "js-ipfs".into(),
        reason: reason.to_string(),
    }
}

/// js-ipfs's CLI: `$DIN_JSIPFS`, else `tests/js-ipfs/node_modules/ipfs/src/cli.js` in
/// this repository.
pub fn jsipfs_cli() -> PathBuf {
    if let Some(p) = std::env::var_os("DIN_JSIPFS") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/js-ipfs/node_modules/ipfs/src/cli.js")
}

fn node() -> PathBuf {
    std::env::var_os("DIN_NODE20").map_or_else(|| PathBuf::from("node"), PathBuf::from)
}

impl JsIpfs {
    /// Starts a fresh offline node and waits (up to 60 s) for its RPC API.
    ///
    /// # Errors
    /// [`Error::Transport`] when js-ipfs is not installed or does not start.
    pub fn spawn() -> Result<Self> {
        let cli = jsipfs_cli();
        if !cli.exists() {
            return Err(node_err(format!(
                "js-ipfs not found at {} (run `npm ci` in tests/js-ipfs, or set DIN_JSIPFS)",
                cli.display()
            )));
        }
        let unique = format!(
            "din-jsipfs-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let repo = TempRepo(std::env::temp_dir().join(unique));
        let init = Command::new(node())
            .arg(&cli)
            .args(["init", "--profile", "test"])
            .env("IPFS_PATH", &repo.0)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| node_err(format!("cannot run node: {e}")))?;
        if !init.status.success() {
            return Err(node_err(format!(
                "ipfs init failed: {}",
                String::from_utf8_lossy(&init.stderr)
            )));
        }
        // Every listener on a free loopback port, no swarm, no bootstrap peers.
        let config_path = repo.0.join("config");
        let text = std::fs::read_to_string(&config_path).map_err(node_err)?;
        let mut config: serde_json::Value = serde_json::from_str(&text).map_err(node_err)?;
        let loopback = serde_json::Value::from("/ip4/127.0.0.1/tcp/0");
        let obj = config
            .as_object_mut()
            .ok_or_else(|| node_err("the js-ipfs config is not a JSON object"))?;
        obj.insert(
            "Addresses".into(),
            serde_json::json!({
                "API": loopback, "Gateway": loopback, "RPC": loopback, "Swarm": [],
                "Announce": [], "NoAnnounce": [], "Delegates": []
            }),
        );
        obj.insert("Bootstrap".into(), serde_json::json!([]));
        std::fs::write(&config_path, config.to_string()).map_err(node_err)?;

        let mut child = Command::new(node())
            .arg(&cli)
            .args(["daemon", "--offline"])
            .env("IPFS_PATH", &repo.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| node_err(format!("cannot start js-ipfs: {e}")))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(node_err("js-ipfs has no stdout"));
        };
        // "HTTP API listening on /ip4/127.0.0.1/tcp/PORT/http"
        let rx = din_chain::anvil::first_line_match(stdout, |line| {
            line.split("HTTP API listening on /ip4/127.0.0.1/tcp/")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .and_then(|p| p.parse::<u16>().ok())
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => Ok(Self {
                child,
                api: format!("http://127.0.0.1:{port}"),
                _repo: repo,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(node_err("js-ipfs did not report its API within 60 s"))
            }
        }
    }

    /// The RPC API base URL (for [`super::IpfsStore::new`]).
    pub fn api(&self) -> &str {
        &self.api
    }
}

impl Drop for JsIpfs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
