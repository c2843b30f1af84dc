//! Gas per DIN contract operation, measured on the embedded EVM (revm, Prague rules).
//!
//! A realistic task: 100 participants in 10 subgroups of 10, 3 evaluators per subgroup
//! (30 staked evaluators), 3 rounds with all four secure-aggregation stages on-chain by
//! CID, one lying evaluator (slashed), scores committed and revealed, medians verified
//! on-chain, settlement, and every claim.
//!
//! ```text
//! cargo run --release --example gas_report -- [--json] [--participants 100]
//!     [--subgroup-size 10] [--evaluators-per-subgroup 3] [--rounds 3]
//! ```
//!
//! With `--json` it prints one line per operation: `{"op", "gas", "min", "max",
//! "count"}` where `gas` is the median over all its transactions (receipt gas: the
//! 21,000 intrinsic gas included), then `settle_per_participant` and
//! `settle_plus_claim_per_participant`.

use std::collections::BTreeMap;

use din_chain::alloy::primitives::{Address, U256, keccak256};
use din_chain::scripted::{Script, fund_and_stake, run_task};
use din_chain::{DeployConfig, Din, EmbeddedChain, deploy};
use din_core::scoring::SCORE_ONE;

struct Args {
    json: bool,
    participants: usize,
    subgroup_size: u16,
    per: u8,
    rounds: u16,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        json: false,
        participants: 100,
        subgroup_size: 10,
        per: 3,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--json" => a.json = true,
            "--participants" => a.participants = value()?.parse().map_err(|e| format!("{e}"))?,
            "--subgroup-size" => a.subgroup_size = value()?.parse().map_err(|e| format!("{e}"))?,
            "--evaluators-per-subgroup" => a.per = value()?.parse().map_err(|e| format!("{e}"))?,
            "--rounds" => a.rounds = value()?.parse().map_err(|e| format!("{e}"))?,
            "-h" | "--help" => {
                return Err(
                    "usage: gas_report [--json] [--participants N] [--subgroup-size S] \
                            [--evaluators-per-subgroup E] [--rounds R]"
                        .into(),
                );
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.subgroup_size < 2 || a.participants < usize::from(a.subgroup_size) || a.per == 0 {
        return Err(
            "need subgroup size >= 2, participants >= subgroup size, evaluators per subgroup >= 1"
                .into(),
        );
    }
    Ok(a)
}

fn account(i: u64) -> Address {
    Address::from_word(keccak256(format!("gas report account {i}")))
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("gas_report failed: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), din_chain::Error> {
    let chain = EmbeddedChain::new();
    let owner = chain.add_account(account(0));
    let groups = args.participants / usize::from(args.subgroup_size);
    let n_eval = groups * usize::from(args.per);
    let participants: Vec<Address> = (1..=args.participants as u64)
        .map(|i| chain.add_account(account(i)))
        .collect();
    let evaluators: Vec<Address> = (0..n_eval as u64)
        .map(|i| chain.add_account(account(10_000 + i)))
        .collect();
    let (deployment, receipts) = deploy(&chain, owner, &DeployConfig::dev(account(99_999)))?;
    let din = Din::new(&chain, deployment);

    let mut gas: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    for (op, r) in [
        "deploy_token",
        "deploy_registry",
        "deploy_task_scoring",
        "deploy_task_manager",
        "set_task_manager",
    ]
    .into_iter()
    .zip(&receipts)
    {
        gas.entry(op).or_default().push(r.gas_used);
    }
    for (op, g) in fund_and_stake(&din, owner, &evaluators)? {
        gas.entry(op).or_default().push(g);
    }
    eprintln!(
        "running a task: {} participants, {groups} subgroups, {} evaluators each, {} rounds",
        args.participants, args.per, args.rounds
    );
    let deposit: u128 = 1_000_000 * 10u128.pow(18);
    let script = Script {
        fee_bps: 1_000,
        rounds: args.rounds,
        subgroup_size: args.subgroup_size,
        per_subgroup: args.per,
        deposit,
        // A day per stage: 300 messages at 12 s per block fit in a window.
        stage_period: 86_400,
        // Scores spread over [0.5, 1.0), deterministic; evaluators agree within 1%.
        score: Box::new(|j, e, i| {
            let base = SCORE_ONE / 2 + ((j * 7919 + i as u32 * 104_729) % (SCORE_ONE / 2));
            Some(base.saturating_sub(e as u32 * (SCORE_ONE / 200)))
        }),
        liars: vec![0],
        no_shows: vec![],
        disputes: vec![],
    };
    let out = run_task(&din, owner, &participants, &evaluators, &script)?;
    for (op, g) in &out.gas {
        gas.entry(op).or_default().push(*g);
    }
    // Half the participants claim one by one; the other half are paid in one batch
    // (claimFor); the evaluators claim one by one.
    let mut paid = U256::ZERO;
    let half = participants.len() / 2;
    for &a in participants.iter().take(half).chain(&evaluators) {
        let owed = din.claimable(out.task, a)?;
        if owed.is_zero() {
            continue;
        }
        paid += owed;
        gas.entry("claim")
            .or_default()
            .push(din.claim(a, out.task)?.gas_used);
    }
    let batch: Vec<Address> = participants.iter().skip(half).copied().collect();
    for &a in &batch {
        paid += din.claimable(out.task, a)?;
    }
    let batch_len = batch.len().max(1) as u64;
    let r = din.claim_for(owner, out.task, batch)?;
    gas.entry("claim_for_per_participant")
        .or_default()
        .push(r.gas_used / batch_len);
    let refund = U256::from(din.task(out.task)?.refundable);
    if !refund.is_zero() {
        gas.entry("claim_refund")
            .or_default()
            .push(din.claim_refund(owner, out.task)?.gas_used);
    }
    if paid + refund != U256::from(deposit) {
        return Err(din_chain::Error::Invalid {
            what: "settlement",
            reason: format!("paid {paid} + refund {refund} != deposit {deposit}"),
        });
    }

    let settle = gas
        .get("settle")
        .and_then(|v| v.first().copied())
        .unwrap_or_default();
    let settle_pp = settle / args.participants as u64;
    let claim = median(gas.entry("claim").or_default());
    let batched = median(gas.entry("claim_for_per_participant").or_default());
    let order = [
        "deploy_token",
        "deploy_registry",
        "deploy_task_scoring",
        "deploy_task_manager",
        "set_task_manager",
        "stake",
        "create_task",
        "register_participant",
        "join_as_evaluator",
        "start_training",
        "draw_seed",
        "submit_message",
        "submit_update",
        "submit_aggregate_first_round",
        "submit_aggregate",
        "finalize_subgroup",
        "publish_model",
        "release_test_set",
        "commit_score",
        "reveal_score",
        "finalize_scores",
        "settle",
        "claim",
        "claim_for_per_participant",
        "claim_refund",
    ];
    if !args.json {
        println!(
            "{:<22} {:>10} {:>10} {:>10} {:>6}",
            "operation", "median gas", "min", "max", "count"
        );
    }
    for op in order {
        let Some(v) = gas.get_mut(op) else { continue };
        let (min, max, count) = (
            v.iter().copied().min().unwrap_or_default(),
            v.iter().copied().max().unwrap_or_default(),
            v.len(),
        );
        let med = median(v);
        if args.json {
            println!(
                "{}",
                serde_json::json!({"op": op, "gas": med, "min": min, "max": max, "count": count})
            );
        } else {
            println!("{op:<22} {med:>10} {min:>10} {max:>10} {count:>6}");
        }
    }
    let summary = serde_json::json!({
        "op": "settle_plus_claim_per_participant",
        "gas": settle_pp + claim,
        "settle_per_participant": settle_pp,
        "claim": claim,
        "batched_claim_per_participant": batched,
        "settle_plus_batched_claim_per_participant": settle_pp + batched,
        "batched_claim_per_participant": batched,
        "settle_plus_batched_claim_per_participant": settle_pp + batched,
        "participants": args.participants,
        "subgroups": groups,
        "evaluators": n_eval,
        "slashed_evaluators": out.slashed.len(),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "settle per participant {settle_pp}; + claim = {}; + batched claim = {}",
            settle_pp + claim,
            settle_pp + batched
        );
        println!("slashed evaluators: {}", out.slashed.len());
    }
    Ok(())
}
