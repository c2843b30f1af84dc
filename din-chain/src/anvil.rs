//! A local anvil node for tests and examples.
//!
//! anvil (Foundry's development node) comes from the npm package `@foundry-rs/anvil`,
//! installed by `npm ci` in `din-chain/contracts` (the README's test command does it).
//! [`Anvil::spawn`] starts it on a free loopback port with the Prague hard fork (like the
//! embedded chain) and stops it when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use crate::{Error, Result};

/// A running anvil process, killed on drop.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
}

/// Where anvil is: `$DIN_ANVIL`, else the npm package inside this crate's
/// `contracts/node_modules`.
pub fn anvil_path() -> PathBuf {
    if let Some(p) = std::env::var_os("DIN_ANVIL") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// Reads a child's stdout on a thread and sends the first value `parse` finds in a line
/// (a node's port, say), then keeps draining the pipe so the child never blocks on it.
pub fn first_line_match<T: Send + 'static>(
    stdout: ChildStdout,
    parse: impl Fn(&str) -> Option<T> + Send + 'static,
) -> Receiver<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if sent {
                continue;
            }
            if let Some(v) = parse(&line) {
                let _ = tx.send(v);
                sent = true;
            }
        }
    });
    rx
}

impl Anvil {
    /// Starts anvil on 127.0.0.1 and waits (up to 30 s) until it accepts connections.
    ///
    /// # Errors
    /// [`Error::Node`] when the binary is missing or does not come up.
    pub fn spawn() -> Result<Self> {
        Self::spawn_with(&[])
    }

    /// [`Anvil::spawn`] with extra command-line arguments, e.g. `["--block-time", "1"]`
    /// for a chain whose clock follows the wall clock (what role processes that wait for
    /// deadlines need).
    ///
    /// # Errors
    /// As [`Anvil::spawn`].
    pub fn spawn_with(extra: &[&str]) -> Result<Self> {
        let path = anvil_path();
        if !path.exists() {
            return Err(Error::Node(format!(
                "anvil not found at {} (run `npm ci` in din-chain/contracts, or set DIN_ANVIL)",
                path.display()
            )));
        }
        // Port 0: anvil binds a free port itself and prints it, so concurrent nodes
        // never race for one.
        let mut child = Command::new(&path)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .args(["--hardfork", "prague", "--chain-id", "31337"])
            .args(["--block-base-fee-per-gas", "0", "--gas-price", "0"])
            .args(["--gas-limit", "30000000"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::Node(format!("cannot start {}: {e}", path.display())))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(Error::Node("anvil has no stdout".into()));
        };
        let rx = first_line_match(stdout, |line| {
            line.strip_prefix("Listening on 127.0.0.1:")
                .and_then(|p| p.trim().parse::<u16>().ok())
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) => Ok(Self { child, port }),
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                let _ = child.kill();
                let _ = child.wait();
                Err(Error::Node(format!(
                    "anvil did not report a listening port within 30 s (exit status: {status:?})"
                )))
            }
        }
    }

    /// The node's JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
