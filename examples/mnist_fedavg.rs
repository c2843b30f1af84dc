//! Federated training on real data with din-fl: Participants train locally on their
//! partition, the global model is the sample-weighted FedAvg of their parameters, for
//! a number of rounds; the global model is evaluated on a held-out split each round.
//!
//! ```text
//! cargo run --release --example mnist_fedavg -- --json
//!     [--dataset mnist|adult] [--model logreg|mlp|cnn|mlp:W1,W2] [--participants 10]
//!     [--rounds 10] [--local-epochs 1] [--partition iid|dirichlet:ALPHA|quantity:ALPHA]
//!     [--seed 0] [--lr 0.1] [--batch-size 32] [--optimizer sgd|adam] [--data DIR (default: the repository's data/)]
//! ```
//!
//! Defaults: MNIST's 10k split cut into 8,000 training and 2,000 test images, 10
//! Participants, IID, MLP 784-128-10, 10 rounds of 1 local epoch (SGD, momentum 0.9).
//! With `--json` it prints one line per round (`round`, `accuracy`, `loss`, ...) and a
//! final line with `final_accuracy` and `final_f1`; a progress bar goes to stderr.

// The examples' allocator (see `din_examples`).
extern crate din_examples;

use std::error::Error;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use din_fl::backend::{Cpu, CpuAutodiff};
use din_fl::burn::module::AutodiffModule;
use din_fl::burn::tensor::backend::Backend;
use din_fl::data::partition::{Partition, partition};
use din_fl::data::{Dataset, adult, mnist};
use din_fl::{Architecture, Net, OptimizerKind, TrainConfig, aggregate, evaluate, params, train};

struct Args {
    dataset: String,
    model: String,
    participants: usize,
    rounds: usize,
    local_epochs: usize,
    partition: Partition,
    seed: u64,
    lr: f64,
    batch_size: usize,
    optimizer: OptimizerKind,
    data: PathBuf,
    json: bool,
}

fn parse() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        dataset: "mnist".into(),
        model: "mlp".into(),
        participants: 10,
        rounds: 10,
        local_epochs: 1,
        partition: Partition::Iid,
        seed: 0,
        lr: 0.1,
        batch_size: 32,
        optimizer: OptimizerKind::Sgd { momentum: 0.9 },
        data: PathBuf::from(din_examples::DATA_DIR),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dataset" => a.dataset = value()?,
            "--model" => a.model = value()?,
            "--participants" => a.participants = value()?.parse()?,
            "--rounds" => a.rounds = value()?.parse()?,
            "--local-epochs" => a.local_epochs = value()?.parse()?,
            "--partition" => a.partition = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--lr" => a.lr = value()?.parse()?,
            "--batch-size" => a.batch_size = value()?.parse()?,
            "--optimizer" => {
                a.optimizer = match value()?.as_str() {
                    "sgd" => OptimizerKind::Sgd { momentum: 0.9 },
                    "adam" => OptimizerKind::Adam,
                    other => return Err(format!("optimizer {other:?}: sgd or adam").into()),
                }
            }
            "--data" => a.data = value()?.into(),
            "--json" => a.json = true,
            "-h" | "--help" => {
                return Err("see the header of examples/mnist_fedavg.rs for the flags".into());
            }
            other => return Err(format!("unknown flag {other:?}; try --help").into()),
        }
    }
    Ok(a)
}

fn load(a: &Args) -> Result<(Dataset, Dataset), Box<dyn Error>> {
    Ok(match a.dataset.as_str() {
        "mnist" => mnist::load_test_split(a.data.join("mnist"))?.split(0.2, a.seed)?,
        "adult" => adult::load(a.data.join("adult/adult.csv"), 0.2, a.seed)?,
        other => return Err(format!("dataset {other:?}: mnist or adult").into()),
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let a = parse()?;
    let (train_set, test_set) = load(&a)?;
    let arch: Architecture = a.model.parse()?;
    let device = Default::default();
    CpuAutodiff::seed(&device, a.seed);
    let parts = partition(
        &train_set.labels,
        train_set.n_classes,
        a.participants,
        a.partition,
        a.seed,
    )?;
    let local: Vec<Dataset> = parts.iter().map(|p| train_set.subset(p)).collect();
    let weights: Vec<f64> = local.iter().map(|d| d.len() as f64).collect();
    let mut global: Net<CpuAutodiff> =
        Net::new(&arch, &train_set.sample_shape, train_set.n_classes, &device)?;
    let started = Instant::now();
    let total_steps: usize = local
        .iter()
        .map(|d| d.len().div_ceil(a.batch_size) * a.local_epochs)
        .sum::<usize>()
        * a.rounds;
    let mut done = 0usize;
    let mut last = None;
    for round in 0..a.rounds {
        let mut updates = Vec::with_capacity(local.len());
        for (p, data) in local.iter().enumerate() {
            let config = TrainConfig {
                epochs: a.local_epochs,
                batch_size: a.batch_size,
                learning_rate: a.lr,
                optimizer: a.optimizer,
                seed: a.seed ^ ((round as u64) << 32) ^ p as u64,
            };
            let (trained, _) = train(global.clone(), data, &config, &device, |_| {
                done += 1;
                if done.is_multiple_of(25) || done == total_steps {
                    let filled = done * 30 / total_steps.max(1);
                    eprint!(
                        "\r[{}{}] {done}/{total_steps} steps, round {}/{}",
                        "#".repeat(filled),
                        " ".repeat(30 - filled),
                        round + 1,
                        a.rounds
                    );
                    let _ = std::io::stderr().flush();
                }
            })?;
            updates.push(params::flatten(&trained)?.0);
        }
        let refs: Vec<&[f32]> = updates.iter().map(Vec::as_slice).collect();
        let mean = aggregate::fedavg(&refs, &weights)?;
        global = params::unflatten(global, &mean)?;
        let eval_model: Net<Cpu> = global.valid();
        let m = evaluate(&eval_model, &test_set, &device)?;
        if a.json {
            println!(
                "{}",
                serde_json::json!({"round": round + 1, "accuracy": m.accuracy, "loss": m.loss, "f1": m.f1})
            );
        } else {
            eprintln!();
            println!(
                "round {:>2}: accuracy {:.4}  loss {:.4}  macro-F1 {:.4}",
                round + 1,
                m.accuracy,
                m.loss,
                m.f1
            );
        }
        last = Some(m);
    }
    eprintln!();
    let m = last.ok_or("no rounds were run")?;
    let summary = serde_json::json!({
        "final_accuracy": m.accuracy, "final_f1": m.f1, "final_precision": m.precision, "final_recall": m.recall,
        "final_loss": m.loss, "dataset": a.dataset, "model": a.model, "participants": a.participants,
        "rounds": a.rounds, "local_epochs": a.local_epochs, "partition": format!("{:?}", a.partition),
        "seed": a.seed, "train_samples": train_set.len(), "test_samples": test_set.len(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    println!("{summary}");
    Ok(())
}
