//! The DIN contract suite, run twice: on the embedded EVM and on anvil over JSON-RPC.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::{SolCall, SolError, SolValue};
use common::{Env, Must, ONE, Outcome, PERIOD, Script, fake_cid, flat, params, run_task};
use din_chain::backend::TxRequest;
use din_chain::bindings::test_contracts::{CallbackToken, ReentrantReceiver};
use din_chain::bindings::{AllowListGate, DinTaskManager, DinTaskScoring};
use din_chain::client::{TaskParams, cid_bytes};
use din_core::Digest32;
use din_core::assignment::{EVALUATOR_DOMAIN, PARTICIPANT_DOMAIN, derive_seed};

on_both_backends!(
    assignment_matches_din_core_vectors,
    full_task_settles_to_the_wei,
    every_entry_point_rejects_bad_calls_by_name,
    registry_stakes_locks_and_slashes,
    sybil_gate_admits_only_the_allow_list,
    abandoned_task_pays_workers_and_blocks_reentrancy,
    seeds_deadlines_and_timeouts_have_defined_outcomes,
    bounds_and_the_test_set_are_fixed_at_creation_and_a_majority_rejects_a_sum,
    a_liar_beside_an_absent_evaluator_cannot_get_the_honest_one_slashed,
    a_liar_beside_one_honest_evaluator_cannot_get_it_slashed,
    unscored_participants_who_updated_share_the_pool,
    a_majority_of_evaluators_can_dispute_a_bogus_release,
    a_scoring_phase_nobody_finalizes_can_be_abandoned,
    an_aggregation_no_show_loses_that_rounds_fee,
    the_majority_of_one_subgroup_cannot_end_the_task,
);

fn assignment_matches_din_core_vectors(env: &Env) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/assignment.json"
    ))
    .must();
    let v: serde_json::Value = serde_json::from_str(&text).must();
    let din = env.din();
    let mut checked = 0;
    for case in v["cases"].as_array().must() {
        let seed: Digest32 = case["seed"].as_str().must().parse().must();
        let n = case["participants"].as_u64().must();
        let m = case["evaluators"].as_u64().must();
        let ps = B256::from(derive_seed(&seed, PARTICIPANT_DOMAIN).0);
        let es = B256::from(derive_seed(&seed, EVALUATOR_DOMAIN).0);
        for (i, want) in case["participant_positions"]
            .as_array()
            .must()
            .iter()
            .enumerate()
            .take(40)
        {
            assert_eq!(
                din.shuffled_index(i as u64, n, ps).must(),
                want.as_u64().must()
            );
            checked += 1;
        }
        for (i, want) in case["evaluator_positions"]
            .as_array()
            .must()
            .iter()
            .enumerate()
            .take(40)
        {
            assert_eq!(
                din.shuffled_index(i as u64, m, es).must(),
                want.as_u64().must()
            );
            checked += 1;
        }
    }
    assert!(checked > 50);
    env.expect_revert(din.shuffled_index(3, 3, B256::ZERO), "InvalidParameter");
}

fn full_task_settles_to_the_wei(env: &Env) {
    let deposit: u128 = 1_000_000_000_000_000_007; // odd, so rounding leaves dust
    let before_owner = env.din().token_balance(env.owner).must();
    let held_before = env.held();
    // 7 participants in 2 subgroups (sizes 3 and 4), 3 evaluators each, 7 evaluators
    // joined (one never assigned). The participant at position 0 of subgroup 0 gets zero.
    let script = Script {
        participants: 7,
        evaluators: 7,
        subgroup_size: 3,
        per_subgroup: 3,
        rounds: 2,
        deposit,
        score: Box::new(|j, e, i| {
            Some(if j == 0 && i == 0 {
                0
            } else {
                ONE / 2 + (e as u32) * 1000 + (i as u32) * 7
            })
        }),
        liars: vec![],
        no_shows: vec![],
        disputes: vec![],
        fee_bps: 1_000,
    };
    // The slot-0 evaluator of subgroup 1 submits a wrong aggregate in the last round.
    let script = Script {
        liars: vec![1],
        ..script
    };
    let out = run_task(env, script);
    let din = env.din();
    let task = out.task;

    // The liar was slashed (half its stake, to the treasury); nobody else was.
    let slashed: Vec<Address> = din
        .events::<DinTaskManager::EvaluatorPenalized>()
        .must()
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect();
    assert_eq!(slashed.len(), 1, "exactly the liar is slashed");
    assert_eq!(din.stake_of(slashed[0]).must(), Env::din_units(50));
    assert_eq!(din.token_balance(env.treasury).must(), Env::din_units(50));
    assert_eq!(
        din.claimable(task, slashed[0]).must(),
        U256::ZERO,
        "a slashed evaluator earns no fee"
    );
    // Both subgroups were accepted in both rounds despite the liar (2 of 3 agree).
    for round in 1..=2 {
        for j in 0..2 {
            assert_eq!(din.subgroup_result(task, round, j).must().status, 1);
        }
    }

    // Claims: every participant with a positive median and every unslashed evaluator with
    // positive quality gets exactly `claimable`; zero gets NothingToClaim.
    let mut paid = U256::ZERO;
    for (k, &p) in out.participants.iter().enumerate() {
        let owed = din.claimable(task, p).must();
        if out.medians[k] == 0 {
            assert_eq!(owed, U256::ZERO);
            env.expect_revert(din.claim(p, task), "NothingToClaim");
            continue;
        }
        let before = din.token_balance(p).must();
        din.claim(p, task).must();
        assert_eq!(din.token_balance(p).must() - before, owed);
        env.expect_revert(din.claim(p, task), "AlreadyClaimed");
        paid += owed;
    }
    for &e in &out.evaluators {
        let owed = din.claimable(task, e).must();
        if owed.is_zero() {
            env.expect_revert(din.claim(e, task), "NothingToClaim");
            continue;
        }
        let before = din.token_balance(e).must();
        din.claim(e, task).must();
        assert_eq!(din.token_balance(e).must() - before, owed);
        paid += owed;
    }
    // Participants and evaluators are both paid by telescoping: the pools go out whole,
    // nothing is refundable.
    let refundable = U256::from(din.task(task).must().refundable);
    assert_eq!(refundable, U256::ZERO);
    env.expect_revert(din.claim_refund(env.owner, task), "NothingToClaim");
    assert_eq!(
        paid + refundable,
        U256::from(deposit),
        "every wei accounted for"
    );
    assert_eq!(env.held(), held_before, "the manager keeps nothing");
    // The owner spent the deposit, got the refund back, and funded the evaluators.
    let funded = Env::din_units(1_000) * U256::from(out.evaluators.len());
    assert_eq!(
        din.token_balance(env.owner).must(),
        before_owner - U256::from(deposit) + refundable - funded
    );
    // Claiming unlocked the evaluators' stakes (releaseStake is idempotent): they can leave.
    let honest = *out.evaluators.iter().find(|e| !slashed.contains(e)).must();
    din.release_stake(honest, task).must();
    din.request_unstake(honest).must();
}

fn every_entry_point_rejects_bad_calls_by_name(env: &Env) {
    let din = env.din();
    let owner = env.owner;
    let a = &env.accounts;
    let (p0, p1, p2, p3) = (a[0], a[1], a[2], a[3]);
    let evals = [a[10], a[11], a[12]];
    env.stake(&evals);
    let deposit = 1_000_000u128;
    let token = env.deployment.token;
    let end = env.now() + PERIOD;

    // createTask: bad parameters and CIDs, no allowance: nothing moves.
    let held = env.held();
    let good = params(token, deposit, 1, 2, 1, end);
    env.expect_revert(
        din.create_task(owner, &good, &fake_cid("g")),
        "ERC20InsufficientAllowance",
    );
    din.approve(owner, env.deployment.manager, U256::from(deposit))
        .must();
    for (bad, name) in [
        (params(token, 0, 1, 2, 1, end), "InvalidParameter"),
        (params(token, deposit, 0, 2, 1, end), "InvalidParameter"),
        (params(token, deposit, 1, 1, 1, end), "InvalidParameter"),
        (params(token, deposit, 1, 2, 0, end), "InvalidParameter"),
        (
            params(token, deposit, 1, 2, 1, env.now()),
            "InvalidParameter",
        ),
        (
            params(Address::ZERO, deposit, 1, 2, 1, end),
            "InvalidParameter",
        ),
        // Issue #14 review: evaluators cannot leave before the start, so an Owner may not
        // hold their reserved stake with a far registration end or endless stages.
        (
            params(token, deposit, 1, 2, 1, env.now() + 31 * 86_400),
            "InvalidParameter",
        ),
        (
            TaskParams {
                stagePeriod: 8 * 86_400,
                ..good.clone()
            },
            "InvalidParameter",
        ),
    ] {
        env.expect_revert(din.create_task(owner, &bad, &fake_cid("g")), name);
    }
    let bad_cid = TxRequest::call(
        owner,
        env.deployment.manager,
        DinTaskManager::createTaskCall {
            p: good.clone(),
            genesisModel: Bytes::from(vec![1u8, 0x55, 0x12, 0x20]),
        }
        .abi_encode(),
    );
    env.expect_revert(env.chain.send(&bad_cid), "InvalidCid");
    assert_eq!(env.held(), held, "failed creations move no funds");
    let (task, _) = din.create_task(owner, &good, &fake_cid("g")).must();
    assert_eq!(env.held(), held + U256::from(deposit));

    // Registration phase.
    env.expect_revert(din.register(p0, 99, Bytes::new()), "UnknownTask");
    din.register(p0, task, Bytes::new()).must();
    env.expect_revert(din.register(p0, task, Bytes::new()), "AlreadyRegistered");
    env.expect_revert(din.join_as_evaluator(p0, task), "AlreadyRegistered");
    env.expect_revert(din.join_as_evaluator(a[20], task), "StakeTooLow");
    env.expect_revert(din.start_training(p1, task), "NotOwner");
    env.expect_revert(din.start_training(owner, task), "NotEnoughMembers");
    env.expect_revert(din.draw_seed(owner, task), "WrongPhase");
    env.expect_revert(din.submit_update(p0, task, 1, &fake_cid("u")), "WrongPhase");
    env.expect_revert(din.abandon(p0, task), "NotAbandonable");
    env.expect_revert(din.settle(p0, task), "WrongPhase");
    for &p in &[p1, p2, p3] {
        din.register(p, task, Bytes::new()).must();
    }
    for &e in &evals[..2] {
        din.join_as_evaluator(e, task).must();
    }
    env.expect_revert(din.join_as_evaluator(evals[0], task), "AlreadyRegistered");
    din.start_training(owner, task).must(); // 4 participants, 2 subgroups, 2 evaluators
    env.expect_revert(din.register(a[4], task, Bytes::new()), "WrongPhase");
    env.expect_revert(din.join_as_evaluator(evals[2], task), "WrongPhase");
    env.expect_revert(din.cancel(owner, task), "WrongPhase");

    // Round 1.
    env.expect_revert(
        din.submit_update(p0, task, 1, &fake_cid("u")),
        "SeedNotDrawn",
    );
    env.chain.mine(1).must();
    din.draw_seed(p0, task).must();
    env.expect_revert(din.draw_seed(p0, task), "SeedAlreadyDrawn");
    env.expect_revert(din.submit_update(p0, task, 2, &fake_cid("u")), "WrongRound");
    env.expect_revert(
        din.submit_update(a[30], task, 1, &fake_cid("u")),
        "NotParticipant",
    );
    env.expect_revert(
        din.submit_message(p0, task, 1, 4, &fake_cid("m")),
        "InvalidStage",
    );
    env.expect_revert(
        din.submit_message(p0, task, 1, 3, &fake_cid("m")),
        "TooEarly",
    );
    let raw = |data: Vec<u8>| TxRequest::call(p0, env.deployment.manager, data);
    let truncated = DinTaskManager::submitUpdateCall {
        taskId: task,
        round: 1,
        cid: Bytes::from(cid_bytes(&fake_cid("u"))[..35].to_vec()),
    };
    env.expect_revert(env.chain.send(&raw(truncated.abi_encode())), "InvalidCid");
    let mut wrong_hash = cid_bytes(&fake_cid("u")).to_vec();
    wrong_hash[2] = 0x13; // sha2-512 code with a 32-byte digest: not ours
    let wrong = DinTaskManager::submitUpdateCall {
        taskId: task,
        round: 1,
        cid: Bytes::from(wrong_hash),
    };
    env.expect_revert(env.chain.send(&raw(wrong.abi_encode())), "InvalidCid");
    for (i, &p) in [p0, p1, p2, p3].iter().enumerate() {
        din.submit_update(p, task, 1, &fake_cid(&format!("u{i}")))
            .must();
    }
    env.expect_revert(
        din.submit_update(p0, task, 1, &fake_cid("again")),
        "AlreadySubmitted",
    );
    env.expect_revert(
        din.submit_aggregate(evals[0], task, 1, 0, &fake_cid("agg")),
        "TooEarly",
    );
    env.advance(3 * PERIOD);
    env.expect_revert(din.submit_update(p1, task, 1, &fake_cid("late")), "TooLate");
    din.submit_message(p0, task, 1, 3, &fake_cid("unmask"))
        .must();
    env.expect_revert(
        din.submit_message(p0, task, 1, 3, &fake_cid("unmask")),
        "AlreadySubmitted",
    );
    env.advance(PERIOD);
    env.expect_revert(
        din.submit_message(p1, task, 1, 3, &fake_cid("late")),
        "TooLate",
    );

    // Aggregates: each evaluator only for its own subgroup.
    let (_, eseed) = din.seeds(task).must();
    let mut assigned = Vec::new();
    for (k, &e) in evals[..2].iter().enumerate() {
        let (j, _) =
            din_chain::Din::<dyn din_chain::DevChain>::evaluator_slot(k as u64, 2, 1, eseed).must();
        env.expect_revert(
            din.submit_aggregate(e, task, 1, 1 - j, &fake_cid("agg")),
            "NotAssigned",
        );
        env.expect_revert(
            din.submit_aggregate(e, task, 1, 7, &fake_cid("agg")),
            "InvalidSubgroup",
        );
        assigned.push((e, j));
    }
    env.expect_revert(
        din.submit_aggregate(p0, task, 1, 0, &fake_cid("agg")),
        "NotEvaluator",
    );
    let (e0, j0) = assigned[0];
    din.submit_aggregate(e0, task, 1, j0, &fake_cid("agg"))
        .must();
    env.expect_revert(
        din.submit_aggregate(e0, task, 1, j0, &fake_cid("agg")),
        "AlreadySubmitted",
    );
    env.expect_revert(
        din.finalize_subgroup(p0, task, j0, vec![e0], vec![B256::ZERO]),
        "TooEarly",
    );
    env.advance(PERIOD);
    env.expect_revert(
        din.submit_aggregate(assigned[1].0, task, 1, assigned[1].1, &fake_cid("agg")),
        "TooLate",
    );
    env.expect_revert(
        din.finalize_subgroup(p0, task, j0, vec![e0], vec![B256::ZERO]),
        "BadHint",
    );
    env.expect_revert(
        din.finalize_subgroup(p0, task, j0, vec![], vec![]),
        "InvalidParameter",
    );
    env.expect_revert(
        din.publish_model(owner, task, 1, &fake_cid("m1")),
        "SubgroupsPending",
    );
    let h = din_chain::client::cid_hash(&fake_cid("agg"));
    din.finalize_subgroup(p0, task, j0, vec![e0], vec![h])
        .must();
    env.expect_revert(
        din.finalize_subgroup(p0, task, j0, vec![e0], vec![h]),
        "AlreadyFinalized",
    );
    // The other subgroup had no vote: it fails, nobody is slashed.
    din.finalize_subgroup(p0, task, 1 - j0, vec![Address::ZERO], vec![B256::ZERO])
        .must();
    assert_eq!(din.subgroup_result(task, 1, 1 - j0).must().status, 2);
    assert_eq!(din.subgroup_result(task, 1, j0).must().accepted, h);
    env.expect_revert(din.publish_model(p0, task, 1, &fake_cid("m1")), "NotOwner");
    env.expect_revert(
        din.publish_model(owner, task, 2, &fake_cid("m1")),
        "WrongRound",
    );
    env.expect_revert(
        din.submit_contribution(p0, task, &fake_cid("c0")),
        "WrongPhase",
    );
    din.publish_model(owner, task, 1, &fake_cid("m1")).must();
    // Contributions (sealed last models) between the last model and the test set.
    din.submit_contribution(p0, task, &fake_cid("c0")).must();
    env.expect_revert(
        din.submit_contribution(p0, task, &fake_cid("c0")),
        "AlreadySubmitted",
    );
    env.expect_revert(
        din.submit_contribution(a[30], task, &fake_cid("c")),
        "NotParticipant",
    );
    // Review hole 8: a copy of another participant's contribution would take its score.
    env.expect_revert(
        din.submit_contribution(p1, task, &fake_cid("c0")),
        "DuplicateContribution",
    );
    let bad = DinTaskManager::submitContributionCall {
        taskId: task,
        cid: Bytes::from(vec![1u8; 36]),
    };
    env.expect_revert(
        env.chain.send(&TxRequest::call(
            p1,
            env.deployment.manager,
            bad.abi_encode(),
        )),
        "InvalidCid",
    );
    assert_eq!(din.model(task, 1).must(), Some(fake_cid("m1")));
    assert_eq!(din.model(task, 0).must(), Some(fake_cid("g")));

    // Scoring.
    env.expect_revert(
        din.commit_scores(e0, task, j0, B256::repeat_byte(1)),
        "WrongPhase",
    );
    env.expect_revert(
        din.release_test_set(p0, task, &fake_cid("t"), &fake_cid("k")),
        "NotOwner",
    );
    // Review hole 8: the Owner cannot pick its test set after seeing the models.
    env.expect_revert(
        din.release_test_set(owner, task, &fake_cid("another test set"), &fake_cid("k")),
        "TestSetMismatch",
    );
    // Issue #14: the release in the block of the last model would score every
    // contribution 0 and refund the pool; it opens one stage period later.
    env.expect_revert(
        din.release_test_set(owner, task, &fake_cid("t"), &fake_cid("k")),
        "TooEarly",
    );
    env.advance(PERIOD);
    din.release_test_set(owner, task, &fake_cid("t"), &fake_cid("k"))
        .must();
    env.expect_revert(
        din.release_test_set(owner, task, &fake_cid("t"), &fake_cid("k")),
        "WrongPhase",
    );
    env.expect_revert(
        din.commit_scores(e0, task, j0, B256::ZERO),
        "InvalidParameter",
    );
    env.expect_revert(
        din.commit_scores(e0, task, 1 - j0, B256::repeat_byte(1)),
        "NotAssigned",
    );
    let scores = vec![ONE / 2, ONE / 3];
    let salt = B256::repeat_byte(9);
    let c = din_core::scoring::score_batch_commitment(
        din_core::TaskId(task),
        &din_core::Address(e0.0.0),
        j0,
        &scores,
        &Digest32(salt.0),
    );
    // din-core's commitment is the contract's: the reveal below opens it.
    din.commit_scores(e0, task, j0, B256::from(c.0)).must();
    env.expect_revert(
        din.commit_scores(e0, task, j0, B256::from(c.0)),
        "AlreadySubmitted",
    );
    env.expect_revert(
        din.reveal_scores(e0, task, j0, 0, scores.clone(), salt),
        "TooEarly",
    );
    env.advance(PERIOD);
    env.expect_revert(
        din.commit_scores(e0, task, j0, B256::repeat_byte(2)),
        "TooLate",
    );
    env.expect_revert(
        din.reveal_scores(e0, task, j0, 0, vec![ONE / 2, ONE / 4], salt),
        "CommitmentMismatch",
    );
    env.expect_revert(
        din.reveal_scores(e0, task, j0, 0, vec![ONE / 2], salt),
        "InvalidScores",
    );
    env.expect_revert(
        din.reveal_scores(p0, task, j0, 0, scores.clone(), salt),
        "NotAssigned",
    );
    din.reveal_scores(e0, task, j0, 0, scores.clone(), salt)
        .must();
    env.expect_revert(
        din.reveal_scores(e0, task, j0, 0, scores.clone(), salt),
        "AlreadySubmitted",
    );
    env.expect_revert(din.settle(p0, task), "SubgroupsPending");
    env.advance(PERIOD);
    let (pseed, _) = din.seeds(task).must();
    let pos = din_core::assignment::shuffle_positions(4, &Digest32(pseed.0)).must();
    let member_at = |p: u64| pos.iter().position(|&x| x == p).must() as u32;
    let (first, _) = common::range(j0, 4, 2);
    let members = vec![member_at(first as u64), member_at(first as u64 + 1)];
    env.expect_revert(
        din.finalize_scores(p0, task, j0, members.clone(), vec![ONE / 2, ONE / 4]),
        "NotMedian",
    );
    env.expect_revert(
        din.finalize_scores(p0, task, j0, vec![members[1], members[0]], scores.clone()),
        "BadHint",
    );
    din.finalize_scores(p0, task, j0, members.clone(), scores.clone())
        .must();
    env.expect_revert(
        din.finalize_scores(p0, task, j0, members, scores.clone()),
        "AlreadyFinalized",
    );
    let (first1, _) = common::range(1 - j0, 4, 2);
    let members1 = vec![member_at(first1 as u64), member_at(first1 as u64 + 1)];
    env.expect_revert(
        din.finalize_scores(p0, task, 1 - j0, members1.clone(), vec![1, 0]),
        "NotMedian",
    );
    din.finalize_scores(p0, task, 1 - j0, members1, vec![0, 0])
        .must();
    env.expect_revert(din.claim(p0, task), "WrongPhase");
    din.settle(p0, task).must();
    env.expect_revert(din.settle(p0, task), "WrongPhase");
    env.expect_revert(din.claim(a[30], task), "NothingToClaim");
    env.expect_revert(din.claim_refund(p0, task), "NotOwner");
}

fn registry_stakes_locks_and_slashes(env: &Env) {
    let din = env.din();
    let e = env.accounts[5];
    env.expect_revert(din.stake(e, U256::ZERO), "ZeroAmount");
    // Evaluators publish their X25519 key for sealed test sets.
    assert_eq!(din.encryption_key(e).must(), None);
    env.expect_revert(din.set_encryption_key(e, [0; 32]), "InvalidParameter");
    din.set_encryption_key(e, [7; 32]).must();
    assert_eq!(din.encryption_key(e).must(), Some([7; 32]));
    env.expect_revert(din.request_unstake(e), "ZeroAmount");
    env.expect_revert(din.withdraw(e), "NoExitRequested");
    din.transfer(env.owner, e, Env::din_units(500)).must();
    din.approve(e, env.deployment.registry, Env::din_units(500))
        .must();
    env.expect_revert(
        din.stake(e, Env::din_units(501)),
        "ERC20InsufficientAllowance",
    );
    din.stake(e, Env::din_units(40)).must();
    din.stake(e, Env::din_units(60)).must();
    assert_eq!(din.stake_of(e).must(), Env::din_units(100));
    // Only the task manager may lock or slash.
    let lock = din_chain::bindings::EvaluatorRegistry::lockCall {
        evaluator: e,
        taskId: 1,
    };
    env.expect_revert(din.send(e, env.deployment.registry, lock), "NotTaskManager");
    let slash = din_chain::bindings::EvaluatorRegistry::slashCall {
        evaluator: e,
        taskId: 1,
    };
    env.expect_revert(
        din.send(env.owner, env.deployment.registry, slash),
        "NotTaskManager",
    );
    let set = din_chain::bindings::EvaluatorRegistry::setTaskManagerCall { manager: e };
    env.expect_revert(
        din.send(env.owner, env.deployment.registry, set),
        "TaskManagerAlreadySet",
    );
    // A locked stake cannot leave; an exit waits for the delay.
    din.approve(env.owner, env.deployment.manager, U256::from(10u64))
        .must();
    let (task, _) = din
        .create_task(
            env.owner,
            &params(env.deployment.token, 10, 1, 2, 1, env.now() + PERIOD),
            &fake_cid("g"),
        )
        .must();
    din.join_as_evaluator(e, task).must();
    env.expect_revert(din.request_unstake(e), "StakeLocked");
    // Issue #14, attack 3: one minimum stake used to back any number of concurrent
    // tasks; joining now reserves it for one.
    din.approve(env.owner, env.deployment.manager, U256::from(20u64))
        .must();
    let mut few = params(env.deployment.token, 10, 1, 2, 1, env.now() + PERIOD);
    few.maxEvaluators = 1;
    let (other, _) = din.create_task(env.owner, &few, &fake_cid("g")).must();
    env.expect_revert(din.join_as_evaluator(e, other), "StakeTooLow");
    // The Owner caps the evaluators of a task: a Sybil flood finds the seats taken.
    let (a, b) = (env.accounts[7], env.accounts[8]);
    env.stake(&[a, b]);
    din.join_as_evaluator(a, other).must();
    env.expect_revert(din.join_as_evaluator(b, other), "RegistrationClosed");
    // Nor can fake participants make the task unstartable: past what its evaluators can
    // cover (subgroups of 2, one evaluator each, at most one evaluator), registration
    // closes.
    for &p in &env.accounts[30..33] {
        din.register(p, other, Bytes::new()).must();
    }
    env.expect_revert(
        din.register(env.accounts[33], other, Bytes::new()),
        "RegistrationClosed",
    );
    few.maxEvaluators = 2000;
    env.expect_revert(
        din.create_task(env.owner, &few, &fake_cid("g")),
        "InvalidParameter",
    );
    din.cancel(env.owner, task).must();
    din.settle(env.owner, task).must();
    env.expect_revert(din.request_unstake(e), "StakeLocked");
    env.expect_revert(
        din.send(
            env.accounts[6],
            env.deployment.manager,
            DinTaskScoring::releaseStakeCall { taskId: task },
        ),
        "NotEvaluator",
    );
    din.send(
        e,
        env.deployment.manager,
        DinTaskScoring::releaseStakeCall { taskId: task },
    )
    .must();
    assert_eq!(din.claimable(task, e).must(), U256::ZERO);
    din.claim_refund(env.owner, task).must();
    din.request_unstake(e).must();
    env.expect_revert(din.request_unstake(e), "ExitPending");
    env.expect_revert(din.stake(e, Env::din_units(1)), "ExitPending");
    env.expect_revert(din.withdraw(e), "TooEarly");
    env.advance(86_400);
    let before = din.token_balance(e).must();
    din.withdraw(e).must();
    assert_eq!(din.token_balance(e).must() - before, Env::din_units(100));
    assert_eq!(din.stake_of(e).must(), U256::ZERO);
}

fn sybil_gate_admits_only_the_allow_list(env: &Env) {
    let din = env.din();
    let owner = env.owner;
    let r = env
        .chain
        .send(&TxRequest::deploy(owner, AllowListGate::BYTECODE.clone()))
        .must();
    let gate = r.contract_address.must();
    let (ok, sybil) = (env.accounts[0], env.accounts[1]);
    din.send(
        owner,
        gate,
        AllowListGate::setAllowedCall {
            accounts: vec![ok],
            value: true,
        },
    )
    .must();
    env.expect_revert(
        din.send(
            sybil,
            gate,
            AllowListGate::setAllowedCall {
                accounts: vec![sybil],
                value: true,
            },
        ),
        "NotAdmin",
    );
    din.approve(owner, env.deployment.manager, U256::from(100u64))
        .must();
    let mut p = params(env.deployment.token, 100, 1, 2, 1, env.now() + PERIOD);
    p.gate = gate;
    let (task, _) = din.create_task(owner, &p, &fake_cid("g")).must();
    din.register(ok, task, Bytes::new()).must();
    env.expect_revert(din.register(sybil, task, Bytes::new()), "NotAllowed");
}

fn abandoned_task_pays_workers_and_blocks_reentrancy(env: &Env) {
    let din = env.din();
    let owner = env.owner;
    // A reward token with transfer hooks, and a malicious participant contract.
    let supply = U256::from(10u64).pow(U256::from(24u64));
    let mut init = CallbackToken::BYTECODE.to_vec();
    init.extend_from_slice(&supply.abi_encode());
    let token = env
        .chain
        .send(&TxRequest::deploy(owner, init))
        .must()
        .contract_address
        .must();
    let attacker = env.accounts[0];
    let mal = env
        .chain
        .send(&TxRequest::deploy(
            attacker,
            ReentrantReceiver::BYTECODE.clone(),
        ))
        .must()
        .contract_address
        .must();
    let exec = |call: Vec<u8>| {
        din.send(
            attacker,
            mal,
            ReentrantReceiver::execCall {
                to: env.deployment.manager,
                data: Bytes::from(call),
            },
        )
    };

    let deposit: u128 = 1_000_003;
    din.send(
        owner,
        token,
        CallbackToken::approveCall {
            spender: env.deployment.manager,
            value: U256::from(deposit),
        },
    )
    .must();
    let (task, _) = din
        .create_task(
            owner,
            &params(token, deposit, 2, 2, 1, env.now() + PERIOD),
            &fake_cid("g"),
        )
        .must();
    let honest = [env.accounts[1], env.accounts[2], env.accounts[3]];
    let evals = [env.accounts[10], env.accounts[11]];
    env.stake(&evals);
    exec(
        DinTaskManager::registerCall {
            taskId: task,
            proof: Bytes::new(),
        }
        .abi_encode(),
    )
    .must();
    open_round_1(env, task, &honest, &evals);
    exec(
        DinTaskManager::submitUpdateCall {
            taskId: task,
            round: 1,
            cid: cid_bytes(&fake_cid("mal")),
        }
        .abi_encode(),
    )
    .must();
    din.submit_update(honest[0], task, 1, &fake_cid("h0"))
        .must();
    din.submit_update(honest[1], task, 1, &fake_cid("h1"))
        .must();
    // honest[2] never submits. The owner then vanishes: no model is published.
    env.advance(5 * PERIOD);
    env.expect_revert(din.abandon(owner, task), "NotAbandonable");
    env.advance(PERIOD);
    din.abandon(honest[2], task).must();
    env.expect_revert(
        din.publish_model(owner, task, 1, &fake_cid("m")),
        "WrongPhase",
    );
    din.settle(honest[2], task).must();

    // Three participants submitted an update: the participant pool is split three ways.
    let pool = deposit - deposit * 1_000 / 10_000;
    let share = U256::from(pool / 3);
    assert_eq!(din.claimable(task, honest[0]).must(), share);
    assert_eq!(din.claimable(task, mal).must(), share);
    assert_eq!(din.claimable(task, honest[2]).must(), U256::ZERO);
    env.expect_revert(din.claim(honest[2], task), "NothingToClaim");
    // No evaluator voted: the fee pool is refundable.
    assert_eq!(din.claimable(task, evals[0]).must(), U256::ZERO);

    // The attack: on receiving its reward, the contract calls claim again.
    let held = din
        .view(
            token,
            CallbackToken::balanceOfCall {
                account: env.deployment.manager,
            },
        )
        .must();
    din.send(
        attacker,
        mal,
        ReentrantReceiver::armCall {
            to: env.deployment.manager,
            data: Bytes::from(DinTaskScoring::claimCall { taskId: task }.abi_encode()),
        },
    )
    .must();
    exec(DinTaskScoring::claimCall { taskId: task }.abi_encode()).must();
    assert_eq!(
        din.view(mal, ReentrantReceiver::reentryAttemptsCall {})
            .must(),
        U256::from(1u64)
    );
    assert!(
        !din.view(mal, ReentrantReceiver::reentrySucceededCall {})
            .must()
    );
    let err = din.view(mal, ReentrantReceiver::reentryErrorCall {}).must();
    assert_eq!(
        &err[..4],
        &din_chain::bindings::DinTaskManager::ReentrancyGuardReentrantCall::SELECTOR
    );
    assert_eq!(
        din.view(token, CallbackToken::balanceOfCall { account: mal })
            .must(),
        share,
        "paid once"
    );
    assert_eq!(
        din.view(
            token,
            CallbackToken::balanceOfCall {
                account: env.deployment.manager
            }
        )
        .must(),
        held - share
    );
    env.expect_revert(
        exec(DinTaskScoring::claimCall { taskId: task }.abi_encode()),
        "AlreadyClaimed",
    );

    // Everyone else claims; the owner takes the rest: exact to the wei.
    din.claim(honest[0], task).must();
    din.claim(honest[1], task).must();
    let refund = U256::from(din.task(task).must().refundable);
    assert_eq!(refund, U256::from(deposit) - share * U256::from(3u64));
    din.claim_refund(owner, task).must();
    assert_eq!(
        din.view(
            token,
            CallbackToken::balanceOfCall {
                account: env.deployment.manager
            }
        )
        .must(),
        U256::ZERO
    );
}

#[test]
fn revert_errors_decode_to_names() {
    let data = DinTaskManager::WrongRound {
        expected: 2,
        got: 3,
    }
    .abi_encode();
    let e = din_chain::Error::Revert {
        data: Bytes::from(data),
    };
    assert_eq!(e.revert_name().as_deref(), Some("WrongRound"));
    assert!(e.to_string().contains("WrongRound"), "{e}");
    let none = din_chain::Error::Revert { data: Bytes::new() };
    assert_eq!(none.revert_name(), None);
    let _ = flat;
}

/// Runs one random task and checks the settlement invariants: paid + refundable ==
/// deposit to the wei, zero medians get nothing, claims pay exactly `claimable`.
fn check_settlement(
    env: &Env,
    n: usize,
    size: u16,
    per: u8,
    deposit: u128,
    fee_bps: u16,
    seed: u64,
) {
    let g = n / size as usize;
    let evaluators = g * per as usize + (seed % 3) as usize;
    let rng = move |j: u32, e: usize, i: usize| {
        let h = alloy::primitives::keccak256(format!("{seed}/{j}/{e}/{i}"));
        let zero_row = alloy::primitives::keccak256(format!("{seed}/{j}/{i}"))[0] < 80;
        let v = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % (ONE + 1);
        Some(if zero_row { 0 } else { v })
    };
    let script = Script {
        participants: n,
        evaluators,
        subgroup_size: size,
        per_subgroup: per,
        rounds: 1,
        deposit,
        score: Box::new(rng),
        liars: vec![],
        no_shows: vec![],
        disputes: vec![],
        fee_bps,
    };
    let out = run_task(env, script);
    let din = env.din();
    let task = out.task;
    let mut owed = U256::ZERO;
    for (k, &p) in out.participants.iter().enumerate() {
        let c = din.claimable(task, p).must();
        if out.medians[k] == 0 {
            assert_eq!(c, U256::ZERO, "zero score, zero reward");
        }
        owed += c;
    }
    for &e in &out.evaluators {
        owed += din.claimable(task, e).must();
    }
    let refundable = U256::from(din.task(task).must().refundable);
    assert_eq!(
        owed + refundable,
        U256::from(deposit),
        "deposit accounted for to the wei"
    );
    // Pay everyone out: the manager ends with nothing of this task.
    for &a in out.participants.iter().chain(&out.evaluators) {
        if !din.claimable(task, a).must().is_zero() {
            din.claim(a, task).must();
        }
    }
    if !refundable.is_zero() {
        din.claim_refund(env.owner, task).must();
    }
    assert_eq!(env.held(), U256::ZERO);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 16, ..Default::default() })]
    #[test]
    fn settlement_is_exact_on_the_embedded_evm(
        n in 4usize..12, size in 2u16..5, per in 1u8..4,
        deposit in 1u128..1_000_000_000_000_000_000_000_000u128,
        fee_bps in 0u16..=10_000, seed in 0u64..1_000_000,
    ) {
        proptest::prop_assume!(n >= size as usize);
        check_settlement(&common::embedded(), n, size, per, deposit, fee_bps, seed);
    }
}

#[test]
fn settlement_is_exact_on_anvil() {
    for (i, (n, size, per, deposit, fee)) in [
        (5, 2, 1, 999_999_999_999_u128, 333),
        (9, 3, 3, 10u128.pow(24) + 7, 9_999),
        (4, 4, 2, 1, 0),
    ]
    .into_iter()
    .enumerate()
    {
        check_settlement(&common::anvil(), n, size, per, deposit, fee, i as u64 + 17);
    }
}

fn seeds_deadlines_and_timeouts_have_defined_outcomes(env: &Env) {
    let din = env.din();
    let owner = env.owner;
    let a = &env.accounts;
    let set = din_chain::bindings::EvaluatorRegistry::setTaskManagerCall { manager: a[0] };
    env.expect_revert(din.send(a[0], env.deployment.registry, set), "NotDeployer");

    // An owner who never starts: after registration end + one period anyone abandons,
    // nobody worked, the whole deposit is refundable.
    let idle = small_task(env, 500);
    let task = small_task(env, 500);
    env.stake(&[a[10], a[11]]);
    for &p in &a[..4] {
        din.register(p, task, Bytes::new()).must();
    }
    din.join_as_evaluator(a[10], task).must();
    din.join_as_evaluator(a[11], task).must();
    env.advance(PERIOD);
    env.expect_revert(din.register(a[5], idle, Bytes::new()), "RegistrationClosed");
    env.expect_revert(din.join_as_evaluator(a[12], idle), "RegistrationClosed");
    env.expect_revert(din.abandon(a[5], idle), "NotAbandonable");
    env.advance(PERIOD);
    din.abandon(a[5], idle).must();
    din.settle(a[5], idle).must();
    assert_eq!(
        U256::from(din.task(idle).must().refundable),
        U256::from(500u64)
    );

    // Seeds: not before the scheduled block.
    din.start_training(owner, task).must();
    env.expect_revert(din.draw_seed(a[0], task), "SeedBlockNotReached");
    env.expect_revert(
        din.submit_update(a[0], task, 1, &fake_cid("u")),
        "SeedNotDrawn",
    );
    env.chain.mine(1).must();
    din.draw_seed(a[0], task).must();
    assert_ne!(din.seeds(task).must().0, B256::ZERO);

    // A quiet round, then the owner publishes and releases the test set late: abandoned.
    env.advance(5 * PERIOD);
    for j in 0..2 {
        din.finalize_subgroup(a[0], task, j, vec![Address::ZERO], vec![B256::ZERO])
            .must();
    }
    din.publish_model(owner, task, 1, &fake_cid("m")).must();
    env.expect_revert(din.abandon(a[0], task), "NotAbandonable");
    env.advance(2 * PERIOD);
    env.expect_revert(
        din.release_test_set(owner, task, &fake_cid("t"), &fake_cid("k")),
        "TooLate",
    );
    din.abandon(a[0], task).must();
    din.settle(a[0], task).must();
    // No participant updated and no evaluator voted: everything is refundable.
    assert_eq!(
        U256::from(din.task(task).must().refundable),
        U256::from(500u64)
    );
    for &e in &a[10..12] {
        din.release_stake(e, task).must();
    }

    // Scores above 1.0 are refused at reveal.
    let (task2, _) = {
        din.approve(owner, env.deployment.manager, U256::from(100u64))
            .must();
        din.create_task(
            owner,
            &params(env.deployment.token, 100, 1, 2, 1, env.now() + PERIOD),
            &fake_cid("g"),
        )
        .must()
    };
    for &p in &a[..2] {
        din.register(p, task2, Bytes::new()).must();
    }
    din.join_as_evaluator(a[10], task2).must();
    din.start_training(owner, task2).must();
    env.chain.mine(1).must();
    din.draw_seed(owner, task2).must();
    env.advance(5 * PERIOD);
    din.finalize_subgroup(a[0], task2, 0, vec![Address::ZERO], vec![B256::ZERO])
        .must();
    din.publish_model(owner, task2, 1, &fake_cid("m")).must();
    env.advance(PERIOD);
    din.release_test_set(owner, task2, &fake_cid("t"), &fake_cid("k"))
        .must();
    let e = a[10];
    let bad = vec![ONE + 1, 0];
    let salt = B256::repeat_byte(3);
    let c = din_core::scoring::score_batch_commitment(
        din_core::TaskId(task2),
        &din_core::Address(e.0.0),
        0,
        &bad,
        &Digest32(salt.0),
    );
    din.commit_scores(e, task2, 0, B256::from(c.0)).must();
    env.advance(PERIOD);
    env.expect_revert(
        din.reveal_scores(e, task2, 0, 0, bad, salt),
        "InvalidScores",
    );
    // It never revealed a valid vector: finalizing slashes it.
    env.advance(PERIOD);
    let (pseed, _) = din.seeds(task2).must();
    let members = din_chain::scripted::members_by_position(2, pseed).must();
    let before = din.stake_of(e).must();
    din.finalize_scores(a[0], task2, 0, members, vec![0, 0])
        .must();
    assert_eq!(before - din.stake_of(e).must(), Env::din_units(50));

    // Issue #14, attack 4: a seed block whose hash is gone used to be rerolled to a
    // fresh block (a second draw for whoever stalls); now the draw expires and the task
    // can be abandoned.
    let stale = small_task(env, 500);
    env.stake(&[a[12]]);
    din.register(a[20], stale, Bytes::new()).must();
    din.register(a[21], stale, Bytes::new()).must();
    din.join_as_evaluator(a[12], stale).must();
    din.start_training(owner, stale).must();
    env.chain.mine(300).must();
    env.expect_revert(din.draw_seed(a[0], stale), "SeedExpired");
    din.abandon(a[0], stale).must();
}

/// Review hole 4 and 8 on chain: the input bounds and the sealed test set's CID are task
/// parameters checked at creation; a strict majority of an subgroup's Evaluators can
/// reject its sum as out of bounds (the subgroup is left out of the round, `STATUS_REJECTED`)
/// and the one who vouched for it is slashed.
fn bounds_and_the_test_set_are_fixed_at_creation_and_a_majority_rejects_a_sum(env: &Env) {
    use din_chain::client::{REJECTED, STATUS_REJECTED, cid_hash};
    let din = env.din();
    let (owner, a) = (env.owner, &env.accounts);
    assert_eq!(alloy::primitives::keccak256([]), REJECTED);
    din.approve(owner, env.deployment.manager, U256::from(10_000u64))
        .must();
    let end = env.now() + PERIOD;
    let good = params(env.deployment.token, 500, 1, 2, 3, end);
    let bad = [
        TaskParamsEdit::Clip(0),
        TaskParamsEdit::Scale(41),
        TaskParamsEdit::Weight(0),
        // 2 * 3 members * 2^32 weight * 8 * 2^40: beyond 64-bit words.
        TaskParamsEdit::Overflow,
        TaskParamsEdit::NoTestSet,
    ];
    for edit in bad {
        let mut p = good.clone();
        edit.apply(&mut p);
        env.expect_revert(
            din.create_task(owner, &p, &fake_cid("g")),
            "InvalidParameter",
        );
    }
    let (task, _) = din.create_task(owner, &good, &fake_cid("g")).must();
    let t = din.task(task).must();
    assert_eq!(
        (t.bounds.clipMilli, t.bounds.scaleBits, t.bounds.maxWeight),
        (8_000, 12, 1_000)
    );
    assert_eq!(t.testSet, cid_hash(&fake_cid("t")));

    let evals = &a[10..13];
    env.stake(evals);
    open_round_1(env, task, &a[..2], evals);
    env.advance(4 * PERIOD);
    let (_, eseed) = din.seeds(task).must();
    let mut voters = vec![Address::ZERO; 3];
    let mut hashes = vec![B256::ZERO; 3];
    for (k, &e) in evals.iter().enumerate() {
        let (j, slot) =
            din_chain::Din::<dyn din_chain::DevChain>::evaluator_slot(k as u64, 3, 3, eseed).must();
        assert_eq!(j, 0);
        // Two reject the sum, one vouches for it.
        if k < 2 {
            din.reject_aggregate(e, task, 1, 0).must();
            hashes[slot as usize] = REJECTED;
        } else {
            din.submit_aggregate(e, task, 1, 0, &fake_cid("agg")).must();
            hashes[slot as usize] = cid_hash(&fake_cid("agg"));
        }
        voters[slot as usize] = e;
    }
    env.expect_revert(
        din.reject_aggregate(evals[0], task, 1, 0),
        "AlreadySubmitted",
    );
    env.advance(PERIOD);
    din.finalize_subgroup(a[0], task, 0, voters, hashes).must();
    let result = din.subgroup_result(task, 1, 0).must();
    assert_eq!(
        (result.status, result.accepted),
        (STATUS_REJECTED, REJECTED)
    );
    let slashed: Vec<Address> = din
        .events::<DinTaskManager::EvaluatorPenalized>()
        .must()
        .into_iter()
        .filter(|e| e.taskId == task)
        .map(|e| e.evaluator)
        .collect();
    assert_eq!(
        slashed,
        vec![evals[2]],
        "the one who vouched for a rejected sum"
    );
    // The round goes on without the subgroup: the owner publishes (its previous model).
    din.publish_model(owner, task, 1, &fake_cid("g")).must();
}

/// One invalid edit of [`params`]' bounds or test set.
#[derive(Clone, Copy)]
enum TaskParamsEdit {
    Clip(u32),
    Scale(u8),
    Weight(u32),
    Overflow,
    NoTestSet,
}

impl TaskParamsEdit {
    fn apply(self, p: &mut din_chain::client::TaskParams) {
        match self {
            Self::Clip(c) => p.clipMilli = c,
            Self::Scale(s) => p.scaleBits = s,
            Self::Weight(w) => p.maxWeight = w,
            Self::Overflow => {
                p.maxWeight = u32::MAX;
                p.scaleBits = 40;
            }
            Self::NoTestSet => p.testSet = B256::ZERO,
        }
    }
}

/// A scripted task (6 participants in 2 subgroups of 3, one round) where evaluator slot
/// `s` of every subgroup scores `score(s)` (`None`: never commits).
fn scored_task(env: &Env, per: u8, score: fn(usize) -> Option<u32>) -> Outcome {
    run_task(
        env,
        Script {
            participants: 6,
            evaluators: 2 * per as usize,
            subgroup_size: 3,
            per_subgroup: per,
            rounds: 1,
            deposit: 1_000_000,
            score: Box::new(move |_, slot, _| score(slot)),
            liars: vec![],
            no_shows: vec![],
            disputes: vec![],
            fee_bps: 1_000,
        },
    )
}

/// Issue #14, attack 2: three evaluators assigned, one absent, one liar reporting zeros,
/// one honest. The lower median of the two reveals is the liar's 0, so before the quorum
/// rule the honest evaluator "deviated", got quality 0 and was slashed, and the liar took
/// the fee. Now two reveals within tolerance of no median: no quorum of the three
/// assigned, the participants get the neutral prior, nobody is slashed for quality.
fn a_liar_beside_an_absent_evaluator_cannot_get_the_honest_one_slashed(env: &Env) {
    let out = scored_task(env, 3, |slot| match slot {
        0 => Some(0),
        1 => None,
        _ => Some(ONE * 3 / 4),
    });
    assert_eq!(common::slashed(&env.din(), out.task), Vec::<Address>::new());
    assert!(
        out.medians.iter().all(|&m| m == ONE / 2),
        "{:?}",
        out.medians
    );
    let din = env.din();
    let owed: Vec<U256> = out
        .evaluators
        .iter()
        .map(|&e| din.claimable(out.task, e).must())
        .collect();
    let paid: Vec<&U256> = owed.iter().filter(|o| !o.is_zero()).collect();
    assert_eq!(paid.len(), 4, "the two revealers of each subgroup, equally");
    assert!(paid.windows(2).all(|w| w[0] == w[1]), "{owed:?}");
}

/// Issue #14, attack 2 with two evaluators per subgroup: one liar and one honest. The
/// lower median of two is the minimum; without a quorum nobody is slashed.
fn a_liar_beside_one_honest_evaluator_cannot_get_it_slashed(env: &Env) {
    let out = scored_task(env, 2, |slot| Some(if slot == 0 { 0 } else { ONE * 3 / 4 }));
    assert_eq!(common::slashed(&env.din(), out.task), Vec::<Address>::new());
    assert!(
        out.medians.iter().all(|&m| m == ONE / 2),
        "{:?}",
        out.medians
    );
}

/// Issue #14, attack 1: every contribution scores 0 (a useless test set, or evaluators
/// who score nothing). Before, the participant pool was refunded to the owner (900 of a
/// 1000 deposit); now the participants who updated share it equally.
fn unscored_participants_who_updated_share_the_pool(env: &Env) {
    let out = scored_task(env, 3, |_| Some(0));
    let din = env.din();
    let t = din.task(out.task).must();
    assert_eq!(t.refundable, 0, "nothing flows back to the owner");
    let shares: Vec<U256> = out
        .participants
        .iter()
        .map(|&p| din.claimable(out.task, p).must())
        .collect();
    assert!(
        shares.iter().all(|s| *s >= U256::from(150_000u64)),
        "{shares:?}"
    );
    assert_eq!(shares.iter().copied().sum::<U256>(), U256::from(900_000u64));
}

/// A task of two participants (one subgroup), three evaluators, one round where both
/// participants updated and no aggregate was voted, waiting for its test set.
fn task_awaiting_its_test_set(env: &Env) -> (u64, Vec<Address>, Vec<Address>) {
    let din = env.din();
    let (owner, a) = (env.owner, &env.accounts);
    din.approve(owner, env.deployment.manager, U256::from(1_000u64))
        .must();
    let (task, _) = din
        .create_task(
            owner,
            &params(env.deployment.token, 1_000, 1, 2, 3, env.now() + PERIOD),
            &fake_cid("g"),
        )
        .must();
    let (parts, evals) = (a[..2].to_vec(), a[30..33].to_vec());
    env.stake(&evals);
    open_round_1(env, task, &parts, &evals);
    for &p in &parts {
        din.submit_update(p, task, 1, &fake_cid(&format!("u{p}")))
            .must();
    }
    env.advance(5 * PERIOD);
    din.finalize_subgroup(a[0], task, 0, vec![Address::ZERO; 3], vec![B256::ZERO; 3])
        .must();
    din.publish_model(owner, task, 1, &fake_cid("m")).must();
    (task, parts, evals)
}

/// Issue #14, attack 1: the owner releases a test set nobody can use (a key bundle that
/// opens nothing, or a final model the aggregates do not give). A majority of the
/// subgroup's evaluators disputes it: the task is abandoned, the participants who
/// updated share the pool, and the owner gets back only what nobody can claim (here the
/// evaluator pool: nobody voted on an aggregate).
fn a_majority_of_evaluators_can_dispute_a_bogus_release(env: &Env) {
    let din = env.din();
    let (task, parts, evals) = task_awaiting_its_test_set(env);
    env.advance(PERIOD);
    din.release_test_set(env.owner, task, &fake_cid("t"), &fake_cid("bogus keys"))
        .must();
    env.expect_revert(
        din.dispute_release(env.accounts[0], task, 0),
        "NotEvaluator",
    );
    din.dispute_release(evals[0], task, 0).must();
    env.expect_revert(din.dispute_release(evals[0], task, 0), "AlreadySubmitted");
    assert_eq!(
        din.round_state(task).must().phase,
        4,
        "one of three: still scoring"
    );
    din.dispute_release(evals[1], task, 0).must();
    assert_eq!(din.round_state(task).must().phase, 6, "abandoned");
    din.settle(env.accounts[5], task).must();
    for &p in &parts {
        assert_eq!(din.claimable(task, p).must(), U256::from(450u64));
    }
    assert_eq!(din.task(task).must().refundable, 100);
}

/// Issue #14: a task whose scoring nobody finalizes would lock the deposit and the
/// stakes; three stage periods after the release anyone abandons it.
fn a_scoring_phase_nobody_finalizes_can_be_abandoned(env: &Env) {
    let din = env.din();
    let (task, parts, evals) = task_awaiting_its_test_set(env);
    env.advance(PERIOD);
    din.release_test_set(env.owner, task, &fake_cid("t"), &fake_cid("k"))
        .must();
    env.advance(2 * PERIOD);
    env.expect_revert(din.abandon(env.accounts[5], task), "NotAbandonable");
    env.advance(PERIOD);
    din.abandon(env.accounts[5], task).must();
    din.settle(env.accounts[5], task).must();
    for &p in &parts {
        assert_eq!(din.claimable(task, p).must(), U256::from(450u64));
    }
    for &e in &evals {
        din.release_stake(e, task).must();
    }
}

/// Issue #14, attack 7: an evaluator that skips aggregating a round used to earn the
/// same fee as those who did the work; now a round it did not aggregate is a round it
/// is not paid for (two rounds: it gets half of what an equally good peer gets).
fn an_aggregation_no_show_loses_that_rounds_fee(env: &Env) {
    let out = run_task(
        env,
        Script {
            participants: 6,
            evaluators: 6,
            subgroup_size: 3,
            per_subgroup: 3,
            rounds: 2,
            deposit: 1_000_000,
            score: Box::new(|_, _, _| Some(ONE / 2)),
            liars: vec![],
            no_shows: vec![0],
            disputes: vec![],
            fee_bps: 1_000,
        },
    );
    let din = env.din();
    let mut owed: Vec<U256> = out
        .evaluators
        .iter()
        .map(|&e| din.claimable(out.task, e).must())
        .collect();
    owed.sort();
    // Telescoping rounds each share by at most one wei.
    let (low, high) = (owed[0].to::<u64>(), owed[5].to::<u64>());
    assert!(
        owed[1..].iter().all(|o| high - o.to::<u64>() <= 1),
        "{owed:?}"
    );
    assert!((2 * low).abs_diff(high) <= 2, "{owed:?}");
}

/// Review of #14's first fix: the evaluators holding the majority of one scoring
/// subgroup used to abandon the whole task by disputing; now their subgroup is scored
/// neutral and the others are scored on merit.
fn the_majority_of_one_subgroup_cannot_end_the_task(env: &Env) {
    let out = run_task(
        env,
        Script {
            participants: 6,
            evaluators: 6,
            subgroup_size: 3,
            per_subgroup: 3,
            rounds: 1,
            deposit: 1_000_000,
            score: Box::new(|_, _, i| Some(ONE / 4 + i as u32)),
            liars: vec![],
            no_shows: vec![],
            disputes: vec![0],
            fee_bps: 1_000,
        },
    );
    let din = env.din();
    assert_eq!(
        din.round_state(out.task).must().phase,
        5,
        "settled, not abandoned"
    );
    let neutral = out.medians.iter().filter(|&&m| m == ONE / 2).count();
    assert_eq!(
        neutral, 3,
        "the disputed subgroup scored neutral: {:?}",
        out.medians
    );
    assert!(
        out.medians.iter().any(|&m| m != ONE / 2 && m > 0),
        "{:?}",
        out.medians
    );
    assert_eq!(common::slashed(&env.din(), out.task), Vec::<Address>::new());
}

/// A one-round task with subgroups of 2 and one evaluator each, its deposit approved
/// and pulled from the owner; registration open for one stage period.
fn small_task(env: &Env, deposit: u64) -> u64 {
    let din = env.din();
    din.approve(env.owner, env.deployment.manager, U256::from(deposit))
        .must();
    let p = params(
        env.deployment.token,
        u128::from(deposit),
        1,
        2,
        1,
        env.now() + PERIOD,
    );
    din.create_task(env.owner, &p, &fake_cid("g")).must().0
}

/// Registers `parts`, joins `evals` (already staked), starts training and draws round
/// 1's seed.
fn open_round_1(env: &Env, task: u64, parts: &[Address], evals: &[Address]) {
    let din = env.din();
    for &p in parts {
        din.register(p, task, Bytes::new()).must();
    }
    for &e in evals {
        din.join_as_evaluator(e, task).must();
    }
    din.start_training(env.owner, task).must();
    env.chain.mine(1).must();
    din.draw_seed(env.owner, task).must();
}
