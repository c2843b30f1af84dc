//! CARv1 reading on arbitrary bytes: the header decoder, section framing, block
//! verification, then reassembly of every root from the blocks read. Never panics;
//! reassembled content is bounded.
#![no_main]

use std::collections::HashMap;

use din_core::Error;
use din_core::content::{self, car::CarReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut car) = CarReader::new(data) else {
        return;
    };
    let mut blocks = HashMap::new();
    while let Ok(Some((cid, bytes))) = car.next_block() {
        assert!(content::verify_block(&cid, &bytes).is_ok());
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
});
