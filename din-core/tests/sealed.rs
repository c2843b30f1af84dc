//! The sealed test set: only the task's assigned Evaluators can read it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use din_core::sealed::{DataKey, EvaluatorKey, KeyBundle, open, seal, unwrap_key, wrap_key};
use din_core::{Address, Error, Message, TaskId};

fn addr(b: u8) -> Address {
    Address([b; 20])
}

#[test]
fn assigned_evaluators_open_the_test_set_and_nobody_else_does() {
    let task = TaskId(7);
    let test_set: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    let key = DataKey::generate();
    let sealed = seal(task, &key, &test_set).unwrap();
    assert_eq!(sealed.len(), test_set.len() + 1 + 12 + 16);
    assert!(
        !sealed.windows(64).any(|w| w == &test_set[..64]),
        "ciphertext hides the data"
    );

    let evaluators: Vec<EvaluatorKey> = (0..3).map(|_| EvaluatorKey::generate()).collect();
    let bundle = KeyBundle {
        task,
        keys: evaluators
            .iter()
            .enumerate()
            .map(|(i, k)| wrap_key(task, &key, addr(i as u8), &k.public()).unwrap())
            .collect(),
    };
    // The bundle travels as canonical bytes.
    let bytes = bundle.to_canonical_bytes();
    let bundle = KeyBundle::from_canonical_bytes(&bytes).unwrap();
    for (i, k) in evaluators.iter().enumerate() {
        let entry = bundle.for_evaluator(&addr(i as u8)).unwrap();
        let dk = unwrap_key(task, entry, k).unwrap();
        assert_eq!(*open(task, &dk, &sealed).unwrap(), test_set);
    }

    // An outsider's key, another evaluator's entry, another task: all fail.
    let outsider = EvaluatorKey::generate();
    let entry0 = bundle.for_evaluator(&addr(0)).unwrap();
    assert!(unwrap_key(task, entry0, &outsider).is_err());
    assert!(unwrap_key(task, entry0, &evaluators[1]).is_err());
    assert!(unwrap_key(TaskId(8), entry0, &evaluators[0]).is_err());
    let mut relabelled = entry0.clone();
    relabelled.evaluator = addr(9);
    assert!(unwrap_key(task, &relabelled, &evaluators[0]).is_err());
    let dk = unwrap_key(task, entry0, &evaluators[0]).unwrap();
    assert!(open(TaskId(8), &dk, &sealed).is_err());
    assert!(open(task, &DataKey::generate(), &sealed).is_err());
}

#[test]
fn tampered_or_truncated_bytes_are_rejected() {
    let task = TaskId(1);
    let key = DataKey::generate();
    let sealed = seal(task, &key, b"labels and pixels").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x40;
        assert!(
            open(task, &key, &bad).is_err(),
            "flipped byte {i} went unnoticed"
        );
    }
    for n in 0..sealed.len() {
        assert!(
            open(task, &key, &sealed[..n]).is_err(),
            "truncation to {n} accepted"
        );
    }
    assert!(matches!(
        open(task, &key, &[2u8; 40]),
        Err(Error::UnsupportedVersion { .. })
    ));
    let bundle = KeyBundle {
        task,
        keys: vec![wrap_key(task, &key, addr(1), &EvaluatorKey::generate().public()).unwrap()],
    };
    let bytes = bundle.to_canonical_bytes();
    for n in 0..bytes.len() {
        assert!(KeyBundle::from_canonical_bytes(&bytes[..n]).is_err());
    }
    assert!(
        wrap_key(task, &key, addr(1), &[0u8; 32]).is_err(),
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
    use din_core::sealed::SealedContribution;
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
