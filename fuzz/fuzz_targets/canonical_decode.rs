//! Every canonical message decoder on arbitrary bytes: never panics, and whatever it
//! accepts re-encodes to exactly the input (the encoding is canonical: one value, one
//! byte string).
#![no_main]

use din_core::assignment::SubgroupAssignment;
use din_core::sealed::{KeyBundle, Purpose, SealedContribution};
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
    // The bounds check of an unmasked sum (review hole 4): never panics on any words.
    if let Ok(a) = SubgroupAggregate::from_canonical_bytes(data) {
        let _ = a.sum.check_bounds(&din_core::secagg::FixedPoint::default());
    }
    check::<SealedContribution>(data);
    // Sealed data v2's envelope (version, key commitment, ciphertext): never panics on
    // arbitrary bytes, for either purpose.
    let key = din_core::sealed::DataKey::from_bytes(zeroize::Zeroizing::new([7; 32]));
    for purpose in [Purpose::TestSet, Purpose::Contribution] {
        let _ = din_core::sealed::open(purpose, b"context", &key, data);
    }
});
