//! The dag-pb / UnixFS decoder on arbitrary bytes: the input is a dag-pb root, and every
//! link it names resolves to the input again (the worst case: a DAG that links one
//! node many times). Must never panic, recurse without bound, or exceed the output limit.
#![no_main]

use din_core::content::{self, DAG_PB};
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let root = content::block_cid(DAG_PB, data);
    let _ = content::links_of(&root, data);
    if let Ok(out) = content::assemble(&root, LIMIT, |_| Ok(data.to_vec())) {
        assert!(out.len() as u64 <= LIMIT);
    }
});
