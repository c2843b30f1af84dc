//! One round's data plane end to end: Participants mask through a store, Evaluators
//! agree on the aggregate's CID, the Owner combines subgroups, anyone verifies. On the
//! local store and on a real IPFS node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use din::round::evaluator::{RoundMessages, aggregate};
use din::round::owner::combine;
use din::round::participant::ParticipantRound;
use din::round::published::Published;
use din::round::verify::verify_subgroup;
use din::store::{IpfsStore, JsIpfs};
use din_core::content::cid_of;
use din_core::secagg::{FixedPoint, SecAggParams};
use din_core::{Digest32, FsStore, Round, Store, SubgroupId, TaskId};

const D: u32 = 2_000;

fn params(subgroup: u32, clients: u32) -> SecAggParams {
    SecAggParams {
        task: TaskId(5),
        round: Round(2),
        subgroup: SubgroupId(subgroup),
        clients,
        neighbours: 4,
        threshold: 3,
        vector_len: D,
        fixed_point: FixedPoint {
            max_clients: clients,
            ..FixedPoint::default()
        },
        graph_seed: Digest32([subgroup as u8 + 1; 32]),
    }
}

fn update(subgroup: u32, i: u32) -> Vec<f32> {
    (0..D)
        .map(|j| (((subgroup * 100 + i * 31 + j * 7) % 97) as f32 - 48.0) / 50.0)
        .collect()
}

/// A CID as recorded by client `sender`'s account.
fn by(sender: u32, cid: din_core::Cid) -> Published {
    Published { sender, cid }
}

/// Runs one subgroup's round; returns its messages, the survivors' (update, weight).
fn subgroup_round<S: Store>(
    store: &S,
    p: &SecAggParams,
    dropped: &[u32],
) -> (RoundMessages, Vec<(Vec<f32>, u64)>) {
    let mut clients: Vec<ParticipantRound<'_, S>> = (0..p.clients)
        .map(|i| ParticipantRound::start(store, p.clone(), i).unwrap())
        .collect();
    let mut m = RoundMessages {
        adverts: clients.iter().map(|c| by(c.index(), *c.advert())).collect(),
        ..RoundMessages::default()
    };
    m.shares = clients
        .iter_mut()
        .map(|c| by(c.index(), c.share_keys(&m.adverts).unwrap()))
        .collect();
    let mut kept = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if dropped.contains(&i) {
            continue;
        }
        let u = update(p.subgroup.0, i);
        let w = 10 + u64::from(i);
        m.masked.push(by(i, c.mask(&u, w, &m.shares).unwrap()));
        kept.push((u, w));
    }
    let survivors: Vec<u32> = (0..p.clients).filter(|i| !dropped.contains(i)).collect();
    m.reveals = survivors
        .iter()
        .map(|&i| by(i, clients[i as usize].unmask(&survivors).unwrap()))
        .collect();
    (m, kept)
}

fn full_round<S: Store>(store: &S) {
    let groups = [(params(0, 6), vec![4u32]), (params(1, 5), vec![])];
    let mut accepted = Vec::new();
    let mut everyone = Vec::new();
    for (p, dropped) in &groups {
        let (messages, kept) = subgroup_round(store, p, dropped);
        everyone.extend(kept);
        // Three evaluators, messages in different orders: one CID.
        let mut cids = Vec::new();
        for e in 0..3 {
            let mut m = messages.clone();
            if e == 1 {
                m.masked.reverse();
                m.reveals.rotate_left(1);
            }
            let (agg, cid) = aggregate(store, p, &m).unwrap();
            assert_eq!(cid, cid_of(&din_core::Message::to_canonical_bytes(&agg)));
            cids.push(cid);
        }
        assert!(
            cids.windows(2).all(|w| w[0] == w[1]),
            "honest evaluators agree"
        );
        // Anyone can verify the submitted CID; a made-up one is refused.
        let agg = verify_subgroup(store, p, &messages, &cids[0]).unwrap();
        assert!(verify_subgroup(store, p, &messages, &cid_of(b"a lie")).is_err());
        accepted.push(agg);
    }
    let (global, weight) = combine(&accepted, &FixedPoint::default()).unwrap();
    let total: u64 = everyone.iter().map(|(_, w)| w).sum();
    assert_eq!(weight, total);
    for j in 0..D as usize {
        let want: f64 = everyone
            .iter()
            .map(|(u, w)| f64::from(u[j]) * *w as f64)
            .sum::<f64>()
            / total as f64;
        assert!(
            (f64::from(global[j]) - want).abs() < 1e-3,
            "value {j}: {} vs {want}",
            global[j]
        );
    }
    // Deterministic: combining again gives the same bits.
    assert_eq!(
        combine(&accepted, &FixedPoint::default()).unwrap().0,
        global
    );
}

#[test]
fn a_round_on_the_local_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    full_round(&store);
}

#[test]
fn a_round_in_memory() {
    full_round(&din_core::MemStore::new());
}

#[test]
fn a_round_on_an_ipfs_node() {
    let node = JsIpfs::spawn().expect("js-ipfs (npm ci in tests/js-ipfs)");
    let store = IpfsStore::new(node.api());
    full_round(&store);
}

#[test]
fn combining_nothing_or_mismatched_aggregates_is_an_error() {
    assert!(combine(&[], &FixedPoint::default()).is_err());
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::open(dir.path()).unwrap();
    let p = params(0, 5);
    let (m, _) = subgroup_round(&store, &p, &[]);
    let (a, _) = aggregate(&store, &p, &m).unwrap();
    let mut q = params(1, 5);
    q.vector_len = 10;
    let (m2, _) = {
        let mut clients: Vec<ParticipantRound<'_, FsStore>> = (0..5)
            .map(|i| ParticipantRound::start(&store, q.clone(), i).unwrap())
            .collect();
        let mut m2 = RoundMessages {
            adverts: clients.iter().map(|c| by(c.index(), *c.advert())).collect(),
            ..Default::default()
        };
        m2.shares = clients
            .iter_mut()
            .map(|c| by(c.index(), c.share_keys(&m2.adverts).unwrap()))
            .collect();
        m2.masked = clients
            .iter_mut()
            .map(|c| by(c.index(), c.mask(&[0.5; 10], 1, &m2.shares).unwrap()))
            .collect();
        m2.reveals = clients
            .iter_mut()
            .map(|c| by(c.index(), c.unmask(&[0, 1, 2, 3, 4]).unwrap()))
            .collect();
        (m2, ())
    };
    let (b, _) = aggregate(&store, &q, &m2).unwrap();
    assert!(matches!(
        combine(&[a, b], &FixedPoint::default()),
        Err(din::Error::Inconsistent { .. })
    ));
}
