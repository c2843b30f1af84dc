//! One training round of a real task through the contracts on the embedded EVM:
//! Participants publish their SecAgg+ messages by CID on-chain, Evaluators rebuild each
//! subgroup from the chain alone and agree, a participant drops out after sharing keys,
//! a lying Evaluator is slashed, the Owner combines the accepted aggregates, publishes
//! the global model, and a verifier re-derives everything from the chain and the store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use din::round::evaluator::aggregate;
use din::round::fetch;
use din::round::onchain::{accepted_aggregate, fixed_point, messages, subgroups};
use din::round::owner::combine;
use din::round::participant::ParticipantRound;
use din::round::published::survivors;
use din::round::scoring;
use din::round::verify::verify_round;
use din_chain::alloy::primitives::B256;
use din_chain::alloy::primitives::{Address, Bytes, U256, keccak256};
use din_chain::alloy::signers::local::PrivateKeySigner;
use din_chain::anvil::Anvil;
use din_chain::client::TaskParams;
use din_chain::scripted::{finalize_hints, fund_and_stake};
use din_chain::{DeployConfig, DevChain, Din, EmbeddedChain, RpcChain, deploy};
use din_core::content::cid_of;
use din_core::scoring::{SCORE_ONE, median_scores_fixed, score_batch_commitment};
use din_core::sealed::EvaluatorKey;
use din_core::secagg::SubgroupAggregate;
use din_core::{FsStore, Store};

const P: u64 = 3_600;
const D: u32 = 1_000;

fn account(i: u64) -> Address {
    Address::from_word(keccak256(format!("onchain round {i}")))
}

fn update(i: usize) -> Vec<f32> {
    (0..D)
        .map(|j| ((i as u32 * 13 + j * 5) % 41) as f32 / 41.0 - 0.5)
        .collect()
}

/// A chain with funded accounts: the embedded EVM, or a fresh anvil over JSON-RPC.
struct Backend {
    chain: Box<dyn DevChain>,
    accounts: Vec<Address>,
    _anvil: Option<Anvil>,
}

fn signer(i: u64) -> PrivateKeySigner {
    let mut seed = keccak256(format!("onchain round {i}"));
    // Any non-zero scalar below the curve order works; keccak output almost surely is.
    seed.0[0] &= 0x7f;
    PrivateKeySigner::from_bytes(&seed).unwrap()
}

impl Backend {
    const ACCOUNTS: u64 = 24;

    fn fund(chain: Box<dyn DevChain>, accounts: Vec<Address>, anvil: Option<Anvil>) -> Self {
        for a in &accounts {
            chain
                .set_balance(*a, U256::from(10u64).pow(U256::from(21u64)))
                .unwrap();
        }
        Self {
            chain,
            accounts,
            _anvil: anvil,
        }
    }

    fn embedded() -> Self {
        let chain = EmbeddedChain::new();
        let accounts = (0..Self::ACCOUNTS)
            .map(|i| chain.add_signer(&signer(i)))
            .collect();
        Self::fund(Box::new(chain), accounts, None)
    }

    fn anvil() -> Self {
        let node = Anvil::spawn().expect("anvil (npm ci in din-chain/contracts)");
        let chain = RpcChain::connect(&node.url()).unwrap();
        let accounts = (0..Self::ACCOUNTS)
            .map(|i| chain.add_signer(signer(i)))
            .collect();
        Self::fund(Box::new(chain), accounts, Some(node))
    }
}

/// A task in training with its round-1 seed drawn: `n` Participants in subgroups of
/// `size` (`size - 1` neighbours, threshold 3), 3 Evaluators per subgroup, staked.
struct Started {
    deployment: din_chain::Deployment,
    owner: Address,
    parts: Vec<Address>,
    evals: Vec<Address>,
    task: u64,
    manifest: din_core::ParamManifest,
    /// The sealed test set the task committed to, and its key.
    test_set: (din_core::sealed::DataKey, din_core::Cid),
}

/// The Owner's test set (stand-in bytes).
fn test_set() -> Vec<u8> {
    b"the 2,000 held-out samples".repeat(100)
}

/// Runs each attack (a function taking a `&Backend`) on both chain backends, as two
/// tests: `on_the_embedded_evm::NAME` and `on_anvil::NAME`.
macro_rules! on_both_backends {
    ($($name:ident => $body:ident),* $(,)?) => {
        mod on_the_embedded_evm {
            $( #[test] fn $name() { super::$body(&super::Backend::embedded()); } )*
        }
        mod on_anvil {
            $( #[test] fn $name() { super::$body(&super::Backend::anvil()); } )*
        }
    };
}

on_both_backends!(
    a_replayed_cid_costs_only_the_replayer => a_replayed_cid_costs_only_the_replayer,
    a_forged_weight_is_rejected_by_the_majority => a_forged_weight_is_rejected_by_the_majority,
    a_stale_node_cannot_make_a_survivor_look_dropped => a_stale_node_cannot_make_a_survivor_look_dropped,
    a_restarted_participant_keeps_its_survivor_decision => a_restarted_participant_keeps_its_survivor_decision,
    a_garbage_share_costs_only_its_sender => garbage_share,
    skipping_stage_1_costs_only_the_skipper => skipped_stage_1,
    a_wrong_reveal_costs_only_the_revealer => wrong_reveal,
);

/// Stage 0 of round 1 for every member of `view`: each starts its client and records its
/// key advertisement.
fn advertise<'s, C: din_chain::Chain + ?Sized>(
    din: &Din<'_, C>,
    store: &'s FsStore,
    task: u64,
    view: &din::round::onchain::SubgroupView,
) -> Vec<ParticipantRound<'s, FsStore>> {
    view.members
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let c = ParticipantRound::start(store, view.params.clone(), i as u32).unwrap();
            din.submit_message(m, task, 1, 0, c.advert()).unwrap();
            c
        })
        .collect()
}

/// Stage 1 of round 1, honestly, for every member of `view` (after [`advertise`]).
fn share_keys<C: din_chain::Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
    view: &din::round::onchain::SubgroupView,
    clients: &mut [ParticipantRound<'_, FsStore>],
) {
    let adverts = messages(din, task, 1, view).unwrap().adverts;
    for (c, &m) in clients.iter_mut().zip(&view.members) {
        let cid = c.share_keys(&adverts).unwrap();
        din.submit_message(m, task, 1, 1, &cid).unwrap();
    }
}

fn start(b: &Backend, store: &FsStore, n: usize, size: u16, n_evals: usize) -> Started {
    let chain = b.chain.as_ref();
    let owner = b.accounts[0];
    let parts: Vec<Address> = b.accounts[1..=n].to_vec();
    let evals: Vec<Address> = b.accounts[n + 1..=n + n_evals].to_vec();
    let (deployment, _) = deploy(chain, owner, &DeployConfig::dev(account(999))).unwrap();
    let din = Din::new(chain, deployment);
    fund_and_stake(&din, owner, &evals).unwrap();
    let manifest = din_core::ParamManifest::new(
        din_core::DType::F32,
        vec![din_core::ParamSpec {
            name: "w".into(),
            shape: vec![u64::from(D)],
        }],
    )
    .unwrap();
    let genesis = store
        .put(&din_fl::params::encode_model(
            &manifest,
            &vec![0.0; D as usize],
        ))
        .unwrap();
    din.approve(owner, deployment.manager, U256::from(1_000_000u64))
        .unwrap();
    // The Owner seals its test set first: the task commits to it.
    let key = din_core::sealed::DataKey::generate();
    let sealed = scoring::seal_test_set(store, &key, &test_set()).unwrap();
    let params = TaskParams {
        clipMilli: 8_000,
        scaleBits: 12,
        maxWeight: 1_000,
        testSet: din_chain::client::cid_hash(&sealed),
        maxEvaluators: n_evals as u32,
        token: deployment.token,
        deposit: 1_000_000,
        evaluatorFeeBps: 1_000,
        rounds: 1,
        subgroupSize: size,
        evaluatorsPerSubgroup: 3,
        neighbours: size - 1,
        threshold: 3,
        stagePeriod: P as u32,
        registrationEnd: chain.block().unwrap().timestamp + P,
        gate: Address::ZERO,
    };
    let (task, _) = din.create_task(owner, &params, &genesis).unwrap();
    for &p in &parts {
        din.register(p, task, Bytes::new()).unwrap();
    }
    for &e in &evals {
        din.join_as_evaluator(e, task).unwrap();
    }
    din.start_training(owner, task).unwrap();
    chain.mine(1).unwrap();
    din.draw_seed(owner, task).unwrap();
    Started {
        deployment,
        owner,
        parts,
        evals,
        task,
        manifest,
        test_set: (key, sealed),
    }
}

#[test]
fn a_secure_round_through_the_contracts() {
    let b = Backend::embedded();
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    // The task: 10 participants in 2 subgroups of 5, 3 evaluators each.
    let Started {
        deployment,
        owner,
        parts,
        evals,
        task,
        manifest,
        test_set: committed_test_set,
    } = start(&b, &store, 10, 5, 6);
    let din = Din::new(chain, deployment);
    let views = subgroups(&din, task, 1, D).unwrap();
    assert_eq!(views.len(), 2);
    assert_eq!(views.iter().map(|v| v.members.len()).sum::<usize>(), 10);

    // Participants: stage 0 and 1 from the chain's view of their subgroup.
    let mut clients: BTreeMap<Address, (usize, ParticipantRound<'_, FsStore>)> = BTreeMap::new();
    for v in &views {
        for (i, &m) in v.members.iter().enumerate() {
            let c = ParticipantRound::start(&store, v.params.clone(), i as u32).unwrap();
            din.submit_message(m, task, 1, 0, c.advert()).unwrap();
            clients.insert(m, (parts.iter().position(|p| *p == m).unwrap(), c));
        }
    }
    for v in &views {
        let adverts = messages(&din, task, 1, v).unwrap().adverts;
        for m in &v.members {
            let cid = clients.get_mut(m).unwrap().1.share_keys(&adverts).unwrap();
            din.submit_message(*m, task, 1, 1, &cid).unwrap();
        }
    }
    // Stage 2: everyone but one member of subgroup 0 masks its update.
    let dropped = views[0].members[2];
    let mut survivors_updates = Vec::new();
    for v in &views {
        let shares = messages(&din, task, 1, v).unwrap().shares;
        for m in &v.members {
            if *m == dropped {
                continue;
            }
            let (k, c) = clients.get_mut(m).unwrap();
            let u = update(*k);
            let w = 10 + *k as u64;
            let cid = c.mask(&u, w, &shares).unwrap();
            din.submit_update(*m, task, 1, &cid).unwrap();
            survivors_updates.push((u, w));
        }
    }
    chain.advance_time(3 * P).unwrap();
    for v in &views {
        let alive = survivors(&store, &v.params, &messages(&din, task, 1, v).unwrap()).unwrap();
        for m in &v.members {
            if *m == dropped {
                continue;
            }
            let cid = clients.get_mut(m).unwrap().1.unmask(&alive).unwrap();
            din.submit_message(*m, task, 1, 3, &cid).unwrap();
        }
    }
    chain.advance_time(P).unwrap();

    // Evaluators: each rebuilds its subgroup from the chain; one liar.
    let (_, eseed) = din.seeds(task).unwrap();
    let mut liar = None;
    for (k, &e) in evals.iter().enumerate() {
        let (j, slot) =
            Din::<EmbeddedChain>::evaluator_slot(k as u64, evals.len() as u64, 3, eseed).unwrap();
        let Some(v) = views.get(j as usize) else {
            continue;
        };
        let (_, cid) = aggregate(&store, &v.params, &messages(&din, task, 1, v).unwrap()).unwrap();
        let cid = if j == 1 && slot == 0 {
            liar = Some(e);
            cid_of(b"a convenient aggregate")
        } else {
            cid
        };
        din.submit_aggregate(e, task, 1, j, &cid).unwrap();
    }
    chain.advance_time(P).unwrap();
    for v in &views {
        let (voters, hashes) = finalize_hints(&din, task, 1, v.subgroup, 3).unwrap();
        din.finalize_subgroup(owner, task, v.subgroup, voters, hashes)
            .unwrap();
    }
    let liar = liar.unwrap();
    assert_eq!(
        din.stake_of(liar).unwrap(),
        U256::from(50u64) * U256::from(10u64).pow(U256::from(18u64))
    );

    // The Owner combines the accepted aggregates and publishes the global model.
    let accepted: Vec<SubgroupAggregate> = views
        .iter()
        .map(|v| {
            let cid = accepted_aggregate(&din, task, 1, v.subgroup)
                .unwrap()
                .expect("accepted");
            fetch(&store, &cid).unwrap()
        })
        .collect();
    assert_eq!(accepted[0].sum.dropped, vec![2]);
    let (global, weight) = combine(&accepted, &fixed_point(&din.task(task).unwrap(), 1)).unwrap();
    let total: u64 = survivors_updates.iter().map(|(_, w)| w).sum();
    assert_eq!(weight, total);
    for j in 0..D as usize {
        let want = survivors_updates
            .iter()
            .map(|(u, w)| f64::from(u[j]) * *w as f64)
            .sum::<f64>()
            / total as f64;
        assert!((f64::from(global[j]) - want).abs() < 1e-3);
    }
    let honest = cid_of(&din_fl::params::encode_model(&manifest, &global));
    // This owner lies: it publishes a model nudged away from the aggregate.
    let mut fake = global.clone();
    fake[0] += 0.25;
    let model = store
        .put(&din_fl::params::encode_model(&manifest, &fake))
        .unwrap();
    din.publish_model(owner, task, 1, &model).unwrap();

    // A verifier, from the chain and the store only: every subgroup checks out, the
    // recomputed model is the honest one, and the published one is caught.
    let report = verify_round(&din, &store, task, 1).unwrap();
    assert_eq!(report.subgroups.len(), 2);
    assert!(
        report
            .subgroups
            .iter()
            .all(|s| s.verified && s.accepted.is_some()),
        "{report:?}"
    );
    assert_eq!(report.recomputed, Some(honest));
    assert_eq!(report.published, Some(model));
    assert!(!report.ok(), "the owner's made-up model must not pass");
    let had_it_been_honest = din::round::verify::RoundReport {
        published: Some(honest),
        ..report
    };
    assert!(had_it_been_honest.ok());

    // ---- Scoring on the sealed test set (paper §5.2).
    // Evaluators publish their X25519 keys in the registry.
    let ekeys: Vec<EvaluatorKey> = evals.iter().map(|_| EvaluatorKey::generate()).collect();
    for (e, k) in evals.iter().zip(&ekeys) {
        din.set_encryption_key(*e, k.public()).unwrap();
    }
    // Who scores whom: the final round's assignment (the liar was slashed and may not).
    let mut scorers: BTreeMap<u32, Vec<(usize, Address, u32)>> = BTreeMap::new();
    for (k, &e) in evals.iter().enumerate() {
        let (j, slot) =
            Din::<EmbeddedChain>::evaluator_slot(k as u64, evals.len() as u64, 3, eseed).unwrap();
        if j < 2 {
            scorers.entry(j).or_default().push((k, e, slot));
        }
    }
    // Participants seal their last local model to their subgroup's evaluators.
    for v in &views {
        let assigned: Vec<Address> = scorers[&v.subgroup].iter().map(|(_, e, _)| *e).collect();
        let keys = scoring::evaluator_keys(&din, &assigned).unwrap();
        for m in &v.members {
            let k = parts.iter().position(|p| p == m).unwrap();
            let file = din_fl::params::encode_model(&manifest, &update(k));
            scoring::submit_contribution(&din, &store, task, *m, &file, &keys).unwrap();
        }
    }
    // The owner seals the test set and wraps its key to every assigned evaluator.
    let all_assigned: Vec<Address> = scorers.values().flatten().map(|(_, e, _)| *e).collect();
    let keys = scoring::evaluator_keys(&din, &all_assigned).unwrap();
    // The release opens one stage period after the last model (issue #14).
    chain.advance_time(P).unwrap();
    // Another test set than the committed one is refused (review hole 8).
    let other_key = din_core::sealed::DataKey::generate();
    let other = scoring::seal_test_set(&store, &other_key, b"an easier test set").unwrap();
    assert!(matches!(
        scoring::release_test_set(&din, &store, owner, task, (&other_key, &other), &keys),
        Err(din::Error::Chain(e)) if e.revert_name().as_deref() == Some("TestSetMismatch")
    ));
    let (key, sealed) = &committed_test_set;
    scoring::release_test_set(&din, &store, owner, task, (key, sealed), &keys).unwrap();
    let test_set = test_set();
    assert!(matches!(
        scoring::submit_contribution(&din, &store, task, parts[0], b"late", &keys),
        Err(din::Error::Chain(_))
    ));

    // Evaluators: open the test set and their subgroup's contributions, score, commit.
    let (sealed_test, bundle_cid) = scoring::released_test_set(&din, task).unwrap();
    let contributions = scoring::contributions(&din, task).unwrap();
    assert_eq!(contributions.len(), 10);
    let mut reveals = Vec::new();
    for v in &views {
        for &(k, e, slot) in &scorers[&v.subgroup] {
            if e == liar {
                continue;
            }
            let opened =
                scoring::open_test_set(&store, task, &sealed_test, &bundle_cid, &e, &ekeys[k])
                    .unwrap();
            assert_eq!(*opened, test_set);
            // Another evaluator's key does not open it.
            assert!(
                scoring::open_test_set(
                    &store,
                    task,
                    &sealed_test,
                    &bundle_cid,
                    &e,
                    &EvaluatorKey::generate()
                )
                .is_err()
            );
            let me = din_core::Address(e.0.0);
            let scores: Vec<u32> = v
                .members
                .iter()
                .map(|m| {
                    let file = scoring::open_contribution(
                        &store,
                        (task, m),
                        &contributions[m],
                        &e,
                        &ekeys[k],
                    )
                    .unwrap();
                    // The copy attack (review hole 8): recorded by anyone else, the same
                    // sealed contribution is refused.
                    let thief = v.members.iter().find(|x| *x != m).unwrap();
                    assert!(matches!(
                        scoring::open_contribution(
                            &store,
                            (task, thief),
                            &contributions[m],
                            &e,
                            &ekeys[k]
                        ),
                        Err(din::Error::Inconsistent { .. })
                    ));
                    let (_, w) = din_fl::params::decode_model(&file).unwrap();
                    // A stand-in metric on the model: closeness to the honest global model.
                    let dist = w
                        .iter()
                        .zip(&global)
                        .map(|(a, b)| f64::from((a - b).abs()))
                        .sum::<f64>()
                        / w.len() as f64;
                    ((1.0 - dist.min(1.0)) * f64::from(SCORE_ONE)) as u32
                })
                .collect();
            let salt = keccak256(format!("salt {k}"));
            let c = score_batch_commitment(
                din_core::TaskId(task),
                &me,
                v.subgroup,
                &scores,
                &din_core::Digest32(salt.0),
            );
            din.commit_scores(e, task, v.subgroup, B256::from(c.0))
                .unwrap();
            reveals.push((e, v.subgroup, slot, scores, salt));
        }
    }
    chain.advance_time(P).unwrap();
    for (e, j, slot, scores, salt) in &reveals {
        din.reveal_scores(*e, task, *j, *slot, scores.clone(), *salt)
            .unwrap();
    }
    chain.advance_time(P).unwrap();
    for v in &views {
        let rows: Vec<Vec<u32>> = reveals
            .iter()
            .filter(|r| r.1 == v.subgroup)
            .map(|r| r.3.clone())
            .collect();
        let (medians, _) = median_scores_fixed(&rows).unwrap();
        let members: Vec<u32> = v
            .members
            .iter()
            .map(|m| parts.iter().position(|p| p == m).unwrap() as u32)
            .collect();
        din.finalize_scores(owner, task, v.subgroup, members, medians)
            .unwrap();
    }
    din.settle(owner, task).unwrap();
    let mut paid = U256::ZERO;
    for &a in parts.iter().chain(&evals) {
        paid += din.claimable(task, a).unwrap();
    }
    let refund = U256::from(din.task(task).unwrap().refundable);
    assert_eq!(
        paid + refund,
        U256::from(1_000_000u64),
        "every wei accounted for"
    );
    assert!(
        parts
            .iter()
            .all(|p| !din.claimable(task, *p).unwrap().is_zero()),
        "every contribution scored above zero"
    );
}

/// Review hole 2: a Participant records another member's message CIDs as its own at
/// every stage (taking a second seat, or making every honest `share_keys`/`unmask`
/// fail on a "second message" from the victim). Each replay claims a sender other than
/// the account that recorded it, so everyone sets it aside as the replayer's: the round
/// completes for the honest members, bit-identical across Evaluators, and names the
/// replayer.
fn a_replayed_cid_costs_only_the_replayer(b: &Backend) {
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let s = start(b, &store, 5, 5, 3);
    let din = Din::new(chain, s.deployment);
    let task = s.task;
    let view = subgroups(&din, task, 1, D).unwrap().remove(0);
    let (victim, replayer) = (view.members[0], view.members[4]);
    let mut clients: BTreeMap<Address, ParticipantRound<'_, FsStore>> = BTreeMap::new();
    let mut published = BTreeMap::new();
    for (i, &m) in view.members.iter().enumerate() {
        let c = ParticipantRound::start(&store, view.params.clone(), i as u32).unwrap();
        published.insert(m, *c.advert());
        clients.insert(m, c);
    }
    // Every member records its own CID of a stage; the replayer records the victim's.
    let record = |stage: u8, own: &BTreeMap<Address, din_core::Cid>| {
        for &m in &view.members {
            let cid = own[if m == replayer { &victim } else { &m }];
            din.submit_message(m, task, 1, stage, &cid).unwrap();
        }
    };
    record(0, &published);
    // Stage 1 and 2: honest members act on the bound messages; the replayer again
    // records the victim's CIDs.
    let adverts = messages(&din, task, 1, &view).unwrap().adverts;
    let mut shares = BTreeMap::new();
    for &m in &view.members[..4] {
        shares.insert(
            m,
            clients.get_mut(&m).unwrap().share_keys(&adverts).unwrap(),
        );
    }
    record(1, &shares);
    let share_msgs = messages(&din, task, 1, &view).unwrap().shares;
    let mut honest = Vec::new();
    let mut masked = BTreeMap::new();
    for (i, &m) in view.members[..4].iter().enumerate() {
        let (u, w) = (update(i), 10 + i as u64);
        masked.insert(
            m,
            clients
                .get_mut(&m)
                .unwrap()
                .mask(&u, w, &share_msgs)
                .unwrap(),
        );
        honest.push((u, w));
    }
    record(2, &masked);
    chain.advance_time(3 * P).unwrap();
    let msgs = messages(&din, task, 1, &view).unwrap();
    let alive = survivors(&store, &view.params, &msgs).unwrap();
    assert_eq!(alive, vec![0, 1, 2, 3], "the replayer is no survivor");
    for &m in &view.members[..4] {
        let cid = clients.get_mut(&m).unwrap().unmask(&alive).unwrap();
        din.submit_message(m, task, 1, 3, &cid).unwrap();
    }
    chain.advance_time(P).unwrap();

    // Three Evaluators, messages in different orders: one aggregate, the honest sum.
    let msgs = messages(&din, task, 1, &view).unwrap();
    let mut cids = Vec::new();
    for e in 0..3 {
        let mut m = msgs.clone();
        if e == 1 {
            m.adverts.reverse();
            m.masked.rotate_left(2);
        }
        let (agg, cid) = aggregate(&store, &view.params, &m).unwrap();
        assert_eq!(agg.sum.survivors, vec![0, 1, 2, 3]);
        assert!(
            agg.sum
                .excluded
                .iter()
                .all(|x| x.sender == 4 && x.reason == din_core::secagg::ExclusionReason::Misbound),
            "{:?}",
            agg.sum.excluded
        );
        assert_eq!(
            agg.sum.excluded.len(),
            3,
            "advert, shares and masked input of the replayer"
        );
        let (mean, weight) = agg.sum.mean(&view.params.fixed_point).unwrap();
        assert_eq!(weight, honest.iter().map(|(_, w)| w).sum::<u64>());
        for (j, got) in mean.iter().enumerate() {
            let want = honest
                .iter()
                .map(|(u, w)| f64::from(u[j]) * *w as f64)
                .sum::<f64>()
                / weight as f64;
            assert!((f64::from(*got) - want).abs() < 1e-3);
        }
        cids.push(cid);
    }
    assert!(
        cids.windows(2).all(|w| w[0] == w[1]),
        "honest Evaluators agree"
    );
}

/// Review hole 4 through the contracts: a member adds a million to the weight word of
/// its masked update (masking hides it, and it would own its subgroup's mean and that
/// subgroup's weight in the global model). Every honest Evaluator finds the unmasked sum
/// out of the task's bounds and rejects it on chain; the majority leaves the subgroup
/// out of the round (`STATUS_REJECTED`), a verifier confirms the rejection from the
/// messages, and the round goes on.
fn a_forged_weight_is_rejected_by_the_majority(b: &Backend) {
    use din_chain::client::{REJECTED, STATUS_REJECTED};
    use din_core::secagg::MaskedInput;
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let s = start(b, &store, 5, 5, 3);
    let din = Din::new(chain, s.deployment);
    let task = s.task;
    let view = subgroups(&din, task, 1, D).unwrap().remove(0);
    let forger = view.members[2];
    let mut clients = advertise(&din, &store, task, &view);
    share_keys(&din, task, &view, &mut clients);
    let shares = messages(&din, task, 1, &view).unwrap().shares;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        let mut cid = c.mask(&update(i), 10 + i as u64, &shares).unwrap();
        if m == forger {
            let mut forged: MaskedInput = fetch(&store, &cid).unwrap();
            let last = forged.words.len() - 4;
            let w = u32::from_le_bytes(forged.words[last..].try_into().unwrap());
            forged.words[last..].copy_from_slice(&w.wrapping_add(1_000_000).to_le_bytes());
            cid = din::round::put(&store, &forged).unwrap();
        }
        din.submit_update(m, task, 1, &cid).unwrap();
    }
    chain.advance_time(3 * P).unwrap();
    let msgs = messages(&din, task, 1, &view).unwrap();
    let alive = survivors(&store, &view.params, &msgs).unwrap();
    assert_eq!(alive, vec![0, 1, 2, 3, 4], "masking hides the forgery");
    for (c, &m) in clients.iter_mut().zip(&view.members) {
        let cid = c.unmask(&alive).unwrap();
        din.submit_message(m, task, 1, 3, &cid).unwrap();
    }
    chain.advance_time(P).unwrap();

    // Every Evaluator unmasks the same sum, finds it out of bounds and rejects it.
    let msgs = messages(&din, task, 1, &view).unwrap();
    let (_, eseed) = din.seeds(task).unwrap();
    for (k, &e) in s.evals.iter().enumerate() {
        let (j, _) = Din::<dyn DevChain>::evaluator_slot(k as u64, 3, 3, eseed).unwrap();
        assert_eq!(j, 0);
        let (agg, _) = aggregate(&store, &view.params, &msgs).unwrap();
        let (_, weight) = agg.sum.mean(&view.params.fixed_point).unwrap();
        assert_eq!(
            weight,
            10 + 11 + 12 + 13 + 14 + 1_000_000,
            "the forged weight is in the sum"
        );
        let err = agg.sum.check_bounds(&view.params.fixed_point).unwrap_err();
        assert!(err.to_string().contains("total weight"), "{err}");
        din.reject_aggregate(e, task, 1, j).unwrap();
    }
    chain.advance_time(P).unwrap();
    let (voters, hashes) = finalize_hints(&din, task, 1, 0, 3).unwrap();
    assert!(hashes.iter().all(|h| *h == REJECTED));
    din.finalize_subgroup(s.owner, task, 0, voters, hashes)
        .unwrap();
    assert_eq!(
        din.subgroup_result(task, 1, 0).unwrap().status,
        STATUS_REJECTED
    );
    assert_eq!(accepted_aggregate(&din, task, 1, 0).unwrap(), None);
    // The round goes on without the subgroup: the Owner republishes the genesis model,
    // and a verifier confirms the rejection from the round's messages.
    let genesis = din.model(task, 0).unwrap().unwrap();
    din.publish_model(s.owner, task, 1, &genesis).unwrap();
    let report = verify_round(&din, &store, task, 1).unwrap();
    assert!(
        report.subgroups[0].rejected && report.subgroups[0].verified,
        "{report:?}"
    );
    assert_eq!(report.published, Some(genesis));
}

/// Review hole 5: a member's masked update lands in the last block before the stage
/// closes, and the Participant's node has not indexed its newest blocks. Read at the
/// head, that member looks dropped, and an honest Participant would reveal its mask-key
/// share although it survived (with its self-mask seed revealed by the others, its
/// update would be public). Read at a confirmed block, the Participant waits until the
/// confirmed block is past the stage's close, and then sees every survivor, whatever
/// the order the node serves the logs in.
fn a_stale_node_cannot_make_a_survivor_look_dropped(b: &Backend) {
    use din::round::onchain::confirmed_messages;
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let s = start(b, &store, 5, 5, 3);
    let din = Din::new(chain, s.deployment);
    let task = s.task;
    let t0 = din.round_state(task).unwrap().roundStart;
    let view = subgroups(&din, task, 1, D).unwrap().remove(0);
    let mut clients = advertise(&din, &store, task, &view);
    share_keys(&din, task, &view, &mut clients);
    let shares = messages(&din, task, 1, &view).unwrap().shares;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        if i == 4 {
            // The last member uploads just before the masked-input stage closes.
            let now = chain.block().unwrap().timestamp;
            chain.advance_time(t0 + 3 * P - now - 30).unwrap();
        }
        let cid = c.mask(&update(i), 10 + i as u64, &shares).unwrap();
        din.submit_update(m, task, 1, &cid).unwrap();
    }
    chain.advance_time(60).unwrap(); // the stage is closed
    let closes = t0 + 3 * P;
    let stale = FlakyNode {
        inner: chain,
        lag: 2,
        crash_on_reveal: false,
    };
    let node = Din::new(&stale, s.deployment);
    let alive = |msgs: &din::round::published::RoundMessages| {
        survivors(&store, &view.params, msgs).unwrap()
    };

    // At the head, through the stale node: the last member looks dropped.
    let at_head = confirmed_messages(&node, (task, 1), &view, 0, closes)
        .unwrap()
        .unwrap();
    assert_eq!(
        alive(&at_head),
        vec![0, 1, 2, 3],
        "the attack: member 4 looks dropped"
    );
    // At a block two confirmations deep: not past the close yet, so wait.
    assert!(
        confirmed_messages(&node, (task, 1), &view, 2, closes)
            .unwrap()
            .is_none()
    );
    // Two blocks later the confirmed block is past the close and the node has indexed
    // everything up to it: every survivor, whatever the order of the logs.
    chain.mine(2).unwrap();
    let confirmed = confirmed_messages(&node, (task, 1), &view, 2, closes)
        .unwrap()
        .unwrap();
    assert_eq!(alive(&confirmed), vec![0, 1, 2, 3, 4]);
    let direct = confirmed_messages(&din, (task, 1), &view, 2, closes)
        .unwrap()
        .unwrap();
    assert_eq!(
        confirmed, direct,
        "the same view as a node that is up to date"
    );
}

/// A node that can be slow to index (it reports the true head but serves no logs from
/// its newest `lag` blocks, and the rest in reverse order) and can "crash" the role using
/// it by failing its unmasking transaction.
struct FlakyNode<'a> {
    inner: &'a dyn DevChain,
    lag: u64,
    crash_on_reveal: bool,
}

impl din_chain::Chain for FlakyNode<'_> {
    fn chain_id(&self) -> din_chain::Result<u64> {
        self.inner.chain_id()
    }
    fn block(&self) -> din_chain::Result<din_chain::backend::BlockInfo> {
        self.inner.block()
    }
    fn block_at(&self, number: u64) -> din_chain::Result<din_chain::backend::BlockInfo> {
        self.inner.block_at(number)
    }
    fn call(&self, from: Address, to: Address, data: Bytes) -> din_chain::Result<Bytes> {
        self.inner.call(from, to, data)
    }
    fn send(
        &self,
        tx: &din_chain::backend::TxRequest,
    ) -> din_chain::Result<din_chain::backend::Receipt> {
        use din_chain::alloy::sol_types::SolCall;
        let reveal = din_chain::bindings::DinTaskManager::submitMessageCall::abi_decode(&tx.data)
            .is_ok_and(|c| c.stage == 3);
        if self.crash_on_reveal && reveal {
            return Err(din_chain::Error::Backend("the process died".into()));
        }
        self.inner.send(tx)
    }
    fn logs(
        &self,
        filter: &din_chain::backend::LogFilter,
    ) -> din_chain::Result<Vec<din_chain::backend::LogEntry>> {
        let indexed = self.inner.block()?.number.saturating_sub(self.lag);
        let mut logs: Vec<_> = self
            .inner
            .logs(filter)?
            .into_iter()
            .filter(|l| l.block_number <= indexed)
            .collect();
        logs.reverse();
        Ok(logs)
    }
    fn balance(&self, who: Address) -> din_chain::Result<U256> {
        self.inner.balance(who)
    }
    fn accounts(&self) -> Vec<Address> {
        self.inner.accounts()
    }
}

/// A trainer that returns fixed parameters.
struct Fixed(Vec<f32>, u64);

impl din::roles::learning::LocalTrainer for Fixed {
    fn train(&mut self, _: u16, _: &[f32]) -> din::Result<(Vec<f32>, u64)> {
        Ok((self.0.clone(), self.1))
    }
}

/// Review hole 5, across a restart: a Participant decides the survivor set (every
/// member) and dies before its reveal is recorded; restarted against a node that has not
/// indexed the last uploader's message, it keeps its recorded decision, so it never
/// reveals the mask-key share of a member it once counted as a survivor (read afresh,
/// that node would show the member dropped).
fn a_restarted_participant_keeps_its_survivor_decision(b: &Backend) {
    use din::roles::participant::ParticipantRole;
    use din::roles::{StateDir, Step};
    use din_core::secagg::UnmaskShares;
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path().join("store")).unwrap();
    let s = start(b, &store, 5, 5, 3);
    let task = s.task;
    let din = Din::new(chain, s.deployment);
    let t0 = din.round_state(task).unwrap().roundStart;
    let view = subgroups(&din, task, 1, D).unwrap().remove(0);
    let node = |lag, crash_on_reveal| FlakyNode {
        inner: chain,
        lag,
        crash_on_reveal,
    };
    let (up_to_date, crashing) = (node(0, false), node(0, true));
    // A node that has not indexed its newest two blocks.
    let stale = node(2, false);
    fn role<'a>(
        n: &'a FlakyNode<'a>,
        store: &'a FsStore,
        deployment: din_chain::Deployment,
        (task, i, member): (u64, usize, Address),
        dir: &std::path::Path,
    ) -> ParticipantRole<'a, FlakyNode<'a>, FsStore> {
        let state = StateDir::open(dir.join(format!("participant-{i}"))).unwrap();
        let trainer = Box::new(Fixed(update(i), 10 + i as u64));
        ParticipantRole::new(Din::new(n, deployment), store, member, task, state, trainer).unwrap()
    }
    let make = |i: usize, n| {
        role(
            n,
            &store,
            s.deployment,
            (task, i, view.members[i]),
            dir.path(),
        )
    };
    // Stages 0 to 2 for everyone.
    let mut others: Vec<_> = (1..5).map(|i| make(i, &up_to_date)).collect();
    let mut first = make(0, &crashing);
    for _ in 0..4 {
        while let Step::Acted(_) = first.step().unwrap() {}
        for r in &mut others {
            while let Step::Acted(_) = r.step().unwrap() {}
        }
    }
    let uploads = messages(&din, task, 1, &view).unwrap().masked;
    assert_eq!(uploads.len(), 5, "every member uploaded");
    let now = chain.block().unwrap().timestamp;
    chain.advance_time(t0 + 3 * P - now).unwrap();

    // It decides (every member survived), then dies before its reveal is recorded.
    assert!(first.step().is_err());
    drop(first);
    // Restarted against a node that has not indexed the last upload: read afresh, the
    // last member would look dropped.
    let fresh = din::round::onchain::confirmed_messages(
        &Din::new(&stale, s.deployment),
        (task, 1),
        &view,
        0,
        t0 + 3 * P,
    )
    .unwrap()
    .unwrap();
    let afresh = survivors(&store, &view.params, &fresh).unwrap();
    assert_eq!(
        afresh.len(),
        4,
        "the last uploader looks dropped: {afresh:?}"
    );
    let mut restarted = make(0, &stale);
    while let Step::Acted(_) = restarted.step().unwrap() {}
    let reveal = messages(&din, task, 1, &view)
        .unwrap()
        .reveals
        .into_iter()
        .find(|p| p.sender == 0)
        .expect("the restarted Participant revealed");
    let reveal: UnmaskShares = fetch(&store, &reveal.cid).unwrap();
    assert_eq!(
        reveal.survivors,
        vec![0, 1, 2, 3, 4],
        "its recorded decision"
    );
    assert!(
        reveal.key_shares.is_empty(),
        "no mask-key share of a member it counted as a survivor"
    );
}

/// What the attacking member (client 4 of a subgroup of 5) does, review hole 3.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attack {
    /// Its encrypted share for one neighbour is garbage.
    GarbageShare,
    /// It records no share message, then a masked input anyway.
    SkipsStage1,
    /// It reveals a wrong share.
    WrongReveal,
}

/// Review hole 3 through the contracts: one member misbehaves at one stage; every
/// honest member acts on the messages as recorded on chain, three Evaluators read them
/// in different orders, and the round completes with one aggregate, bit-identical,
/// that holds every honest update and names the attacker where it was set aside.
fn an_attack_costs_only_the_attacker(b: &Backend, attack: Attack) -> SubgroupAggregate {
    use din::round::published::Published;
    use din_core::secagg::{ShareKeys, UnmaskShares};
    let chain = b.chain.as_ref();
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let s = start(b, &store, 5, 5, 3);
    let din = Din::new(chain, s.deployment);
    let task = s.task;
    let view = subgroups(&din, task, 1, D).unwrap().remove(0);
    let mut clients = advertise(&din, &store, task, &view);
    let adverts = messages(&din, task, 1, &view).unwrap().adverts;
    let mut unpublished = None;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        let mut cid = c.share_keys(&adverts).unwrap();
        if i == 4 && attack == Attack::SkipsStage1 {
            unpublished = Some(Published { sender: 4, cid });
            continue;
        }
        if i == 4 && attack == Attack::GarbageShare {
            let mut msg: ShareKeys = fetch(&store, &cid).unwrap();
            msg.shares[0].ciphertext[0] ^= 0x55;
            cid = din::round::put(&store, &msg).unwrap();
        }
        din.submit_message(m, task, 1, 1, &cid).unwrap();
    }
    let shares = messages(&din, task, 1, &view).unwrap().shares;
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        // The attacker that skipped stage 1 masks with its own unrecorded message.
        let mut known = shares.clone();
        known.extend(unpublished.clone().filter(|_| i == 4));
        let cid = c.mask(&update(i), 10 + i as u64, &known).unwrap();
        din.submit_update(m, task, 1, &cid).unwrap();
    }
    chain.advance_time(3 * P).unwrap();
    let msgs = messages(&din, task, 1, &view).unwrap();
    let alive = survivors(&store, &view.params, &msgs).unwrap();
    for (i, (c, &m)) in clients.iter_mut().zip(&view.members).enumerate() {
        let Ok(mut cid) = c.unmask(&alive) else {
            continue; // the attacker outside the survivor set may fail; it is its loss
        };
        if i == 4 && attack == Attack::WrongReveal {
            let mut msg: UnmaskShares = fetch(&store, &cid).unwrap();
            msg.self_mask_shares[0].share[0] ^= 0x55;
            cid = din::round::put(&store, &msg).unwrap();
        }
        din.submit_message(m, task, 1, 3, &cid).unwrap();
    }
    chain.advance_time(P).unwrap();

    let msgs = messages(&din, task, 1, &view).unwrap();
    let mut out: Vec<(SubgroupAggregate, din_core::Cid)> = Vec::new();
    for e in 0..3 {
        let mut m = msgs.clone();
        if e == 1 {
            m.adverts.reverse();
            m.shares.rotate_left(2);
            m.reveals.reverse();
        }
        out.push(aggregate(&store, &view.params, &m).unwrap());
    }
    assert!(
        out.windows(2).all(|w| w[0].1 == w[1].1),
        "honest Evaluators agree"
    );
    let agg = out.remove(0).0;
    assert!(
        agg.sum.survivors.starts_with(&[0, 1, 2, 3]),
        "{:?}",
        agg.sum.survivors
    );
    assert!(
        agg.sum.excluded.iter().all(|x| x.sender == 4),
        "{:?}",
        agg.sum.excluded
    );
    let (mean, weight) = agg.sum.mean(&view.params.fixed_point).unwrap();
    let counted: Vec<usize> = agg.sum.survivors.iter().map(|&i| i as usize).collect();
    assert_eq!(weight, counted.iter().map(|&i| 10 + i as u64).sum::<u64>());
    for (j, got) in mean.iter().enumerate() {
        let want = counted
            .iter()
            .map(|&i| f64::from(update(i)[j]) * (10 + i) as f64)
            .sum::<f64>()
            / weight as f64;
        assert!((f64::from(*got) - want).abs() < 1e-3, "coordinate {j}");
    }
    agg
}

fn garbage_share(b: &Backend) {
    let agg = an_attack_costs_only_the_attacker(b, Attack::GarbageShare);
    assert_eq!(
        agg.sum.survivors,
        vec![0, 1, 2, 3, 4],
        "its update still counts"
    );
}

fn skipped_stage_1(b: &Backend) {
    use din_core::secagg::ExclusionReason;
    let agg = an_attack_costs_only_the_attacker(b, Attack::SkipsStage1);
    assert_eq!(agg.sum.survivors, vec![0, 1, 2, 3]);
    assert!(
        agg.sum
            .excluded
            .iter()
            .any(|x| x.sender == 4 && x.reason == ExclusionReason::OutOfOrder),
        "{:?}",
        agg.sum.excluded
    );
}

fn wrong_reveal(b: &Backend) {
    use din_core::secagg::ExclusionReason;
    let agg = an_attack_costs_only_the_attacker(b, Attack::WrongReveal);
    assert_eq!(agg.sum.survivors, vec![0, 1, 2, 3, 4]);
    assert!(
        agg.sum
            .excluded
            .iter()
            .any(|x| x.sender == 4 && x.reason == ExclusionReason::BadReveal),
        "{:?}",
        agg.sum.excluded
    );
}
