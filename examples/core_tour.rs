//! A tour of din-core on real data: the steps a DIN task takes before any training,
//! on the embedded defaults (a local store, no chain).
//!
//! 1. The Model Owner stores the training data set and a genesis model by CID (paper
//!    §5.1 step 1b): the CIDs are the ones `ipfs add --cid-version=1` prints.
//! 2. It fixes and validates a task configuration, encoded canonically.
//! 3. 100 Participants and 30 Evaluators register; a round seed assigns them to
//!    subgroups (§3.4), and single memberships are checked the way the contract will.
//! 4. The content moves to another store as a CARv1 file (`ipfs dag import` reads it).
//!
//! ```text
//! cargo run --release --example core_tour -- [--data DIR (default: the repository's data/)] [--json]
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use din_core::assignment;
use din_core::hash::keccak256;
use din_core::{
    Address, DType, Digest32, FsStore, Message, ModelRef, ParamManifest, ParamSpec, Round, Store,
    TaskConfig, TaskId,
};

struct Args {
    data: PathBuf,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        data: PathBuf::from(din_examples::DATA_DIR),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--data" => args.data = it.next().ok_or("--data needs a folder")?.into(),
            "--json" => args.json = true,
            "-h" | "--help" => {
                return Err(
                    "usage: core_tour [--data DIR (default: the repository's data/)] [--json]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(args)
}

/// Prints one step: a JSON line with `--json`, a readable line otherwise.
fn report(json: bool, step: &str, fields: serde_json::Value) {
    if json {
        let mut line = serde_json::json!({ "step": step });
        if let (Some(out), Some(more)) = (line.as_object_mut(), fields.as_object()) {
            out.extend(more.clone());
        }
        println!("{line}");
    } else {
        println!("[{step}] {fields}");
    }
}

fn account(role: &str, i: u32) -> Address {
    let h = keccak256(format!("{role} {i}").as_bytes());
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    Address(a)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let store = FsStore::open(work.path().join("owner-store"))?;

    // 1. Data set and genesis model by CID.
    let images_path = args.data.join("mnist/t10k-images-idx3-ubyte.gz");
    let images = std::fs::read(&images_path).map_err(|e| {
        format!(
            "cannot read {} ({e}); pass --data pointing at a folder holding mnist/",
            images_path.display()
        )
    })?;
    let t = Instant::now();
    let data_cid = store.put(&images)?;
    report(
        args.json,
        "store_dataset",
        serde_json::json!({
            "file": images_path.display().to_string(), "bytes": images.len(),
            "cid": data_cid.to_string(), "ms": t.elapsed().as_secs_f64() * 1e3,
        }),
    );

    let manifest = ParamManifest::new(
        DType::F32,
        vec![
            ParamSpec {
                name: "fc1.weight".into(),
                shape: vec![128, 784],
            },
            ParamSpec {
                name: "fc1.bias".into(),
                shape: vec![128],
            },
            ParamSpec {
                name: "fc2.weight".into(),
                shape: vec![10, 128],
            },
            ParamSpec {
                name: "fc2.bias".into(),
                shape: vec![10],
            },
        ],
    )?;
    // A deterministic genesis: small values from a hash stream, little-endian f32.
    let n = usize::try_from(manifest.num_elements()?)?;
    let mut genesis = Vec::with_capacity(n * 4);
    let mut block = keccak256(b"din genesis");
    while genesis.len() < n * 4 {
        block = keccak256(&block);
        for word in block.chunks_exact(4) {
            let word = u32::from_le_bytes(word.try_into().unwrap_or_default());
            let x = (f64::from(word) / f64::from(u32::MAX) - 0.5) * 0.1;
            genesis.extend_from_slice(&(x as f32).to_le_bytes());
        }
    }
    genesis.truncate(n * 4);
    let model = ModelRef {
        cid: store.put(&genesis)?,
        byte_length: genesis.len() as u64,
        manifest,
    };
    report(
        args.json,
        "store_genesis_model",
        serde_json::json!({
            "cid": model.cid.to_string(), "bytes": model.byte_length,
            "parameters": model.manifest.num_elements()?,
            "model_ref_encoding_bytes": model.to_canonical_bytes().len(),
        }),
    );

    // 2. Task configuration.
    let config = TaskConfig::default();
    config.validate()?;
    let encoded = config.to_canonical_bytes();
    report(
        args.json,
        "task_config",
        serde_json::json!({
            "config": config, "canonical_bytes": encoded.len(),
            "config_cid": store.put(&encoded)?.to_string(),
            "max_duration_s": config.total_duration_s()?,
        }),
    );
    let mut broken = config.clone();
    broken.quorum = 1;
    report(
        args.json,
        "bad_config_rejected",
        serde_json::json!({
            "error": broken.validate().err().map(|e| e.to_string()),
        }),
    );

    // 3. Registration and a round's assignment.
    let participants: Vec<Address> = (0..100).map(|i| account("participant", i)).collect();
    let evaluators: Vec<Address> = (0..30).map(|i| account("evaluator", i)).collect();
    let seed = Digest32(keccak256(b"din core tour: round 0 randomness"));
    let t = Instant::now();
    let round = assignment::assign(
        TaskId(1),
        Round(0),
        seed,
        &config,
        &participants,
        &evaluators,
    )?;
    let assign_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut checked = 0;
    for (i, who) in participants.iter().enumerate() {
        let j = assignment::participant_subgroup(i as u64, 100, config.subgroup_size, &seed)?;
        let group = round
            .subgroup_of_participant(who)
            .ok_or("participant without subgroup")?;
        if group.id != j {
            return Err(format!("membership check disagrees for participant {i}").into());
        }
        checked += 1;
    }
    report(
        args.json,
        "assignment",
        serde_json::json!({
            "seed": seed.to_string(),
            "subgroups": round.subgroups.len(),
            "participants_per_subgroup": round.subgroups.iter().map(|g| g.participants.len()).collect::<Vec<_>>(),
            "evaluators_per_subgroup": round.subgroups.iter().map(|g| g.evaluators.len()).collect::<Vec<_>>(),
            "single_membership_checks_agreeing": checked,
            "assignment_cid": store.put(&round.to_canonical_bytes())?.to_string(),
            "ms": assign_ms,
        }),
    );

    // 4. Move everything to another node's store as a CAR file.
    let car_path = work.path().join("task.car");
    store.export_car(&[data_cid, model.cid], std::fs::File::create(&car_path)?)?;
    let other = FsStore::open(work.path().join("evaluator-store"))?;
    let roots = other.import_car(std::fs::File::open(&car_path)?)?;
    let same = other.get(&data_cid)? == images && other.get(&model.cid)? == genesis;
    report(
        args.json,
        "car_transfer",
        serde_json::json!({
            "car_bytes": std::fs::metadata(&car_path)?.len(),
            "roots": roots.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "verified_identical": same,
        }),
    );
    if !same {
        return Err("content changed in transfer".into());
    }
    report(
        args.json,
        "done",
        serde_json::json!({ "total_ms": started.elapsed().as_secs_f64() * 1e3 }),
    );
    Ok(())
}
