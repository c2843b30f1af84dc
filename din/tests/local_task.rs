//! Whole tasks through the roles on the embedded chain (`din::local::run_task`), with
//! faults and the crash drill: the task completes, every round verifies from the chain
//! and the store, liars are slashed, garbage and vanished Participants are paid
//! nothing, and the deposit is accounted for to the wei.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use din::local::{TaskOptions, TaskSummary, run_task};

fn wei(s: &str) -> u128 {
    s.parse().unwrap()
}

fn check_accounting(s: &TaskSummary) {
    assert!(s.accounting_exact);
    assert_eq!(
        wei(&s.deposit_wei),
        wei(&s.paid_participants_wei) + wei(&s.paid_evaluators_wei) + wei(&s.refundable_wei),
    );
    let rewards: u128 = s
        .participant_outcomes
        .iter()
        .map(|p| wei(&p.reward_wei))
        .sum();
    assert_eq!(rewards, wei(&s.paid_participants_wei));
}

#[test]
fn faults_are_contained_and_crashed_roles_resume() {
    let state = tempfile::tempdir().unwrap();
    // Reads MNIST from the repository's `data/` folder (the quickstart test uses the
    // embedded copy).
    let opts = TaskOptions {
        data_dir: Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data")),
        participants: 12,
        subgroup_size: 6,
        // Five per subgroup: two liars in one subgroup still leave an honest majority,
        // which median scoring and majority votes need (paper §6).
        evaluators_per_subgroup: 5,
        rounds: 2,
        local_epochs: 2,
        drop: 1,
        lying_evaluators: 2,
        garbage_updates: 2,
        restart_every: 4,
        state_dir: Some(state.path().to_path_buf()),
        ..TaskOptions::default()
    };
    let mut actions = 0usize;
    let s = run_task(&opts, |_| actions += 1).unwrap();
    // A thief of a Participant's state directory after the task finds no plaintext
    // update and a ratchet past the last round (forward secrecy, review hole 6). The
    // dropped Participant vanished mid-round, as a crashed machine would: its directory
    // keeps what it had then.
    for p in s
        .participant_outcomes
        .iter()
        .filter(|p| p.kind != "dropped")
    {
        let i = p.index;
        let dir = state.path().join(format!("participant-{i}"));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.ends_with(".update")),
            "participant {i} kept {names:?}"
        );
        if let Ok(bytes) = std::fs::read(dir.join("secagg-ratchet.key")) {
            let ratchet = din_core::secagg::RoundRatchet::from_bytes(&bytes).unwrap();
            assert!(
                ratchet.secret_for(2).is_err(),
                "participant {i}: round 2's secrets remain"
            );
        }
    }
    assert!(actions > 100, "progress is reported ({actions} reports)");
    assert_eq!(
        s.verified_rounds,
        vec![1, 2],
        "every round recomputes from the chain"
    );
    assert!(
        s.restarts > 20,
        "the crash drill ran ({} restarts)",
        s.restarts
    );
    check_accounting(&s);
    for p in &s.participant_outcomes {
        let paid = wei(&p.reward_wei);
        match p.kind.as_str() {
            "honest" => assert!(paid > 0 && p.score > 0, "{p:?}"),
            _ => {
                assert_eq!(paid, 0, "{p:?}");
                assert!(s.zero_reward_participants.contains(&p.index));
            }
        }
    }
    for e in &s.evaluator_outcomes {
        if e.kind == "honest" {
            assert!(!e.slashed && wei(&e.reward_wei) > 0, "{e:?}");
        } else {
            assert!(e.slashed && wei(&e.reward_wei) == 0, "{e:?}");
            assert!(s.slashed_evaluators.contains(&e.address));
        }
    }
    assert!(s.final_accuracy > 0.8, "accuracy {}", s.final_accuracy);
    for op in [
        "submit_update",
        "submit_aggregate",
        "settle",
        "claim",
        "commit_scores",
    ] {
        assert!(s.gas.get(op).is_some_and(|g| *g > 21_000), "gas of {op}");
    }
}

#[test]
fn bad_options_are_errors_not_panics() {
    let opts = TaskOptions {
        participants: 5,
        subgroup_size: 10,
        ..TaskOptions::default()
    };
    let err = run_task(&opts, |_| {}).unwrap_err();
    assert!(err.to_string().contains("subgroups"), "{err}");
    let opts = TaskOptions {
        lying_evaluators: 100,
        ..TaskOptions::default()
    };
    assert!(run_task(&opts, |_| {}).is_err());
    let opts = TaskOptions {
        data_dir: Some(PathBuf::from("/nonexistent")),
        ..TaskOptions::default()
    };
    assert!(run_task(&opts, |_| {}).is_err());
}
