//! Helpers shared by din-core's integration tests.
#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

/// `tests/vectors/NAME` at the repository root.
pub fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(name)
}

/// The bytes a vector's `data` object describes (`utf8`, `hex`, or a `byte i = i % K`
/// pattern over `length` bytes).
pub fn vector_bytes(data: &serde_json::Value) -> Vec<u8> {
    if let Some(s) = data.get("utf8") {
        return s.as_str().unwrap().as_bytes().to_vec();
    }
    if let Some(h) = data.get("hex") {
        return hex::decode(h.as_str().unwrap()).unwrap();
    }
    let pattern = data["pattern"].as_str().unwrap();
    let k: usize = pattern
        .strip_prefix("byte i = i % ")
        .unwrap_or_else(|| panic!("unknown pattern {pattern}"))
        .parse()
        .unwrap();
    let len = data["length"].as_u64().unwrap() as usize;
    (0..len).map(|i| (i % k) as u8).collect()
}

/// Reads a JSON file.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}
