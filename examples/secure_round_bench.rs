//! One secure aggregation round with the chain included, timed end to end: the
//! workload of `benches/peers/flwr_secaggplus_e2e.py` (Flower's SecAgg+) on din.
//!
//! n participants in one subgroup, D parameters, k neighbours, a fraction dropping out
//! after sharing keys (as Flower's clients that raise in `fit`); 3 Evaluators. Every
//! message goes to the local content-addressed store and its CID on-chain (embedded
//! EVM); Evaluators rebuild the subgroup from the chain, unmask, agree; the subgroup is
//! finalized and the Owner publishes the combined model. The store is in memory (as
//! Flower's simulation keeps messages in memory); `--disk` uses the durable local store
//! (atomic, fsynced writes) instead.
//!
//! ```text
//! cargo run --release --example secure_round_bench -- [--n 50] [--d 100000] [--k 11]
//!     [--threshold 7] [--drop 0.2] [--disk] [--json]
//! ```
//! Prints one JSON line: `{"bench":"secure_round","n","d","k","dropped","wall_s", "stages_s":{...}}`.

use std::time::Instant;

use din::round::evaluator::aggregate;
use din::round::fetch;
use din::round::onchain::{accepted_aggregate, messages, subgroups};
use din::round::owner::combine;
use din::round::participant::ParticipantRound;
use din::round::published::survivors;
use din_chain::alloy::primitives::{Address, Bytes, U256, keccak256};
use din_chain::client::TaskParams;
use din_chain::scripted::{finalize_hints, fund_and_stake};
use din_chain::{Chain, DeployConfig, DevChain, Din, EmbeddedChain, deploy};
use din_core::secagg::SubgroupAggregate;
use din_core::{DType, FsStore, MemStore, ParamManifest, ParamSpec, Store};

struct Args {
    n: u32,
    d: u32,
    k: u16,
    threshold: u16,
    drop: f64,
    json: bool,
    disk: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        n: 50,
        d: 100_000,
        k: 11,
        threshold: 7,
        drop: 0.2,
        json: false,
        disk: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut v = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => a.n = v()?.parse().map_err(|e| format!("{e}"))?,
            "--d" => a.d = v()?.parse().map_err(|e| format!("{e}"))?,
            "--k" => a.k = v()?.parse().map_err(|e| format!("{e}"))?,
            "--threshold" => a.threshold = v()?.parse().map_err(|e| format!("{e}"))?,
            "--drop" => a.drop = v()?.parse().map_err(|e| format!("{e}"))?,
            "--json" => a.json = true,
            "--disk" => a.disk = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn account(i: u64) -> Address {
    Address::from_word(keccak256(format!("secure round bench {i}")))
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
        eprintln!("secure_round_bench failed: {e}");
        std::process::exit(1);
    }
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if a.disk {
        let dir = std::env::temp_dir().join(format!("din-secure-round-{}", std::process::id()));
        let store = FsStore::open(&dir)?;
        let r = round(a, &store, "local disk");
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
        r
    } else {
        round(a, &MemStore::new(), "memory")
    }
}

fn round<S: Store>(
    a: &Args,
    store: &S,
    store_name: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    const P: u64 = 86_400;
    let chain = EmbeddedChain::new();
    let owner = chain.add_account(account(0));
    let parts: Vec<Address> = (1..=u64::from(a.n))
        .map(|i| chain.add_account(account(i)))
        .collect();
    let evals: Vec<Address> = (0..3)
        .map(|i| chain.add_account(account(10_000 + i)))
        .collect();
    let (deployment, _) = deploy(&chain, owner, &DeployConfig::dev(account(99)))?;
    let din = Din::new(&chain, deployment);
    fund_and_stake(&din, owner, &evals)?;
    let manifest = ParamManifest::new(
        DType::F32,
        vec![ParamSpec {
            name: "w".into(),
            shape: vec![u64::from(a.d)],
        }],
    )?;
    let genesis = store.put(&din_fl::params::encode_model(
        &manifest,
        &vec![0.0; a.d as usize],
    ))?;
    din.approve(owner, deployment.manager, U256::from(1_000_000u64))?;
    let params = TaskParams {
        token: deployment.token,
        deposit: 1_000_000,
        evaluatorFeeBps: 1_000,
        rounds: 1,
        subgroupSize: a.n as u16,
        evaluatorsPerSubgroup: 3,
        neighbours: a.k,
        threshold: a.threshold,
        stagePeriod: P as u32,
        registrationEnd: chain.block()?.timestamp + P,
        gate: Address::ZERO,
        clipMilli: 8_000,
        scaleBits: 12,
        maxWeight: 1_000,
        // No scoring in this benchmark: a stand-in commitment.
        testSet: din::chain::alloy::primitives::B256::repeat_byte(1),
        maxEvaluators: evals.len() as u32,
    };
    let (task, _) = din.create_task(owner, &params, &genesis)?;
    for &p in &parts {
        din.register(p, task, Bytes::new())?;
    }
    for &e in &evals {
        din.join_as_evaluator(e, task)?;
    }
    din.start_training(owner, task)?;
    chain.mine(1)?;
    din.draw_seed(owner, task)?;
    let n_drop = (a.drop * f64::from(a.n)).round() as usize;
    let mut stages = serde_json::Map::new();
    let mut lap = Instant::now();
    let mut mark = |name: &str, stages: &mut serde_json::Map<String, serde_json::Value>| {
        stages.insert(
            name.into(),
            serde_json::json!((lap.elapsed().as_secs_f64() * 1e3).round() / 1e3),
        );
        lap = Instant::now();
    };

    let t0 = Instant::now();
    let views = subgroups(&din, task, 1, a.d)?;
    let view = views.first().ok_or("no subgroup")?;
    let mut clients: Vec<ParticipantRound<'_, S>> = Vec::new();
    for (i, &m) in view.members.iter().enumerate() {
        let c = ParticipantRound::start(store, view.params.clone(), i as u32)?;
        din.submit_message(m, task, 1, 0, c.advert())?;
        clients.push(c);
    }
    mark("advertise_keys", &mut stages);
    let adverts = messages(&din, task, 1, view)?.adverts;
    for (c, &m) in clients.iter_mut().zip(&view.members) {
        let cid = c.share_keys(&adverts)?;
        din.submit_message(m, task, 1, 1, &cid)?;
    }
    mark("share_keys", &mut stages);
    let shares = messages(&din, task, 1, view)?.shares;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        if i < n_drop {
            continue; // drops out after sharing keys
        }
        let update: Vec<f32> = (0..a.d)
            .map(|j| (((i as u32) * 31 + j * 7) % 101) as f32 / 1010.0 - 0.05)
            .collect();
        let cid = c.mask(&update, 10, &shares)?;
        din.submit_update(m, task, 1, &cid)?;
    }
    mark("masked_input", &mut stages);
    chain.advance_time(3 * P)?;
    let alive = survivors(store, &view.params, &messages(&din, task, 1, view)?)?;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        if i < n_drop {
            continue;
        }
        let cid = c.unmask(&alive)?;
        din.submit_message(m, task, 1, 3, &cid)?;
    }
    mark("unmask_shares", &mut stages);
    chain.advance_time(P)?;
    let msgs = messages(&din, task, 1, view)?;
    for &e in &evals {
        let (_, cid) = aggregate(store, &view.params, &msgs)?;
        din.submit_aggregate(e, task, 1, 0, &cid)?;
    }
    mark("evaluators_aggregate", &mut stages);
    chain.advance_time(P)?;
    let (voters, hashes) = finalize_hints(&din, task, 1, 0, 3)?;
    din.finalize_subgroup(owner, task, 0, voters, hashes)?;
    let cid = accepted_aggregate(&din, task, 1, 0)?.ok_or("subgroup not accepted")?;
    let agg: SubgroupAggregate = fetch(store, &cid)?;
    let (global, weight) = combine(
        &[agg],
        &din::round::onchain::fixed_point(&din.task(task)?, 1),
    )?;
    let model = store.put(&din_fl::params::encode_model(&manifest, &global))?;
    din.publish_model(owner, task, 1, &model)?;
    mark("finalize_and_publish", &mut stages);
    let wall = t0.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "bench": "secure_round", "n": a.n, "d": a.d, "k": a.k, "threshold": a.threshold,
        "dropped": n_drop, "survivors_weight": weight, "wall_s": (wall * 1e3).round() / 1e3,
        "stages_s": stages, "evaluators": 3, "chain": "embedded", "store": store_name,
    });
    if a.json {
        println!("{line}");
    } else {
        println!(
            "secure round: n={} d={} k={} dropped={}: {:.3} s",
            a.n, a.d, a.k, n_drop, wall
        );
        println!("{}", serde_json::to_string_pretty(&stages)?);
    }
    Ok(())
}
