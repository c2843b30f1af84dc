//! Replays the committed fuzz corpus (`fuzz/corpus/*`) through the same checks the fuzz
//! targets make, so every input the fuzzer ever kept stays a regression test without
//! any fuzzing tool installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::{read_json, vector_path};
use din_core::assignment::SubgroupAssignment;
use din_core::content::{self, DAG_PB, car::CarReader};
use din_core::sealed::{KeyBundle, SealedContribution};
use din_core::secagg::{AdvertiseKeys, MaskedInput, ShareKeys, SubgroupAggregate, UnmaskShares};
use din_core::{
    Error, FsStore, Message, ModelRef, ScoreCommitment, ScoreReveal, Store, TaskConfig,
    UpdateRecord,
};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn canonical<M: Message>(data: &[u8]) -> bool {
    match M::from_canonical_bytes(data) {
        Ok(m) => {
            assert_eq!(m.to_canonical_bytes(), data, "{} is not canonical", M::NAME);
            true
        }
        Err(_) => false,
    }
}

#[test]
fn canonical_decode_corpus() {
    let inputs = corpus("canonical_decode");
    assert!(inputs.len() >= 6);
    let accepted = inputs
        .iter()
        .filter(|d| {
            [
                canonical::<TaskConfig>(d),
                canonical::<ModelRef>(d),
                canonical::<UpdateRecord>(d),
                canonical::<SubgroupAssignment>(d),
                canonical::<ScoreCommitment>(d),
                canonical::<ScoreReveal>(d),
                canonical::<AdvertiseKeys>(d),
                canonical::<ShareKeys>(d),
                canonical::<MaskedInput>(d),
                canonical::<UnmaskShares>(d),
                canonical::<KeyBundle>(d),
                canonical::<SubgroupAggregate>(d),
                canonical::<SealedContribution>(d),
            ]
            .contains(&true)
        })
        .count();
    assert!(
        accepted >= 6,
        "the seeds include one valid message of each type"
    );
}

#[test]
fn car_import_corpus() {
    let inputs = corpus("car_import");
    assert!(!inputs.is_empty());
    for data in inputs {
        let Ok(mut car) = CarReader::new(data.as_slice()) else {
            continue;
        };
        let mut blocks = HashMap::new();
        while let Ok(Some((cid, bytes))) = car.next_block() {
            blocks.insert(cid, bytes);
        }
        for root in car.roots() {
            let _ = content::assemble(root, 1 << 20, |c| {
                blocks
                    .get(c)
                    .cloned()
                    .ok_or_else(|| Error::BlockNotFound { cid: c.to_string() })
            });
        }
    }
}

#[test]
fn unixfs_assemble_corpus() {
    let inputs = corpus("unixfs_assemble");
    assert!(!inputs.is_empty());
    for data in inputs {
        let root = content::block_cid(DAG_PB, &data);
        let _ = content::links_of(&root, &data);
        if let Ok(out) = content::assemble(&root, 1 << 20, |_| Ok(data.clone())) {
            assert!(out.len() <= 1 << 20);
        }
    }
}

/// Writes the seed corpus: `cargo test -p din-core --test fuzz_corpus -- --ignored`.
#[test]
#[ignore = "writes seed files into fuzz/corpus"]
fn write_seed_corpus() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for v in read_json(&vector_path("encoding.json"))["vectors"]
        .as_array()
        .unwrap()
    {
        write(
            "canonical_decode",
            &format!("seed-{}", v["name"].as_str().unwrap()),
            &hex::decode(v["hex"].as_str().unwrap()).unwrap(),
        );
    }
    // One message of each secure-aggregation stage, from a real 3-client round.
    let params = din_core::secagg::SecAggParams {
        task: din_core::TaskId(1),
        round: din_core::Round(0),
        subgroup: din_core::SubgroupId(0),
        clients: 3,
        neighbours: 2,
        threshold: 2,
        vector_len: 4,
        fixed_point: din_core::secagg::FixedPoint {
            max_clients: 3,
            ..Default::default()
        },
        graph_seed: din_core::Digest32([1; 32]),
    };
    let mut clients = Vec::new();
    let mut adverts = Vec::new();
    for i in 0..3 {
        let (c, a) = din_core::secagg::Participant::new(params.clone(), i).unwrap();
        clients.push(c);
        adverts.push(a);
    }
    let shares: Vec<ShareKeys> = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    let masked: Vec<MaskedInput> = clients
        .iter_mut()
        .map(|c| c.mask(&[0.5, -1.0, 2.0, 0.0], 3, &shares).unwrap())
        .collect();
    let reveal: UnmaskShares = clients[0].unmask(&[0, 1, 2]).unwrap();
    write(
        "canonical_decode",
        "seed-secagg-advertise",
        &adverts[0].to_canonical_bytes(),
    );
    write(
        "canonical_decode",
        "seed-secagg-share-keys",
        &shares[0].to_canonical_bytes(),
    );
    write(
        "canonical_decode",
        "seed-secagg-masked-input",
        &masked[0].to_canonical_bytes(),
    );
    write(
        "canonical_decode",
        "seed-secagg-unmask",
        &reveal.to_canonical_bytes(),
    );
    let reveals: Vec<UnmaskShares> = std::iter::once(reveal)
        .chain((1..3).map(|i| clients[i].unmask(&[0, 1, 2]).unwrap()))
        .collect();
    let aggregate =
        SubgroupAggregate::compute(&params, &adverts, &shares, &masked, &reveals).unwrap();
    write(
        "canonical_decode",
        "seed-subgroup-aggregate",
        &aggregate.to_canonical_bytes(),
    );
    let key = din_core::sealed::DataKey::generate();
    let evaluator = din_core::sealed::EvaluatorKey::generate();
    let bundle = KeyBundle {
        task: din_core::TaskId(1),
        keys: vec![
            din_core::sealed::wrap_key(
                din_core::TaskId(1),
                &key,
                din_core::Address([7; 20]),
                &evaluator.public(),
                &din_core::sealed::Binding::of(
                    din_core::sealed::Purpose::TestSet,
                    &[],
                    b"sealed test set",
                ),
            )
            .unwrap(),
        ],
    };
    write(
        "canonical_decode",
        "seed-key-bundle",
        &bundle.to_canonical_bytes(),
    );

    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let hello = store.put(b"hello din\n").unwrap();
    let empty = store.put(b"").unwrap();
    write(
        "car_import",
        "seed-hello",
        &store.export_car(&[hello], Vec::new()).unwrap(),
    );
    write(
        "car_import",
        "seed-two-roots",
        &store.export_car(&[hello, empty], Vec::new()).unwrap(),
    );
    for (name, len) in [
        ("seed-2-chunks", 262_145usize),
        ("seed-175-chunks", 175 * 262_144),
    ] {
        let data: Vec<u8> = (0..len).map(|i| (i % 249) as u8).collect();
        let mut root_node = Vec::new();
        let root = content::build_dag(&data, |_, b| {
            root_node = b.to_vec(); // the last block handed out is the root
            Ok(())
        })
        .unwrap();
        assert_eq!(root.codec(), DAG_PB);
        write("unixfs_assemble", name, &root_node);
    }
}
