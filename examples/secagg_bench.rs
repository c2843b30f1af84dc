//! Secure-aggregation benchmark on the workloads of `benches/peers/flwr_secagg.py`
//! (Flower's SecAgg+), printing one JSON object per line:
//!
//! ```text
//! cargo run --release --example secagg_bench -- --json [--reps 7] [--quick]
//! ```
//!
//! - `client_mask`: one client's stage 2 (decrypt its k shares, k key agreements,
//!   fixed-point encoding with seeded rounding, self mask + k pairwise masks), D in
//!   {100000, 1000000}, k in {10, 50}, n = k + 1 (complete graph, as Flower's bench);
//! - `unmask`: an Evaluator's sum of n masked inputs and unmasking (n Shamir combines,
//!   n self masks), no dropout; `unmask_1_dropout`: one client dropped before masking
//!   (its mask key rebuilt, its k pairwise masks removed);
//! - `shamir_split` / `shamir_combine`: a 32-byte secret, n = 50 shares, t = 26.
//!
//! Fixed point as Flower's defaults where they apply: clip 8, weights up to 1000,
//! 32-bit words; threshold round(n/2). Both cores are used (rayon); set
//! `RAYON_NUM_THREADS=1` for one.

// A benchmark harness: its indices are in range by construction.
#![allow(clippy::indexing_slicing)]

use std::time::Instant;

use din_core::secagg::{self, FixedPoint, Participant, SecAggParams, shamir};
use din_core::{Digest32, Round, SubgroupId, TaskId};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn time_ms<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed().as_secs_f64() * 1e3, out)
}

struct Out {
    json: bool,
}

impl Out {
    fn line(&self, bench: &str, d: u64, k: u32, n: u32, extra: serde_json::Value, ms: f64) {
        let mut v = serde_json::json!({
            "bench": bench, "d": d, "k": k, "n": n, "median_ms": ms,
            "threads": rayon::current_num_threads(),
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        if self.json {
            println!("{v}");
        } else {
            println!("{bench:<18} D={d:<8} k={k:<3} n={n:<3} median {ms:10.3} ms");
        }
    }
}

fn params(n: u32, d: u32) -> SecAggParams {
    SecAggParams {
        task: TaskId(1),
        round: Round(0),
        subgroup: SubgroupId(0),
        clients: n,
        neighbours: n - 1,
        threshold: n.div_ceil(2),
        vector_len: d,
        fixed_point: FixedPoint {
            clip: 8.0,
            scale_bits: 12,
            max_weight: 1000,
            max_clients: n,
        },
        graph_seed: Digest32([1; 32]),
    }
}

fn updates(n: u32, d: u32) -> (Vec<Vec<f32>>, Vec<u64>) {
    // Deterministic pseudo-normal-ish values of scale 0.1, weights 50..500.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ups = (0..n)
        .map(|_| {
            (0..d)
                .map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.35)
                .collect()
        })
        .collect();
    let ws = (0..n).map(|_| 50 + next() % 450).collect();
    (ups, ws)
}

type Round0 = (
    Vec<Participant>,
    Vec<secagg::AdvertiseKeys>,
    Vec<secagg::ShareKeys>,
);

fn setup(p: &SecAggParams) -> Result<Round0, din_core::Error> {
    let mut clients = Vec::new();
    let mut adverts = Vec::new();
    for i in 0..p.clients {
        let (c, a) = Participant::new(p.clone(), i)?;
        clients.push(c);
        adverts.push(a);
    }
    let shares = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((clients, adverts, shares))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = Out {
        json: args.iter().any(|a| a == "--json"),
    };
    let quick = args.iter().any(|a| a == "--quick");
    let reps: usize = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(if quick { 3 } else { 7 });
    let dims: &[u32] = if quick {
        &[100_000]
    } else {
        &[100_000, 1_000_000]
    };

    for &d in dims {
        for k in [10u32, 50] {
            let n = k + 1;
            let p = params(n, d);
            let (ups, ws) = updates(n, d);
            // client_mask: a fresh round per repetition (a client masks once).
            let mut samples = Vec::new();
            for _ in 0..reps {
                let (mut clients, _, shares) = setup(&p)?;
                let c = clients.first_mut().ok_or("no client")?;
                let (ms, r) = time_ms(|| c.mask(&ups[0], ws[0], &shares));
                r?;
                samples.push(ms);
            }
            out.line(
                "client_mask",
                u64::from(d),
                k,
                n,
                serde_json::json!({"t": p.threshold}),
                median(samples),
            );

            // unmask without and with one dropout: the same messages, timed repeatedly.
            for (bench, drop) in [("unmask", None), ("unmask_1_dropout", Some(n - 1))] {
                let (mut clients, adverts, shares) = setup(&p)?;
                let mut masked = Vec::new();
                for (i, c) in clients.iter_mut().enumerate() {
                    if Some(i as u32) != drop {
                        masked.push(c.mask(&ups[i], ws[i], &shares)?);
                    }
                }
                let survivors: Vec<u32> = masked.iter().map(|m| m.header.sender).collect();
                let reveals = clients
                    .iter_mut()
                    .filter(|c| survivors.contains(&c.index()))
                    .map(|c| c.unmask(&survivors))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut samples = Vec::new();
                let mut digest = [0u8; 32];
                for _ in 0..reps {
                    let (ms, sum) =
                        time_ms(|| secagg::unmask(&p, &adverts, &shares, &masked, &reveals));
                    let sum = sum?;
                    if digest != [0u8; 32] && digest != sum.digest() {
                        return Err("unmask is not deterministic".into());
                    }
                    digest = sum.digest();
                    samples.push(ms);
                }
                out.line(
                    bench,
                    u64::from(d),
                    k,
                    n,
                    serde_json::json!({"t": p.threshold, "sum_sha256": hex(&digest)}),
                    median(samples),
                );
            }
        }
    }

    // Shamir of a 32-byte secret, n = 50, t = 26 (as Flower's bench).
    let secret = [0x42u8; 32];
    let runs = reps.max(5) * 20;
    let mut split_ms = Vec::new();
    let mut combine_ms = Vec::new();
    for _ in 0..runs {
        let (ms, shares) = time_ms(|| shamir::split(&secret, 26, 50));
        let shares = shares?;
        split_ms.push(ms);
        let first: Vec<shamir::SecretShare> = shares.into_iter().take(26).collect();
        let (ms, back) = time_ms(|| shamir::combine(&first, 26));
        if *back? != secret {
            return Err("Shamir round trip failed".into());
        }
        combine_ms.push(ms);
    }
    out.line(
        "shamir_split",
        32,
        49,
        50,
        serde_json::json!({"t": 26}),
        median(split_ms),
    );
    out.line(
        "shamir_combine",
        32,
        49,
        50,
        serde_json::json!({"t": 26}),
        median(combine_ms),
    );
    Ok(())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
