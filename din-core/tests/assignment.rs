//! Subgroup assignment: determinism (JSON vectors), agreement between the whole-round
//! computation and the single-membership checks a contract runs, sizes, and uniformity.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{read_json, vector_path};
use din_core::assignment::{self, SHUFFLE_ROUNDS};
use din_core::hash::keccak256;
use din_core::{Address, Digest32, Error, Round, SubgroupId, TaskConfig, TaskId};

fn accounts(n: usize, tag: u8) -> Vec<Address> {
    (0..n)
        .map(|i| {
            let mut a = [tag; 20];
            a[16..].copy_from_slice(&(i as u32).to_be_bytes());
            Address(a)
        })
        .collect()
}

fn seed(i: u64) -> Digest32 {
    Digest32(keccak256(&i.to_be_bytes()))
}

fn config(s: u32, e: u32) -> TaskConfig {
    TaskConfig {
        subgroup_size: s,
        evaluators_per_subgroup: e,
        quorum: e / 2 + 1,
        secagg_neighbours: 2,
        secagg_threshold: 2,
        ..TaskConfig::default()
    }
}

#[test]
fn shuffle_is_a_permutation_and_matches_single_index() {
    for (count, s) in [
        (1u64, 0u64),
        (2, 1),
        (10, 2),
        (255, 3),
        (256, 4),
        (257, 5),
        (1000, 6),
    ] {
        let seed = seed(s);
        let all = assignment::shuffle_positions(count, &seed).unwrap();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..count).collect::<Vec<_>>(), "count {count}");
        for (i, &p) in all.iter().enumerate() {
            assert_eq!(
                assignment::shuffled_index(i as u64, count, &seed).unwrap(),
                p
            );
        }
    }
    assert_eq!(SHUFFLE_ROUNDS, 90);
}

#[test]
fn whole_round_agrees_with_single_membership_checks() {
    for (n, m, s, e) in [
        (25usize, 8usize, 10u32, 3u32),
        (100, 30, 10, 3),
        (37, 14, 3, 1),
        (1000, 250, 10, 2),
    ] {
        let (ps, es) = (accounts(n, 0xaa), accounts(m, 0xee));
        let seed = seed(n as u64);
        let a = assignment::assign(TaskId(1), Round(4), seed, &config(s, e), &ps, &es).unwrap();
        let g = (n / s as usize) as u64;
        assert_eq!(a.subgroups.len() as u64, g);
        for (i, who) in ps.iter().enumerate() {
            let j = assignment::participant_subgroup(i as u64, n as u64, s, &seed).unwrap();
            assert_eq!(a.subgroup_of_participant(who).unwrap().id, j);
        }
        for (k, who) in es.iter().enumerate() {
            let j = assignment::evaluator_subgroup(k as u64, m as u64, g, e, &seed).unwrap();
            assert_eq!(a.subgroup_of_evaluator(who).map(|g| g.id), j);
        }
        let mut seen = 0;
        for group in &a.subgroups {
            let size = group.participants.len() as u32;
            assert!(
                (s..2 * s).contains(&size),
                "subgroup of {size} with s = {s}"
            );
            assert_eq!(group.evaluators.len() as u32, e);
            seen += group.participants.len();
        }
        assert_eq!(seen, n);
    }
}

/// The registration index encoded in a test account (its last four bytes).
fn index_of(a: &Address) -> u64 {
    u64::from(u32::from_be_bytes(a.0[16..].try_into().unwrap()))
}

/// One vector case: each subgroup's participants and evaluators as registration indices.
fn vector_case(
    seed: Digest32,
    n: usize,
    m: usize,
    s: u32,
    e: u32,
) -> (Vec<Vec<u64>>, Vec<Vec<u64>>) {
    let a = assignment::assign(
        TaskId(1),
        Round(0),
        seed,
        &config(s, e),
        &accounts(n, 0xaa),
        &accounts(m, 0xee),
    )
    .unwrap();
    let idx = |v: &[Address]| v.iter().map(index_of).collect::<Vec<_>>();
    (
        a.subgroups.iter().map(|g| idx(&g.participants)).collect(),
        a.subgroups.iter().map(|g| idx(&g.evaluators)).collect(),
    )
}

#[test]
fn assignment_vectors_match() {
    // Shared with the contracts (on-chain membership checks) and the Python tests.
    let doc = read_json(&vector_path("assignment.json"));
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let seed: Digest32 = case["seed"].as_str().unwrap().parse().unwrap();
        let n = case["participants"].as_u64().unwrap() as usize;
        let m = case["evaluators"].as_u64().unwrap() as usize;
        let s = case["subgroup_size"].as_u64().unwrap() as u32;
        let e = case["evaluators_per_subgroup"].as_u64().unwrap() as u32;
        let positions: Vec<u64> = case["participant_positions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(
            assignment::shuffle_positions(
                n as u64,
                &assignment::derive_seed(&seed, assignment::PARTICIPANT_DOMAIN)
            )
            .unwrap(),
            positions
        );
        let (got, got_e) = vector_case(seed, n, m, s, e);
        let want: Vec<Vec<u64>> = serde_json::from_value(case["subgroups"].clone()).unwrap();
        assert_eq!(got, want);
        let want_e: Vec<Vec<u64>> =
            serde_json::from_value(case["subgroup_evaluators"].clone()).unwrap();
        assert_eq!(got_e, want_e);
    }
}

/// Pearson's chi-square statistic of observed counts against a uniform expectation.
fn chi_square(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

#[test]
fn positions_are_uniform() {
    // Over 20,000 seeds, where does each of 10 indices land? 10x10 cells, 81 degrees of
    // freedom for the permutation-matrix test; 99.9th percentile of chi2(81) is 126.3.
    // Seeds are fixed, so the test is deterministic; a biased shuffle fails it.
    let n = 10u64;
    let trials = 20_000u64;
    let mut cells = vec![0u64; (n * n) as usize];
    let mut first = vec![0u64; n as usize];
    for t in 0..trials {
        let p = assignment::shuffle_positions(n, &seed(1_000_000 + t)).unwrap();
        for (i, &pos) in p.iter().enumerate() {
            cells[i * n as usize + pos as usize] += 1;
        }
        first[p[0] as usize] += 1;
    }
    let x2 = chi_square(&cells);
    assert!(x2 < 126.3, "permutation matrix chi2 = {x2}");
    // Index 0 alone: 9 degrees of freedom, 99.9th percentile 27.88.
    let x2 = chi_square(&first);
    assert!(x2 < 27.88, "index 0 chi2 = {x2}");
    // And the statistic is not suspiciously perfect (0.1st percentile of chi2(81) is 46.3).
    assert!(chi_square(&cells) > 46.3);
}

#[test]
fn subgroup_membership_is_uniform() {
    // 23 participants in subgroups of 5: 4 subgroups of sizes 5, 6, 6, 6. Participant 0
    // should land in each in proportion to its size.
    let (n, s) = (23u64, 5u32);
    let mut counts = [0u64; 4];
    let trials = 12_000;
    for t in 0..trials {
        let j = assignment::participant_subgroup(0, n, s, &seed(2_000_000 + t)).unwrap();
        counts[j.0 as usize] += 1;
    }
    let sizes = [5.0, 6.0, 6.0, 6.0];
    let x2: f64 = counts
        .iter()
        .zip(sizes)
        .map(|(&c, size)| {
            let expected = trials as f64 * size / 23.0;
            (c as f64 - expected).powi(2) / expected
        })
        .sum();
    assert!(x2 < 16.27, "chi2(3) = {x2}, counts {counts:?}"); // 99.9th percentile
}

#[test]
fn bad_inputs_are_typed_errors() {
    let c = config(10, 3);
    let seed = seed(0);
    let too_few = assignment::assign(
        TaskId(1),
        Round(0),
        seed,
        &c,
        &accounts(9, 1),
        &accounts(3, 2),
    );
    assert!(matches!(too_few, Err(Error::Assignment(m)) if m.contains("cannot fill one subgroup")));
    let few_evaluators = assignment::assign(
        TaskId(1),
        Round(0),
        seed,
        &c,
        &accounts(20, 1),
        &accounts(5, 2),
    );
    assert!(
        matches!(few_evaluators, Err(Error::Assignment(m)) if m.contains("need 6 evaluators, 5 are staked"))
    );
    let mut dup = accounts(20, 1);
    dup[7] = dup[3];
    let dup = assignment::assign(TaskId(1), Round(0), seed, &c, &dup, &accounts(6, 2));
    assert!(matches!(dup, Err(Error::Assignment(m)) if m.contains("listed twice")));
    let mut bad = c.clone();
    bad.quorum = 1;
    assert!(matches!(
        assignment::assign(
            TaskId(1),
            Round(0),
            seed,
            &bad,
            &accounts(20, 1),
            &accounts(6, 2)
        ),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(assignment::shuffled_index(5, 5, &seed).is_err());
    assert!(assignment::shuffled_index(0, 0, &seed).is_err());
    assert!(assignment::participant_subgroup(20, 20, 10, &seed).is_err());
    assert!(
        assignment::participant_subgroup(0, 20, 10, &seed)
            .unwrap()
            .0
            < 2
    );
    assert!(assignment::evaluator_subgroup(0, 5, 2, 3, &seed).is_err());
}

#[test]
fn different_rounds_give_different_subgroups() {
    let (ps, es) = (accounts(100, 1), accounts(30, 2));
    let c = config(10, 3);
    let a = assignment::assign(TaskId(1), Round(0), seed(1), &c, &ps, &es).unwrap();
    let b = assignment::assign(TaskId(1), Round(1), seed(2), &c, &ps, &es).unwrap();
    assert_ne!(a.subgroups, b.subgroups);
    let again = assignment::assign(TaskId(1), Round(0), seed(1), &c, &ps, &es).unwrap();
    assert_eq!(a, again);
    assert_eq!(a.subgroups[0].id, SubgroupId(0));
}

/// Regenerates `tests/vectors/assignment.json` after a deliberate algorithm change:
/// `cargo test -p din-core --test assignment -- --ignored write_assignment_vectors`.
#[test]
#[ignore = "writes the vector file; run by hand after a deliberate algorithm change"]
fn write_assignment_vectors() {
    let mut cases = Vec::new();
    for (i, (n, m, s, e)) in [
        (3usize, 1usize, 3u32, 1u32),
        (25, 8, 10, 3),
        (100, 12, 10, 1),
        (300, 40, 100, 10),
        (1000, 250, 10, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = seed(42 + i as u64);
        let (groups, evaluators) = vector_case(seed, n, m, s, e);
        cases.push(serde_json::json!({
            "seed": seed.to_string(),
            "participants": n, "evaluators": m, "subgroup_size": s, "evaluators_per_subgroup": e,
            "participant_positions": assignment::shuffle_positions(n as u64, &assignment::derive_seed(&seed, assignment::PARTICIPANT_DOMAIN)).unwrap(),
            "evaluator_positions": assignment::shuffle_positions(m as u64, &assignment::derive_seed(&seed, assignment::EVALUATOR_DOMAIN)).unwrap(),
            "subgroups": groups,
            "subgroup_evaluators": evaluators,
        }));
    }
    let doc = serde_json::json!({
        "description": "din-core subgroup assignment (din-core/src/assignment/mod.rs documents the algorithm). Participants and evaluators are numbered 0..n and 0..m in registration order; positions[i] is the shuffled position of index i (swap-or-not, 90 rounds, keccak256, big-endian) under keccak256(seed || \"din/participants\") resp. \"din/evaluators\"; subgroups list registration indices in position order.",
        "cases": cases,
    });
    std::fs::write(
        vector_path("assignment.json"),
        serde_json::to_string(&doc).unwrap() + "\n",
    )
    .unwrap();
}
