//! din-fl benchmarks on the peer scripts' workloads, one JSON object per line:
//!
//! ```text
//! cargo run --release --example fl_bench -- --json [--reps 7] [--epochs 3]
//! ```
//!
//! - `{"bench":"fedavg","n":N,"d":1000000,"layout":L,"median_ms":…}` for n in {10, 100}:
//!   weighted FedAvg of n float32 vectors (as `benches/peers/fedavg.py`), both
//!   cores, the rows of one `(n, D)` matrix (`"matrix"`, numpy's stack) or separately
//!   allocated vectors (`"vectors"`, client updates as they arrive);
//! - `{"bench":"train_epoch_mlp","median_s":…}`: one epoch of MLP 784-128-10 over 60,000
//!   random samples, batch 64, SGD lr 0.01, cross-entropy, on one thread (as
//!   `benches/peers/torch_mlp.py`). The example re-runs itself with
//!   `RAYON_NUM_THREADS=1 MATMUL_NUM_THREADS=1` for this part.

use std::error::Error;

// The examples' allocator (see `din_examples`).
extern crate din_examples;
use std::process::Command;
use std::time::Instant;

use din_fl::backend::CpuAutodiff;
use din_fl::burn::tensor::backend::Backend;
use din_fl::data::Dataset;
use din_fl::rng::SeededRng;
use din_fl::{Architecture, Net, OptimizerKind, TrainConfig, aggregate, train};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn emit(json: bool, v: serde_json::Value) {
    if json {
        println!("{v}");
    } else {
        println!("{v:#}");
    }
}

fn train_epoch(json: bool, epochs: usize) -> Result<(), Box<dyn Error>> {
    let mut rng = SeededRng::new(0);
    let n = 60_000;
    let x: Vec<f32> = (0..n * 784).map(|_| rng.normal() as f32).collect();
    let y: Vec<u32> = (0..n).map(|_| rng.below(10) as u32).collect();
    let data = Dataset::new(x, y, 784, 10, vec![784])?;
    let device = Default::default();
    CpuAutodiff::seed(&device, 0);
    let mut model: Net<CpuAutodiff> = Net::new(&Architecture::Mlp(vec![128]), &[784], 10, &device)?;
    let config = TrainConfig {
        epochs: 1,
        batch_size: 64,
        learning_rate: 0.01,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        seed: 0,
    };
    // Warm-up on a tenth of the data, as the PyTorch script does.
    let warm = data.subset(&(0..6400).collect::<Vec<_>>());
    model = train(model, &warm, &config, &device, |_| {})?.0;
    let mut times = Vec::new();
    for _ in 0..epochs {
        let t = Instant::now();
        model = train(model, &data, &config, &device, |_| {})?.0;
        times.push(t.elapsed().as_secs_f64());
    }
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let med = median(times);
    emit(
        json,
        serde_json::json!({
            "bench": "train_epoch_mlp", "median_s": med, "min_s": min, "epochs": epochs,
            "samples_per_s": n as f64 / med, "threads": 1, "backend": "burn-ndarray 0.21",
        }),
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let json = std::env::args().any(|a| a == "--json");
    let epochs: usize = arg("--epochs").map(|s| s.parse()).transpose()?.unwrap_or(3);
    if std::env::var_os("DIN_FL_BENCH_CHILD").is_some() {
        return train_epoch(json, epochs);
    }
    let reps: usize = arg("--reps").map(|s| s.parse()).transpose()?.unwrap_or(7);
    let d = 1_000_000usize;
    for n in [10usize, 100] {
        let mut rng = SeededRng::new(n as u64);
        // One (n, D) matrix, as numpy's stack (and din.fedavg of a 2-D array), and the
        // same rows as separately allocated vectors, as client updates arrive.
        let matrix: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
        let vectors: Vec<Vec<f32>> = matrix.chunks(d).map(<[f32]>::to_vec).collect();
        let weights: Vec<f64> = (0..n).map(|_| 50.0 + rng.below(450) as f64).collect();
        for (layout, refs) in [
            ("matrix", matrix.chunks(d).collect::<Vec<_>>()),
            ("vectors", vectors.iter().map(Vec::as_slice).collect()),
        ] {
            aggregate::fedavg(&refs, &weights)?;
            let mut times = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                let out = aggregate::fedavg(&refs, &weights)?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                std::hint::black_box(out);
            }
            let med = median(times);
            emit(
                json,
                serde_json::json!({
                    "bench": "fedavg", "n": n, "d": d, "layout": layout, "median_ms": med,
                    "input_gb_per_s": (n * d * 4) as f64 / med / 1e6,
                    "threads": rayon::current_num_threads(),
                }),
            );
        }
    }
    // The epoch runs in a child pinned to one thread.
    let status = Command::new(std::env::current_exe()?)
        .args(std::env::args().skip(1))
        .env("DIN_FL_BENCH_CHILD", "1")
        .env("RAYON_NUM_THREADS", "1")
        .env("MATMUL_NUM_THREADS", "1")
        .status()?;
    if !status.success() {
        return Err(format!("the training benchmark failed: {status}").into());
    }
    Ok(())
}
