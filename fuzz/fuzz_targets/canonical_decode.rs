//! Every canonical message decoder on arbitrary bytes: never panics, and whatever it
//! accepts re-encodes to exactly the input (the encoding is canonical: one value, one
//! byte string).
#![no_main]

use din_core::assignment::SubgroupAssignment;
use din_core::sealed::{KeyBundle, SealedContribution};
use din_core::secagg::{AdvertiseKeys, MaskedInput, ShareKeys, SubgroupAggregate, UnmaskShares};
use din_core::{Message, ModelRef, ScoreCommitment, ScoreReveal, TaskConfig, UpdateRecord};
use libfuzzer_sys::fuzz_target;

fn check<M: Message>(data: &[u8]) {
    if let Ok(m) = M::from_canonical_bytes(data) {
        assert_eq!(m.to_canonical_bytes(), data, "{} is not canonical", M::NAME);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<TaskConfig>(data);
    check::<ModelRef>(data);
    check::<UpdateRecord>(data);
    check::<SubgroupAssignment>(data);
    check::<ScoreCommitment>(data);
    check::<ScoreReveal>(data);
    check::<AdvertiseKeys>(data);
    check::<ShareKeys>(data);
    check::<MaskedInput>(data);
    check::<UnmaskShares>(data);
    check::<KeyBundle>(data);
    check::<SubgroupAggregate>(data);
    check::<SealedContribution>(data);
    // The sealed test set's envelope: never panics on arbitrary bytes.
    let key = din_core::sealed::DataKey::generate();
    let _ = din_core::sealed::open(din_core::TaskId(1), &key, data);
});
