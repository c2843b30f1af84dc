//! CAR files move between din and the JavaScript IPFS stack in both directions.
//!
//! Runs when `DIN_NODE` names a Node.js 22 binary and `tests/vectors/crosscheck` has its
//! npm packages installed (`scripts/test-all.sh` does both, so CI always runs it):
//! Helia's importer writes a CAR with `@ipld/car`, din imports and reads it; din exports
//! a CAR, `@ipld/car` reads it and Helia's exporter reassembles the same bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

use din_core::{FsStore, Store, content};

const BLOB_CID: &str = "bafybeibx62obrkybp46hx3ivh53q4rnptgkunpgtwiib5lfelfgt2ekihm";

fn node(args: &[&str]) -> Option<String> {
    let node = std::env::var_os("DIN_NODE")?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/crosscheck/car-interop.mjs");
    let out = Command::new(node)
        .arg(script)
        .args(args)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "node {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

#[test]
fn car_files_cross_between_din_and_helia() {
    let dir = tempfile::tempdir().unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let Some(helia_root) = node(&["make", dir_s]) else {
        eprintln!("skipping: set DIN_NODE (scripts/test-all.sh does) to run the IPFS interop test");
        return;
    };
    assert_eq!(helia_root, BLOB_CID);
    let blob: Vec<u8> = (0..1_000_000).map(|i| (i % 251) as u8).collect();

    // Helia -> din.
    let store = FsStore::open(dir.path().join("store")).unwrap();
    let file = std::fs::File::open(dir.path().join("helia.car")).unwrap();
    let roots = store.import_car(file).unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0].to_string(), BLOB_CID);
    assert!(store.get(&roots[0]).unwrap() == blob);

    // din -> Helia.
    let fresh = FsStore::open(dir.path().join("fresh")).unwrap();
    let cid = fresh.put(&blob).unwrap();
    assert_eq!(cid, content::cid_of(&blob));
    let car_path = dir.path().join("din.car");
    fresh
        .export_car(&[cid], std::fs::File::create(&car_path).unwrap())
        .unwrap();
    assert_eq!(
        node(&["check", car_path.to_str().unwrap()]).unwrap(),
        BLOB_CID
    );
}
