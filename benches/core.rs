//! din-core benchmarks: content addressing, the store, and assignment.
//!
//! `cargo bench -p din-benches --bench core`. Raw SHA-256 over the same bytes is the
//! physical anchor for CID computation: a CID costs one hash pass over the data plus
//! the (small) DAG nodes, so `cid_of` should run at SHA-256 speed. Results and the
//! side-by-side table are in `benches/README.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use din_core::hash::{keccak256, sha256};
use din_core::{Address, Digest32, FsStore, Round, Store, TaskConfig, TaskId, assignment, content};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn content_addressing(c: &mut Criterion) {
    let mut g = c.benchmark_group("content");
    g.sample_size(10);
    for mib in [1usize, 64] {
        let bytes = data(mib << 20);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("sha256_raw", mib), &bytes, |b, d| {
            b.iter(|| sha256(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("cid_of", mib), &bytes, |b, d| {
            b.iter(|| content::cid_of(black_box(d)))
        });
    }
    let bytes = data(16 << 20);
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let cid = store.put(&bytes).unwrap();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("fs_store_put_16MiB_existing", |b| {
        b.iter(|| store.put(black_box(&bytes)).unwrap())
    });
    g.bench_function("fs_store_get_16MiB_verified", |b| {
        b.iter(|| store.get(black_box(&cid)).unwrap())
    });
    let car = store.export_car(&[cid], Vec::new()).unwrap();
    g.bench_function("car_import_16MiB", |b| {
        b.iter(|| {
            let d = tempfile::tempdir().unwrap();
            FsStore::open(d.path())
                .unwrap()
                .import_car(car.as_slice())
                .unwrap()
        })
    });
    g.finish();
}

fn assignment_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assignment");
    let seed = Digest32(keccak256(b"bench"));
    g.bench_function("shuffled_index_single", |b| {
        b.iter(|| assignment::shuffled_index(black_box(4321), 10_000, &seed).unwrap())
    });
    g.bench_function("shuffle_positions_10000", |b| {
        b.iter(|| assignment::shuffle_positions(black_box(10_000), &seed).unwrap())
    });
    let accounts = |n: u32, tag: u8| -> Vec<Address> {
        (0..n)
            .map(|i| {
                let mut a = [tag; 20];
                a[16..].copy_from_slice(&i.to_be_bytes());
                Address(a)
            })
            .collect()
    };
    let (ps, es) = (accounts(10_000, 1), accounts(3_000, 2));
    let config = TaskConfig::default();
    g.sample_size(20);
    g.bench_function("assign_10000_participants_3000_evaluators", |b| {
        b.iter(|| {
            assignment::assign(TaskId(1), Round(0), seed, &config, black_box(&ps), &es).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, content_addressing, assignment_bench);
criterion_main!(benches);
