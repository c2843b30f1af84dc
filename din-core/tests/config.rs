//! Impossible task configurations are typed errors that say what is wrong.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use din_core::{Deadlines, Error, TaskConfig};

fn rejects(change: impl FnOnce(&mut TaskConfig), field: &str, words: &str) {
    let mut c = TaskConfig::default();
    change(&mut c);
    match c.validate() {
        Err(Error::InvalidConfig { field: f, reason }) => {
            assert_eq!(f, field, "{reason}");
            assert!(
                reason.contains(words),
                "{f}: {reason:?} should mention {words:?}"
            );
        }
        other => panic!("{c:?} should fail on {field}, got {other:?}"),
    }
}

#[test]
fn the_default_is_valid() {
    TaskConfig::default().validate().unwrap();
}

#[test]
fn impossible_configurations_are_rejected() {
    rejects(|c| c.rounds = 0, "rounds", "at least one round");
    rejects(|c| c.rounds = u32::MAX, "rounds", "maximum");
    rejects(|c| c.subgroup_size = 2, "subgroup_size", "§3.2.3");
    rejects(|c| c.subgroup_size = u32::MAX, "subgroup_size", "maximum");
    rejects(
        |c| c.evaluators_per_subgroup = 0,
        "evaluators_per_subgroup",
        "outside",
    );
    rejects(
        |c| (c.evaluators_per_subgroup, c.quorum) = (4, 2),
        "quorum",
        "not more than half",
    );
    rejects(
        |c| (c.evaluators_per_subgroup, c.quorum) = (1, 0),
        "quorum",
        "not more than half",
    );
    rejects(
        |c| (c.evaluators_per_subgroup, c.quorum) = (3, 4),
        "quorum",
        "exceeds",
    );
    rejects(
        |c| c.secagg_threshold = 11,
        "secagg_threshold",
        "above the subgroup size",
    );
    rejects(
        |c| c.secagg_neighbours = 10,
        "secagg_neighbours",
        "fewer than the subgroup size",
    );
    rejects(
        |c| c.secagg_neighbours = 1,
        "secagg_neighbours",
        "at least 2",
    );
    rejects(
        |c| (c.secagg_neighbours, c.secagg_threshold) = (6, 7),
        "secagg_threshold",
        "above the 6 neighbours",
    );
    rejects(
        |c| (c.secagg_neighbours, c.secagg_threshold) = (6, 3),
        "secagg_threshold",
        "not more than half",
    );
    // The quickstart's old defaults (subgroups of 10, 9 neighbours, threshold 5): a
    // subgroup of 11 rounds 9 up to 10 neighbours, of which 5 is not a majority (with 31
    // Participants one subgroup failed every round: review hole 7).
    rejects(
        |c| (c.secagg_neighbours, c.secagg_threshold) = (9, 5),
        "secagg_threshold",
        "use at least 6",
    );
    let mut ok = TaskConfig::default();
    (ok.secagg_neighbours, ok.secagg_threshold) = (9, 6);
    ok.validate().unwrap();
    // And every subgroup size such a task can form runs with those parameters.
    for n in 10..=19u32 {
        let p = din_core::secagg::SecAggParams {
            task: din_core::TaskId(1),
            round: din_core::Round(0),
            subgroup: din_core::SubgroupId(0),
            clients: n,
            neighbours: 9,
            threshold: 6,
            vector_len: 4,
            fixed_point: din_core::secagg::FixedPoint {
                max_clients: n,
                ..Default::default()
            },
            graph_seed: din_core::Digest32([1; 32]),
        };
        p.validate()
            .unwrap_or_else(|e| panic!("subgroup of {n}: {e}"));
    }
    rejects(
        |c| c.deadlines.training_s = 0,
        "deadlines.training_s",
        "zero seconds",
    );
    rejects(
        |c| {
            c.rounds = 1_000_000;
            c.deadlines = Deadlines {
                training_s: u64::MAX / 2,
                ..Deadlines::default()
            };
        },
        "deadlines",
        "overflows",
    );
    rejects(|c| c.reward = 0, "reward", "deposit a reward");
}

#[test]
fn error_messages_read_well() {
    let c = TaskConfig {
        quorum: 1,
        ..TaskConfig::default()
    };
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "invalid task configuration: quorum: quorum 1 of 3 evaluators is not more than half: \
         two disagreeing halves could both be accepted"
    );
}
