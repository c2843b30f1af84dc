//! The stored subgroup aggregate: identical bytes (and CIDs) from every honest
//! Evaluator, recomputable by anyone, strict to decode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use din_core::content::cid_of;
use din_core::secagg::{
    FixedPoint, Participant, SecAggParams, SubgroupAggregate, verify_aggregate,
};
use din_core::{Digest32, Message, Round, SubgroupId, TaskId};

fn params(n: u32, d: u32) -> SecAggParams {
    SecAggParams {
        task: TaskId(9),
        round: Round(4),
        subgroup: SubgroupId(1),
        clients: n,
        neighbours: 4,
        threshold: 3,
        vector_len: d,
        fixed_point: FixedPoint {
            max_clients: n,
            ..FixedPoint::default()
        },
        graph_seed: Digest32([3; 32]),
    }
}

type Round4 = (
    Vec<din_core::secagg::AdvertiseKeys>,
    Vec<din_core::secagg::ShareKeys>,
    Vec<din_core::secagg::MaskedInput>,
    Vec<din_core::secagg::UnmaskShares>,
);

fn round(p: &SecAggParams, dropped: &[u32]) -> Round4 {
    let mut clients = Vec::new();
    let mut adverts = Vec::new();
    for i in 0..p.clients {
        let (c, a) = Participant::new(p.clone(), i).unwrap();
        clients.push(c);
        adverts.push(a);
    }
    let shares: Vec<_> = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    let mut masked = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        if !dropped.contains(&(i as u32)) {
            let u: Vec<f32> = (0..p.vector_len)
                .map(|j| ((i as u32 * 7 + j) % 13) as f32 / 13.0)
                .collect();
            masked.push(c.mask(&u, 1 + i as u64, &shares).unwrap());
        }
    }
    let survivors: Vec<u32> = (0..p.clients).filter(|i| !dropped.contains(i)).collect();
    let reveals = survivors
        .iter()
        .map(|&i| clients[i as usize].unmask(&survivors).unwrap())
        .collect();
    (adverts, shares, masked, reveals)
}

#[test]
fn honest_evaluators_agree_on_bytes_and_cid_and_anyone_can_verify() {
    let p = params(7, 500);
    let (a, s, m, r) = round(&p, &[2]);
    let one = SubgroupAggregate::compute(&p, &a, &s, &m, &r).unwrap();
    // A second evaluator sees the messages in another order.
    let mut m2 = m.clone();
    m2.reverse();
    let mut r2 = r.clone();
    r2.reverse();
    let two = SubgroupAggregate::compute(&p, &a, &s, &m2, &r2).unwrap();
    let (b1, b2) = (one.to_canonical_bytes(), two.to_canonical_bytes());
    assert_eq!(b1, b2);
    assert_eq!(cid_of(&b1), cid_of(&b2));
    assert_eq!(one.sum.dropped, vec![2]);
    assert_eq!(SubgroupAggregate::from_canonical_bytes(&b1).unwrap(), one);

    let verified = verify_aggregate(&p, &a, &s, &m, &r, &b1).unwrap();
    assert_eq!(verified, one);
    let (mean, weight) = verified.sum.mean(&p.fixed_point).unwrap();
    assert_eq!(weight, (1..=7).filter(|w| *w != 3).sum::<u64>());
    assert_eq!(mean.len(), 500);

    // A lying evaluator's aggregate (one word changed) does not verify.
    let mut lie = one.clone();
    lie.sum.words[8] ^= 1;
    assert!(verify_aggregate(&p, &a, &s, &m, &r, &lie.to_canonical_bytes()).is_err());
    // Nor does another subgroup's.
    let mut other = one.clone();
    other.subgroup = SubgroupId(0);
    assert!(verify_aggregate(&p, &a, &s, &m, &r, &other.to_canonical_bytes()).is_err());
}

#[test]
fn decoding_is_strict() {
    let p = params(5, 10);
    let (a, s, m, r) = round(&p, &[]);
    let bytes = SubgroupAggregate::compute(&p, &a, &s, &m, &r)
        .unwrap()
        .to_canonical_bytes();
    for n in 0..bytes.len() {
        assert!(
            SubgroupAggregate::from_canonical_bytes(&bytes[..n]).is_err(),
            "prefix {n}"
        );
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(SubgroupAggregate::from_canonical_bytes(&extra).is_err());
    let mut agg = SubgroupAggregate::from_canonical_bytes(&bytes).unwrap();
    agg.sum.survivors = vec![3, 1];
    assert!(SubgroupAggregate::from_canonical_bytes(&agg.to_canonical_bytes()).is_err());
    agg.sum.survivors = vec![1, 3];
    agg.sum.dropped = vec![3];
    assert!(SubgroupAggregate::from_canonical_bytes(&agg.to_canonical_bytes()).is_err());
    agg.sum.dropped = vec![];
    agg.sum.words.pop();
    assert!(SubgroupAggregate::from_canonical_bytes(&agg.to_canonical_bytes()).is_err());
}
