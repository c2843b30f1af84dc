//! Sealed data: only the task's assigned Evaluators read the test set and a
//! Participant's contribution, every Evaluator reads the same plaintext, and a
//! contribution cannot be renamed (review hole 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use din_core::sealed::{
    Binding, DataKey, EvaluatorKey, KeyBundle, Purpose, SealedContribution, open, seal, unwrap_key,
    wrap_key,
};
use din_core::{Address, Error, Message, TaskId};
use zeroize::Zeroizing;

fn addr(b: u8) -> Address {
    Address([b; 20])
}

const TEST_SET: Purpose = Purpose::TestSet;

#[test]
fn assigned_evaluators_open_the_test_set_and_nobody_else_does() {
    let task = TaskId(7);
    let test_set: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    let key = DataKey::generate();
    let sealed = seal(TEST_SET, &[], &key, &test_set).unwrap();
    assert_eq!(sealed.len(), test_set.len() + 1 + 32 + 16);
    assert!(
        !sealed.windows(64).any(|w| w == &test_set[..64]),
        "ciphertext hides the data"
    );
    let binding = Binding::of(TEST_SET, &[], &sealed);

    let evaluators: Vec<EvaluatorKey> = (0..3).map(|_| EvaluatorKey::generate()).collect();
    let bundle = KeyBundle {
        task,
        keys: evaluators
            .iter()
            .enumerate()
            .map(|(i, k)| wrap_key(task, &key, addr(i as u8), &k.public(), &binding).unwrap())
            .collect(),
    };
    // The bundle travels as canonical bytes.
    let bytes = bundle.to_canonical_bytes();
    let bundle = KeyBundle::from_canonical_bytes(&bytes).unwrap();
    for (i, k) in evaluators.iter().enumerate() {
        let entry = bundle.for_evaluator(&addr(i as u8)).unwrap();
        let dk = unwrap_key(task, entry, k, &binding).unwrap();
        assert_eq!(*open(TEST_SET, &[], &dk, &sealed).unwrap(), test_set);
    }

    // An outsider's key, another evaluator's entry, another task, other sealed bytes,
    // another purpose: all fail.
    let outsider = EvaluatorKey::generate();
    let entry0 = bundle.for_evaluator(&addr(0)).unwrap();
    assert!(unwrap_key(task, entry0, &outsider, &binding).is_err());
    assert!(unwrap_key(task, entry0, &evaluators[1], &binding).is_err());
    assert!(unwrap_key(TaskId(8), entry0, &evaluators[0], &binding).is_err());
    let other = Binding::of(TEST_SET, &[], b"another sealed test set");
    assert!(unwrap_key(task, entry0, &evaluators[0], &other).is_err());
    let contribution = Binding::of(Purpose::Contribution, &[], &sealed);
    assert!(unwrap_key(task, entry0, &evaluators[0], &contribution).is_err());
    let mut relabelled = entry0.clone();
    relabelled.evaluator = addr(9);
    assert!(unwrap_key(task, &relabelled, &evaluators[0], &binding).is_err());
    let dk = unwrap_key(task, entry0, &evaluators[0], &binding).unwrap();
    assert!(open(Purpose::Contribution, &[], &dk, &sealed).is_err());
    assert!(open(TEST_SET, b"context", &dk, &sealed).is_err());
    assert!(open(TEST_SET, &[], &DataKey::generate(), &sealed).is_err());
}

/// The partitioning attack (review hole 8): an Owner wraps a different key to one
/// Evaluator, hoping the sealed bytes open under it to another plaintext (with a
/// non-committing AEAD such as ChaCha20-Poly1305 such multi-key ciphertexts can be
/// built). The sealed bytes commit to their key: any other key is refused before
/// decryption, naming the cause, so every Evaluator that opens the test set reads the
/// same plaintext.
#[test]
fn a_different_key_wrapped_to_one_evaluator_is_refused_by_the_key_commitment() {
    let task = TaskId(2);
    let key = DataKey::from_bytes(Zeroizing::new([1; 32]));
    let sealed = seal(TEST_SET, &[], &key, b"the real test set").unwrap();
    let binding = Binding::of(TEST_SET, &[], &sealed);
    let (honest, fooled) = (EvaluatorKey::generate(), EvaluatorKey::generate());
    let other = DataKey::from_bytes(Zeroizing::new([2; 32]));
    let bundle = KeyBundle {
        task,
        keys: vec![
            wrap_key(task, &key, addr(1), &honest.public(), &binding).unwrap(),
            wrap_key(task, &other, addr(2), &fooled.public(), &binding).unwrap(),
        ],
    };
    let k1 = unwrap_key(
        task,
        bundle.for_evaluator(&addr(1)).unwrap(),
        &honest,
        &binding,
    )
    .unwrap();
    assert_eq!(
        *open(TEST_SET, &[], &k1, &sealed).unwrap(),
        b"the real test set"
    );
    let k2 = unwrap_key(
        task,
        bundle.for_evaluator(&addr(2)).unwrap(),
        &fooled,
        &binding,
    )
    .unwrap();
    let err = open(TEST_SET, &[], &k2, &sealed).unwrap_err();
    assert!(
        err.to_string().contains("commit"),
        "refused by the key commitment, before decryption: {err}"
    );
    // Swapping the commitment for the other key's makes the ciphertext fail instead.
    let forged = seal(TEST_SET, &[], &other, b"xxx").unwrap();
    let mut spliced = sealed.clone();
    spliced[1..33].copy_from_slice(&forged[1..33]);
    assert!(open(TEST_SET, &[], &k2, &spliced).is_err());
    assert!(open(TEST_SET, &[], &k1, &spliced).is_err());
}

#[test]
fn sealing_is_deterministic_per_key() {
    let key = || DataKey::from_bytes(Zeroizing::new([5; 32]));
    let a = seal(TEST_SET, &[], &key(), b"data").unwrap();
    assert_eq!(a, seal(TEST_SET, &[], &key(), b"data").unwrap());
    assert_ne!(
        a[1..33],
        seal(TEST_SET, &[], &DataKey::generate(), b"data").unwrap()[1..33]
    );
}

#[test]
fn tampered_or_truncated_bytes_are_rejected() {
    let task = TaskId(1);
    let key = DataKey::generate();
    let sealed = seal(TEST_SET, &[], &key, b"labels and pixels").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x40;
        assert!(
            open(TEST_SET, &[], &key, &bad).is_err(),
            "flipped byte {i} went unnoticed"
        );
    }
    for n in 0..sealed.len() {
        assert!(
            open(TEST_SET, &[], &key, &sealed[..n]).is_err(),
            "truncation to {n} accepted"
        );
    }
    assert!(matches!(
        open(TEST_SET, &[], &key, &[1u8; 60]),
        Err(Error::UnsupportedVersion { .. })
    ));
    let binding = Binding::of(TEST_SET, &[], &sealed);
    let bundle = KeyBundle {
        task,
        keys: vec![
            wrap_key(
                task,
                &key,
                addr(1),
                &EvaluatorKey::generate().public(),
                &binding,
            )
            .unwrap(),
        ],
    };
    let bytes = bundle.to_canonical_bytes();
    for n in 0..bytes.len() {
        assert!(KeyBundle::from_canonical_bytes(&bytes[..n]).is_err());
    }
    assert!(
        wrap_key(task, &key, addr(1), &[0u8; 32], &binding).is_err(),
        "low-order key refused"
    );
}

#[test]
fn evaluator_keys_round_trip_through_their_bytes() {
    let k = EvaluatorKey::generate();
    let again = EvaluatorKey::from_bytes(k.to_bytes());
    assert_eq!(k.public(), again.public());
}

#[test]
fn contributions_open_only_for_the_participants_evaluators() {
    let task = TaskId(3);
    let model = b"DINM model bytes".repeat(1000);
    let keys: Vec<EvaluatorKey> = (0..3).map(|_| EvaluatorKey::generate()).collect();
    let evaluators: Vec<(Address, [u8; 32])> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (addr(i as u8), k.public()))
        .collect();
    let c = SealedContribution::seal(task, addr(200), &model, &evaluators).unwrap();
    let bytes = c.to_canonical_bytes();
    let c = SealedContribution::from_canonical_bytes(&bytes).unwrap();
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(*c.open(&addr(i as u8), k).unwrap(), model);
    }
    assert!(
        c.open(&addr(9), &keys[0]).is_err(),
        "not one of its evaluators"
    );
    assert!(
        c.open(&addr(0), &EvaluatorKey::generate()).is_err(),
        "wrong key"
    );
    for n in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(SealedContribution::from_canonical_bytes(&bytes[..n]).is_err());
    }
    let mut tampered = c.clone();
    let last = tampered.sealed.len() - 1;
    tampered.sealed[last] ^= 1;
    assert!(tampered.open(&addr(0), &keys[0]).is_err());
}

/// The copy attack (review hole 8), at the sealing layer: a Participant takes a peer's
/// sealed contribution and puts its own name on it (a new CID, so the contract's
/// duplicate check does not see it). The name is in the associated data of the sealed
/// model and of every wrapped key: the renamed copy opens for nobody. Kept under the
/// peer's name it opens, and the Evaluator's check of the name against the on-chain
/// submitter (din's `open_contribution`) refuses it.
#[test]
fn a_renamed_copy_of_a_contribution_opens_for_nobody() {
    let task = TaskId(4);
    let key = EvaluatorKey::generate();
    let evaluators = [(addr(1), key.public())];
    let alice = SealedContribution::seal(task, addr(10), b"alice's model", &evaluators).unwrap();
    let mut copy = alice.clone();
    copy.participant = addr(66);
    assert_ne!(copy.to_canonical_bytes(), alice.to_canonical_bytes());
    assert!(copy.open(&addr(1), &key).is_err());
    // Moving Alice's wrapped key onto other sealed bytes fails too.
    let mallory =
        SealedContribution::seal(task, addr(66), b"mallory's model", &evaluators).unwrap();
    let mut spliced = mallory.clone();
    spliced.keys = alice.keys.clone();
    assert!(spliced.open(&addr(1), &key).is_err());
    assert_eq!(*alice.open(&addr(1), &key).unwrap(), b"alice's model");
}
