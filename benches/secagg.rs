//! Secure-aggregation criterion benches (regression tracking at D = 100,000).
//! The side-by-side comparison with Flower uses `examples/secagg_bench.rs` at the peer
//! script's sizes; see `benches/README.md`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use din_core::secagg::{
    self, AdvertiseKeys, FixedPoint, Participant, SecAggParams, ShareKeys, shamir,
};
use din_core::{Digest32, Round, SubgroupId, TaskId};

const D: u32 = 100_000;

fn params(n: u32) -> SecAggParams {
    SecAggParams {
        task: TaskId(1),
        round: Round(0),
        subgroup: SubgroupId(0),
        clients: n,
        neighbours: n - 1,
        threshold: n.div_ceil(2),
        vector_len: D,
        fixed_point: FixedPoint {
            max_clients: n,
            ..FixedPoint::default()
        },
        graph_seed: Digest32([1; 32]),
    }
}

fn setup(p: &SecAggParams) -> (Vec<Participant>, Vec<AdvertiseKeys>, Vec<ShareKeys>) {
    let mut clients = Vec::new();
    let mut adverts = Vec::new();
    for i in 0..p.clients {
        let (c, a) = Participant::new(p.clone(), i).unwrap();
        clients.push(c);
        adverts.push(a);
    }
    let shares = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    (clients, adverts, shares)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("secagg");
    g.sample_size(20);
    let update: Vec<f32> = (0..D)
        .map(|i| ((i % 200) as f32 - 100.0) / 1000.0)
        .collect();
    for k in [10u32, 50] {
        let p = params(k + 1);
        g.bench_function(format!("client_mask_d100000_k{k}"), |b| {
            b.iter_batched(
                || setup(&p),
                |(mut clients, _, shares)| {
                    clients[0].mask(black_box(&update), 100, &shares).unwrap()
                },
                BatchSize::PerIteration,
            )
        });
        let (mut clients, adverts, shares) = setup(&p);
        let masked: Vec<_> = clients
            .iter_mut()
            .map(|c| c.mask(&update, 100, &shares).unwrap())
            .collect();
        let survivors: Vec<u32> = (0..p.clients).collect();
        let reveals: Vec<_> = clients
            .iter_mut()
            .map(|c| c.unmask(&survivors).unwrap())
            .collect();
        g.bench_function(format!("unmask_d100000_n{}", k + 1), |b| {
            b.iter(|| secagg::unmask(&p, &adverts, &shares, black_box(&masked), &reveals).unwrap())
        });
    }
    let secret = [0x42u8; 32];
    g.bench_function("shamir_split_32B_n50_t26", |b| {
        b.iter(|| shamir::split(black_box(&secret), 26, 50).unwrap())
    });
    let shares: Vec<_> = shamir::split(&secret, 26, 50)
        .unwrap()
        .into_iter()
        .take(26)
        .collect();
    g.bench_function("shamir_combine_32B_t26", |b| {
        b.iter(|| shamir::combine(black_box(&shares), 26).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
