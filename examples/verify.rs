//! Verifies one round of a task from the chain and the store alone (paper §5.1 step 3f,
//! "participants can verify"): recomputes every accepted subgroup aggregate from its
//! Participants' published messages, the global model from the verified aggregates, and
//! compares both with the CIDs on-chain. Prints the report as JSON; exits 1 when the
//! round does not verify.
//!
//! ```text
//! cargo run --release --example verify -- --rpc http://127.0.0.1:8545 \
//!     --ipfs http://127.0.0.1:5001 --manager 0x... --block N --task 0 --round 1
//! ```
//!
//! `--token` and `--registry` are not needed to verify; `--block` is the deployment
//! block (log queries start there, 0 if unknown).

use std::error::Error;

use din::chain::alloy::primitives::Address;
use din::chain::{Deployment, Din, RpcChain};
use din::round::verify::verify_round;
use din::store::IpfsStore;

fn main() -> Result<(), Box<dyn Error>> {
    let mut rpc = None;
    let mut ipfs = None;
    let mut manager = None;
    let (mut block, mut task, mut round) = (0u64, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--rpc" => rpc = Some(value),
            "--ipfs" => ipfs = Some(value),
            "--manager" => manager = Some(value.parse::<Address>()?),
            "--block" => block = value.parse()?,
            "--task" => task = Some(value.parse::<u64>()?),
            "--round" => round = Some(value.parse::<u16>()?),
            other => return Err(format!("unknown flag {other:?}; see examples/verify.rs").into()),
        }
    }
    let chain = RpcChain::connect(&rpc.ok_or("--rpc is required")?)?;
    let store = IpfsStore::new(&ipfs.ok_or("--ipfs is required")?);
    let deployment = Deployment {
        token: Address::ZERO,
        registry: Address::ZERO,
        manager: manager.ok_or("--manager is required")?,
        block,
    };
    let din = Din::new(&chain, deployment);
    let (task, round) = (
        task.ok_or("--task is required")?,
        round.ok_or("--round is required")?,
    );
    let report = verify_round(&din, &store, task, round)?;
    let subgroups: Vec<serde_json::Value> = report
        .subgroups
        .iter()
        .map(|s| {
            serde_json::json!({
                "subgroup": s.subgroup,
                "accepted": s.accepted.as_ref().map(ToString::to_string),
                "verified": s.verified,
                "problem": s.problem,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "task": task, "round": round, "ok": report.ok(),
            "published": report.published.as_ref().map(ToString::to_string),
            "recomputed": report.recomputed.as_ref().map(ToString::to_string),
            "subgroups": subgroups,
        })
    );
    if !report.ok() {
        std::process::exit(1);
    }
    Ok(())
}
