//! Secure aggregation: exact sums under dropouts, the quantization bound, uniform masked
//! vectors, determinism across Evaluators, a typed error for every impossible round, and
//! one bad actor costing only itself (review hole 3): each misbehaviour below is
//! performed on the published messages before the honest clients read them, and the
//! round still completes for the honest ones, the culprit named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use din_core::secagg::messages::RevealedShare;
use din_core::secagg::{
    self, AdvertiseKeys, Exclusion, ExclusionReason, FixedPoint, MaskedInput, Participant,
    SecAggParams, ShareKeys, Stage, SubgroupSum, UnmaskShares, Width, prg,
};
use din_core::{Digest32, Error, Message, Round, SubgroupId, TaskId};
use proptest::prelude::*;

fn params(n: u32, k: u32, t: u32, d: u32) -> SecAggParams {
    SecAggParams {
        task: TaskId(3),
        round: Round(1),
        subgroup: SubgroupId(2),
        clients: n,
        neighbours: k,
        threshold: t,
        vector_len: d,
        fixed_point: FixedPoint {
            max_clients: n,
            ..FixedPoint::default()
        },
        graph_seed: Digest32([n as u8; 32]),
    }
}

fn rounding_seed(i: u32) -> [u8; 32] {
    let mut s = [0xa5u8; 32];
    s[..4].copy_from_slice(&i.to_be_bytes());
    s
}

fn update(i: u32, d: u32) -> Vec<f32> {
    (0..d)
        .map(|j| (((i * 31 + j * 7) % 97) as f32 - 48.0) / 10.0)
        .collect()
}

/// A whole round with every message kept, so tests can tamper with any of them.
struct Round_ {
    params: SecAggParams,
    clients: Vec<Participant>,
    adverts: Vec<AdvertiseKeys>,
    shares: Vec<ShareKeys>,
    masked: Vec<MaskedInput>,
    reveals: Vec<UnmaskShares>,
}

/// Stage 0 for every client of `p`.
fn advertise(p: &SecAggParams) -> (Vec<Participant>, Vec<AdvertiseKeys>) {
    (0..p.clients)
        .map(|i| Participant::new(p.clone(), i).unwrap())
        .unzip()
}

/// Stages 0 and 1 for every client of `p`.
fn advertise_and_share(p: &SecAggParams) -> (Vec<Participant>, Vec<AdvertiseKeys>, Vec<ShareKeys>) {
    let (mut clients, adverts) = advertise(p);
    let shares = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    (clients, adverts, shares)
}

fn run(p: &SecAggParams, drop_before: &[u32], drop_after: &[u32]) -> Round_ {
    run_tampered(p, drop_before, drop_after, Tamper::default())
}

/// What an adversary does to the published messages of each stage, before anyone reads
/// them (as a malicious client recording its own messages on chain would).
#[derive(Default)]
struct Tamper {
    adverts: Edit<AdvertiseKeys>,
    shares: Edit<ShareKeys>,
    masked: Edit<MaskedInput>,
    reveals: Edit<UnmaskShares>,
}

/// An optional edit of one stage's published messages.
type Edit<M> = Option<Box<dyn Fn(&mut Vec<M>)>>;

/// Client `i`'s masked input loses its last byte.
fn truncated_input(i: usize) -> Edit<MaskedInput> {
    Some(Box::new(move |m| {
        m[i].words.pop();
    }))
}

/// Client `i` adds `value` to every coordinate word and `weight` to the weight word of
/// its masked input (modulo 2^32): words no honest encoding produces (review hole 4).
fn forged_words(i: usize, value: i64, weight: u64) -> Edit<MaskedInput> {
    Some(Box::new(move |m| {
        let n = m[i].words.len() / 4;
        for (j, w) in m[i].words.chunks_exact_mut(4).enumerate() {
            let old = u32::from_le_bytes(w.try_into().unwrap());
            let add = if j + 1 == n {
                weight as u32
            } else {
                value as u32
            };
            w.copy_from_slice(&old.wrapping_add(add).to_le_bytes());
        }
    }))
}

/// A round where the published messages of each stage go through `tamper` before the
/// next stage reads them, and honest clients reveal for the survivor set of the public
/// rule (`secagg::survivors`). A client whose own message was set aside drops out.
fn run_tampered(
    p: &SecAggParams,
    drop_before: &[u32],
    drop_after: &[u32],
    tamper: Tamper,
) -> Round_ {
    let (mut clients, mut adverts) = advertise(p);
    if let Some(f) = &tamper.adverts {
        f(&mut adverts);
    }
    let mut shares: Vec<ShareKeys> = clients
        .iter_mut()
        .filter_map(|c| c.share_keys(&adverts).ok())
        .collect();
    if let Some(f) = &tamper.shares {
        f(&mut shares);
    }
    let mut masked = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if drop_before.contains(&i) {
            continue;
        }
        if let Ok(m) = c.mask_with_rounding_seed(
            &update(i, p.vector_len),
            10 + u64::from(i),
            &shares,
            &rounding_seed(i),
        ) {
            masked.push(m);
        }
    }
    if let Some(f) = &tamper.masked {
        f(&mut masked);
    }
    let survivors = secagg::survivors(p, &adverts, &shares, &masked).unwrap();
    let mut reveals = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if survivors.contains(&i) && !drop_after.contains(&i) {
            reveals.push(c.unmask(&survivors).unwrap());
        }
    }
    if let Some(f) = &tamper.reveals {
        f(&mut reveals);
    }
    Round_ {
        params: p.clone(),
        clients,
        adverts,
        shares,
        masked,
        reveals,
    }
}

/// The round completed for the honest clients `who`: their exact sum, nobody else's.
fn completes_for(r: &Round_, who: &[u32]) -> SubgroupSum {
    let sum = r.unmask().unwrap();
    assert_eq!(sum.survivors, who, "survivors");
    assert_eq!(
        sum.words,
        plaintext_sum(&r.params, who),
        "the honest clients' exact sum"
    );
    sum
}

fn excluded(sender: u32, stage: secagg::Stage, reason: ExclusionReason) -> Exclusion {
    Exclusion {
        sender,
        stage,
        reason,
    }
}

impl Round_ {
    fn unmask(&self) -> din_core::Result<SubgroupSum> {
        secagg::unmask(
            &self.params,
            &self.adverts,
            &self.shares,
            &self.masked,
            &self.reveals,
        )
    }
}

/// The plaintext fixed-point sum of the given clients, word by word.
fn plaintext_sum(p: &SecAggParams, who: &[u32]) -> Vec<u8> {
    let mut acc = vec![0u64; p.vector_len as usize + 1];
    for &i in who {
        let words: Vec<u64> = match p.fixed_point.width().unwrap() {
            Width::W32 => p
                .fixed_point
                .encode::<u32>(
                    &update(i, p.vector_len),
                    10 + u64::from(i),
                    &rounding_seed(i),
                )
                .unwrap()
                .into_iter()
                .map(u64::from)
                .collect(),
            Width::W64 => p
                .fixed_point
                .encode::<u64>(
                    &update(i, p.vector_len),
                    10 + u64::from(i),
                    &rounding_seed(i),
                )
                .unwrap(),
        };
        for (a, w) in acc.iter_mut().zip(words) {
            *a = a.wrapping_add(w);
        }
    }
    match p.fixed_point.width().unwrap() {
        Width::W32 => acc.iter().flat_map(|&a| (a as u32).to_le_bytes()).collect(),
        Width::W64 => acc.iter().flat_map(|&a| a.to_le_bytes()).collect(),
    }
}

fn weighted_mean(p: &SecAggParams, who: &[u32]) -> Vec<f64> {
    let total: f64 = who.iter().map(|&i| 10.0 + f64::from(i)).sum();
    (0..p.vector_len as usize)
        .map(|j| {
            who.iter()
                .map(|&i| f64::from(update(i, p.vector_len)[j]) * (10.0 + f64::from(i)))
                .sum::<f64>()
                / total
        })
        .collect()
}

/// Which of n clients need how many revealers: returns true when every survivor and
/// every dropped client with a surviving neighbour keeps >= t revealing neighbours.
fn recoverable(p: &SecAggParams, drop_before: &[u32], drop_after: &[u32]) -> bool {
    let graph = p.graph().unwrap();
    let survivors: Vec<u32> = (0..p.clients)
        .filter(|i| !drop_before.contains(i))
        .collect();
    if (survivors.len() as u32) < p.threshold {
        return false;
    }
    let revealers: Vec<u32> = survivors
        .iter()
        .copied()
        .filter(|i| !drop_after.contains(i))
        .collect();
    (0..p.clients).all(|j| {
        let ns = &graph[j as usize];
        let needed = !drop_before.contains(&j) || ns.iter().any(|i| survivors.contains(i));
        !needed || ns.iter().filter(|i| revealers.contains(i)).count() as u32 >= p.threshold
    })
}

#[test]
fn no_dropouts_exact_sum_and_mean() {
    let p = params(7, 4, 3, 513);
    let r = run(&p, &[], &[]);
    let sum = r.unmask().unwrap();
    let all: Vec<u32> = (0..7).collect();
    assert_eq!(sum.words, plaintext_sum(&p, &all));
    assert_eq!(sum.survivors, all);
    let (mean, total) = sum.mean(&p.fixed_point).unwrap();
    assert_eq!(total, (10..17).sum::<u64>());
    for (m, e) in mean.iter().zip(weighted_mean(&p, &all)) {
        assert!(
            (f64::from(*m) - e).abs() <= p.fixed_point.quantization_bound() + 1e-6,
            "{m} vs {e}"
        );
    }
}

#[test]
fn dropouts_before_and_after_masking() {
    let p = params(10, 6, 4, 300);
    // Client 3 vanishes before masking, client 8 after masking (sends no shares).
    let r = run(&p, &[3], &[8]);
    let sum = r.unmask().unwrap();
    let survivors: Vec<u32> = (0..10).filter(|&i| i != 3).collect();
    assert_eq!(sum.survivors, survivors);
    assert_eq!(sum.dropped, vec![3]);
    assert_eq!(sum.words, plaintext_sum(&p, &survivors));
}

#[test]
fn every_evaluator_gets_identical_bytes_whatever_the_message_order() {
    let p = params(9, 4, 3, 40_000); // spans several parallel chunks
    let r = run(&p, &[5], &[]);
    let a = r.unmask().unwrap();
    let (mut ad, mut sh, mut ma, mut re) = (
        r.adverts.clone(),
        r.shares.clone(),
        r.masked.clone(),
        r.reveals.clone(),
    );
    ad.reverse();
    sh.reverse();
    ma.reverse();
    re.reverse();
    let b = secagg::unmask(&p, &ad, &sh, &ma, &re).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.digest(), b.digest());
    // A pool with one thread gives the same bytes as the default pool.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let c = pool.install(|| r.unmask().unwrap());
    assert_eq!(a.words, c.words);
}

#[test]
fn sixty_four_bit_words_when_32_could_wrap() {
    let mut p = params(5, 4, 3, 64);
    p.fixed_point = FixedPoint {
        clip: 100.0,
        scale_bits: 24,
        max_weight: 1000,
        max_clients: 5,
    };
    assert_eq!(p.width().unwrap(), Width::W64);
    let r = run(&p, &[1], &[]);
    let sum = r.unmask().unwrap();
    assert_eq!(sum.words, plaintext_sum(&p, &[0, 2, 3, 4]));
    assert_eq!(r.masked[0].words.len(), 65 * 8);
}

#[test]
fn uploads_are_no_larger_than_float32_plus_the_weight() {
    let p = params(4, 3, 2, 1000);
    let r = run(&p, &[], &[]);
    assert_eq!(p.width().unwrap(), Width::W32);
    assert_eq!(r.masked[0].words.len(), 4 * 1001);
}

#[test]
fn a_single_masked_vector_looks_uniform() {
    // Chi-square of the top and bottom byte of each word of one masked all-zero update
    // over 256 buckets; the 99.999th percentile of chi2(255) is about 363.
    let p = params(5, 4, 3, 200_000);
    let (mut clients, _, shares) = advertise_and_share(&p);
    let masked = clients[0].mask(&vec![0.0; 200_000], 1, &shares).unwrap();
    for byte in [0usize, 3] {
        let mut counts = [0u64; 256];
        for w in masked.words.chunks_exact(4).take(200_000) {
            counts[w[byte] as usize] += 1;
        }
        let e = 200_000.0 / 256.0;
        let x2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
        assert!(x2 < 363.0, "byte {byte}: chi2 = {x2}");
    }
}

#[test]
fn too_few_survivors_is_an_error_not_a_wrong_sum() {
    let p = params(6, 4, 3, 16);
    let mut r = run(&p, &[0, 1, 2, 3], &[4, 5]);
    assert!(matches!(
        r.unmask(),
        Err(Error::TooFewSurvivors {
            survivors: 2,
            threshold: 3
        })
    ));
    // The two survivors themselves refuse to reveal for a set below the threshold.
    assert!(matches!(
        r.clients[4].unmask(&[4, 5]),
        Err(Error::TooFewSurvivors { survivors: 2, .. })
    ));
    // A client whose neighbours did not advertise refuses to share keys.
    let (mut c, own) = Participant::new(p.clone(), 0).unwrap();
    assert!(matches!(
        c.share_keys(&[own]),
        Err(Error::TooFewSurvivors {
            survivors: 0,
            threshold: 3
        })
    ));
}

#[test]
fn too_few_reveals_is_not_enough_shares() {
    let p = params(6, 4, 3, 16);
    let r = run(&p, &[], &[0, 1, 2, 3]);
    assert!(matches!(
        r.unmask(),
        Err(Error::NotEnoughShares { need: 3, .. })
    ));
}

#[test]
fn replays_across_rounds_stages_and_subgroups_are_ignored() {
    let p = params(5, 4, 3, 8);
    let old = run(&p, &[], &[]);
    let mut other = p.clone();
    other.round = Round(2);
    // A client of round 2 shown round 1's advertisements finds no advertisement of its
    // own round, not even its own.
    let (mut c, _) = Participant::new(other.clone(), 0).unwrap();
    assert!(matches!(
        c.share_keys(&old.adverts),
        Err(Error::BadSender { sender: 0, .. })
    ));
    // Messages of another round, stage or subgroup replayed into this round's lists
    // claim a sender they cannot be held against: they are ignored, nobody is excluded.
    let (adverts, shares, masked) = (old.adverts.clone(), old.shares.clone(), old.masked.clone());
    let r = run_tampered(
        &other,
        &[],
        &[],
        Tamper {
            adverts: Some(Box::new(move |a| a.push(adverts[1].clone()))),
            shares: Some(Box::new(move |s| {
                let mut wrong_stage = shares[3].clone();
                wrong_stage.header.stage = Stage::MaskedInput;
                s.push(wrong_stage);
            })),
            masked: Some(Box::new(move |m| {
                let mut wrong_subgroup = masked[0].clone();
                wrong_subgroup.header.subgroup = SubgroupId(9);
                m.push(wrong_subgroup);
            })),
            reveals: Some(Box::new(|r| {
                let mut wrong_task = r[0].clone();
                wrong_task.header.task = TaskId(99);
                r.push(wrong_task);
            })),
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3, 4]);
    assert!(sum.excluded.is_empty(), "{:?}", sum.excluded);
}

#[test]
fn duplicate_senders_cost_only_themselves_and_copied_keys_frame_nobody() {
    let p = params(5, 4, 3, 8);
    // Client 0 publishes two different masked inputs: both are set aside and it is
    // treated as dropped (its mask key rebuilt); an exact copy of a message counts once.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            masked: Some(Box::new(|m| {
                let mut second = m[0].clone();
                second.words[0] ^= 1;
                m.push(second);
                m.push(m[1].clone());
            })),
            adverts: Some(Box::new(|a| {
                let mut unknown = a[4].clone();
                unknown.header.sender = 77;
                a.push(unknown);
            })),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[1, 2, 3, 4]);
    assert_eq!(sum.dropped, vec![0]);
    assert_eq!(
        sum.excluded,
        vec![excluded(0, Stage::MaskedInput, ExclusionReason::Duplicate)]
    );
    // Client 2 advertises client 1's mask key as its own. Every derived key names the
    // pair it is for, so the copy gains nothing and costs client 1 nothing: client 1
    // stays (excluding both would let anyone expel an honest client by copying its
    // key); client 2, which cannot use the key, drops out.
    let p = params(7, 6, 4, 8);
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            adverts: Some(Box::new(|a| a[2].mask_public = a[1].mask_public)),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 3, 4, 5, 6]);
    assert!(sum.excluded.is_empty(), "{:?}", sum.excluded);
}

#[test]
fn garbage_or_forged_shares_cost_only_their_sender() {
    let p = params(5, 4, 3, 8);
    // Client 4 sends client 0 a share that does not authenticate: client 0 holds no
    // share of client 4 and masks as before; client 4's secrets are rebuilt from the
    // others' shares, and the sum is everyone's.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            shares: Some(Box::new(|s| {
                let entry = s[4].shares.iter_mut().find(|e| e.recipient == 0).unwrap();
                entry.ciphertext[5] ^= 1;
            })),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3, 4]);
    assert!(sum.excluded.is_empty());
    assert!(r.reveals[0].self_mask_shares.iter().all(|s| s.owner != 4));
    // Client 4 publishes client 3's ciphertexts as its own: the recipients do not match
    // its neighbours, so its share message does not count and it is dropped (it sees
    // that too, and sends no masked input).
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            shares: Some(Box::new(|s| s[4].shares = s[3].shares.clone())),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3]);
    assert_eq!(
        sum.excluded,
        vec![excluded(4, Stage::ShareKeys, ExclusionReason::Malformed)]
    );
    // A truncated ciphertext: malformed, its sender dropped.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            shares: Some(Box::new(|s| s[1].shares[0].ciphertext.truncate(10))),
            ..Tamper::default()
        },
    );
    completes_for(&r, &[0, 2, 3, 4]);
    // A small-order public key: that client is left out from the start.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            adverts: Some(Box::new(|a| a[2].cipher_public = [0; 32])),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 3, 4]);
    assert_eq!(
        sum.excluded[0],
        excluded(2, Stage::AdvertiseKeys, ExclusionReason::BadKey)
    );
}

#[test]
fn wrong_lengths_cost_only_their_sender() {
    let p = params(5, 4, 3, 8);
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            masked: truncated_input(2),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 3, 4]);
    assert_eq!(
        sum.excluded,
        vec![excluded(2, Stage::MaskedInput, ExclusionReason::Malformed)]
    );
    assert_eq!(sum.dropped, vec![2]);
    let p = params(5, 4, 3, 8);
    let (mut clients, _, shares) = advertise_and_share(&p);
    assert!(matches!(
        clients[0].mask(&[0.0; 7], 1, &shares),
        Err(Error::WrongLength { what: "update", .. })
    ));
    assert!(matches!(
        clients[0].mask(&[f32::NAN; 8], 1, &shares),
        Err(Error::FixedPoint(_))
    ));
    assert!(matches!(
        clients[0].mask(&[0.0; 8], 0, &shares),
        Err(Error::FixedPoint(_))
    ));
    assert!(matches!(
        clients[0].mask(&[0.0; 8], 1001, &shares),
        Err(Error::FixedPoint(_))
    ));
    // A failed attempt leaves the client able to mask correctly.
    clients[0].mask(&[0.0; 8], 1, &shares).unwrap();
}

/// Review hole 4: a client writes its own words. Masking hides them, so the check is on
/// the unmasked sum: a total weight above survivors × max weight, or a coordinate beyond
/// total weight × `ceil(clip · 2^f)`, fails [`SubgroupSum::check_bounds`] (Evaluators
/// then reject the subgroup on chain). Honest sums always pass; what passes bounds a
/// client's pull on the mean by the clip and the max weight.
#[test]
fn forged_words_fail_the_bounds_and_honest_sums_pass() {
    let p = params(5, 4, 3, 8);
    let fp = p.fixed_point;
    let q = fp.max_step() as i64; // 8 · 2^12
    run(&p, &[], &[])
        .unmask()
        .unwrap()
        .check_bounds(&fp)
        .unwrap();
    let forged = |value: i64, weight: u64| {
        let r = run_tampered(
            &p,
            &[],
            &[],
            Tamper {
                masked: forged_words(2, value, weight),
                ..Tamper::default()
            },
        );
        let sum = r.unmask().unwrap();
        assert_eq!(
            sum.survivors,
            vec![0, 1, 2, 3, 4],
            "masking hides the forgery"
        );
        sum
    };
    // A huge weight: the subgroup's mean (and its weight in the global model) would be
    // the attacker's to set.
    let sum = forged(0, 1_000_000);
    let err = sum.check_bounds(&fp).unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
    assert!(err.to_string().contains("total weight"), "{err}");
    // Values beyond the clip, with an honest-looking weight.
    let err = forged(100 * q, 0).check_bounds(&fp).unwrap_err();
    assert!(err.to_string().contains("coordinate 0 "), "{err}");
    let err = forged(-100 * q, 0).check_bounds(&fp).unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
    // A weight word that wraps to "negative" (below the survivors' count).
    let err = forged(0, u64::from(u32::MAX) - 100)
        .check_bounds(&fp)
        .unwrap_err();
    assert!(err.to_string().contains("total weight"), "{err}");
    // The worst an attacker within the bounds can do: the largest weight, every value at
    // the clip. It passes, and the mean stays within the clip.
    let sum = forged(1000 * q, 1000 - 12);
    sum.check_bounds(&fp).unwrap();
    let (mean, weight) = sum.mean(&fp).unwrap();
    assert_eq!(weight, 60 - 12 + 1000);
    assert!(mean.iter().all(|m| m.abs() <= fp.clip as f32), "{mean:?}");
}

#[test]
fn stages_run_once_and_in_order() {
    let p = params(5, 4, 3, 8);
    let mut r = run(&p, &[], &[]);
    // Every client has revealed: a second reveal (e.g. for another survivor set) fails.
    match r.clients[0].unmask(&[0, 1, 2]) {
        Err(Error::StageOrder {
            current: "revealed",
            ..
        }) => {}
        e => panic!("{:?}", e.map(|_| ())),
    }
    let (mut c, _) = Participant::new(p.clone(), 0).unwrap();
    assert!(matches!(
        c.mask(&[0.0; 8], 1, &r.shares),
        Err(Error::StageOrder {
            current: "advertised",
            ..
        })
    ));
    assert!(matches!(
        c.unmask(&[0, 1, 2]),
        Err(Error::StageOrder { .. })
    ));
}

#[test]
fn never_both_secrets_of_one_client() {
    let p = params(7, 6, 4, 8);
    // A revealer puts a survivor's self-mask share among the key shares (as if the
    // survivor had dropped): the share is not used for the key, the revealer is named,
    // and its other (committed) shares still count.
    let r = run_tampered(
        &p,
        &[4],
        &[],
        Tamper {
            reveals: Some(Box::new(|r| {
                let moved: RevealedShare = r[0].self_mask_shares.remove(0);
                r[0].key_shares.push(moved);
            })),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3, 5, 6]);
    assert_eq!(
        sum.excluded,
        vec![excluded(0, Stage::Unmask, ExclusionReason::BadReveal)]
    );
    // A client shown a survivor set without itself reveals nothing.
    let mut r2 = run(&params(6, 4, 3, 8), &[0], &[0, 1, 2, 3, 4, 5]);
    match r2.clients[1].unmask(&[2, 3, 4, 5]) {
        Err(Error::BadSender { sender: 1, .. }) => {}
        e => panic!("{:?}", e.map(|_| ())),
    }
    // A reveal for another survivor set is set aside, its sender named.
    let r = run_tampered(
        &p,
        &[4],
        &[],
        Tamper {
            reveals: Some(Box::new(|r| {
                r[1].survivors.pop();
            })),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3, 5, 6]);
    assert_eq!(
        sum.excluded,
        vec![excluded(1, Stage::Unmask, ExclusionReason::WrongSurvivors)]
    );
}

#[test]
fn a_wrong_revealed_share_is_set_aside_by_its_commitment() {
    let p = params(5, 4, 3, 8);
    // Client 0 reveals a wrong self-mask share: it does not match what its owner
    // committed to for client 0, so the next holder's share is used instead, and every
    // Evaluator gets the same exact sum.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            reveals: Some(Box::new(|r| r[0].self_mask_shares[0].share[7] ^= 0x40)),
            ..Tamper::default()
        },
    );
    let sum = completes_for(&r, &[0, 1, 2, 3, 4]);
    assert_eq!(
        sum.excluded,
        vec![excluded(0, Stage::Unmask, ExclusionReason::BadReveal)]
    );
    let mut reversed = r.reveals.clone();
    reversed.reverse();
    assert_eq!(
        secagg::unmask(&p, &r.adverts, &r.shares, &r.masked, &reversed).unwrap(),
        sum
    );
    // Too many wrong reveals for one owner: not enough checked shares, a typed error,
    // never a wrong sum.
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            reveals: Some(Box::new(|r| {
                for m in r.iter_mut().take(3) {
                    for s in &mut m.self_mask_shares {
                        s.share[7] ^= 0x40;
                    }
                }
            })),
            ..Tamper::default()
        },
    );
    assert!(matches!(r.unmask(), Err(Error::NotEnoughShares { .. })));
}

#[test]
fn impossible_parameters_are_typed_errors() {
    let base = params(10, 6, 4, 8);
    let cases: Vec<(SecAggParams, &str)> = vec![
        (
            SecAggParams {
                clients: 2,
                ..base.clone()
            },
            "clients",
        ),
        (
            SecAggParams {
                threshold: 7,
                ..base.clone()
            },
            "threshold 7",
        ),
        (
            SecAggParams {
                threshold: 3,
                ..base.clone()
            },
            "not more than half",
        ),
        (
            SecAggParams {
                threshold: 1,
                ..base.clone()
            },
            "threshold 1",
        ),
        (
            SecAggParams {
                vector_len: 0,
                ..base.clone()
            },
            "vector length",
        ),
        (
            SecAggParams {
                fixed_point: FixedPoint {
                    max_clients: 9,
                    ..base.fixed_point
                },
                ..base.clone()
            },
            "configured for 9",
        ),
        (
            SecAggParams {
                fixed_point: FixedPoint {
                    clip: 1e9,
                    scale_bits: 40,
                    max_weight: 1 << 20,
                    max_clients: 10,
                },
                ..base.clone()
            },
            "beyond 64-bit",
        ),
        (
            SecAggParams {
                fixed_point: FixedPoint {
                    clip: f64::NAN,
                    ..base.fixed_point
                },
                ..base.clone()
            },
            "clip range",
        ),
    ];
    for (p, words) in cases {
        let err = p.validate().unwrap_err();
        assert!(
            err.to_string().contains(words),
            "{err} should mention {words:?}"
        );
        assert!(Participant::new(p, 0).is_err());
    }
    assert!(matches!(
        Participant::new(base, 10),
        Err(Error::BadSender { sender: 10, .. })
    ));
}

#[test]
fn messages_round_trip_canonically_and_reject_truncation() {
    let p = params(5, 4, 3, 8);
    let r = run(&p, &[], &[]);
    fn check<M: Message + PartialEq + std::fmt::Debug>(m: &M) {
        let b = m.to_canonical_bytes();
        assert_eq!(&M::from_canonical_bytes(&b).unwrap(), m);
        for cut in [0, 1, b.len() / 2, b.len() - 1] {
            assert!(M::from_canonical_bytes(&b[..cut]).is_err());
        }
    }
    check(&r.adverts[0]);
    check(&r.shares[0]);
    check(&r.masked[0]);
    check(&r.reveals[0]);
}

#[test]
fn graph_is_symmetric_and_regular() {
    for (n, k) in [
        (3u32, 2u32),
        (10, 4),
        (11, 5),
        (51, 50),
        (100, 10),
        (257, 16),
    ] {
        let g = secagg::graph::neighbours(n, k, &Digest32([1; 32])).unwrap();
        let deg = secagg::graph::effective_degree(n, k);
        for (i, ns) in g.iter().enumerate() {
            assert_eq!(ns.len() as u32, deg, "n={n} k={k}");
            assert!(!ns.contains(&(i as u32)));
            for &j in ns {
                assert!(g[j as usize].contains(&(i as u32)), "asymmetric at {i}-{j}");
            }
        }
    }
}

#[test]
fn prg_chunks_agree_with_one_pass() {
    let seed = [9u8; 32];
    let all: Vec<u32> = prg::expand(&seed, 50_000);
    let mut part = vec![0u32; 1000];
    prg::expand_into(&seed, 31_337, &mut part);
    assert_eq!(&all[31_337..32_337], &part[..]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn unmasked_sum_equals_plaintext_sum(n in 3u32..12, k_frac in 0.0f64..1.0, t_frac in 0.0f64..1.0,
                                         d in 1u32..300, drops in proptest::collection::vec(any::<bool>(), 24)) {
        let k = 2 + ((f64::from(n - 3)) * k_frac) as u32;
        let p0 = params(n, k, 2, d);
        let deg = p0.degree();
        let t_min = deg / 2 + 1;
        let t = (t_min + ((f64::from(deg - t_min)) * t_frac) as u32).max(2);
        let p = SecAggParams { threshold: t, ..p0 };
        prop_assume!(p.validate().is_ok());
        let before: Vec<u32> = (0..n).filter(|&i| drops[i as usize]).collect();
        let after: Vec<u32> = (0..n).filter(|&i| drops[12 + i as usize] && !before.contains(&i)).collect();
        let survivors: Vec<u32> = (0..n).filter(|i| !before.contains(i)).collect();
        if (survivors.len() as u32) < t || !recoverable(&p, &before, &after) {
            // Set up what can run; the round must then fail with a typed error.
            let r = std::panic::catch_unwind(|| run(&p, &before, &after));
            if let Ok(r) = r {
                let failed = matches!(r.unmask(), Err(Error::TooFewSurvivors { .. } | Error::NotEnoughShares { .. }));
                prop_assert!(failed, "an unrecoverable round must fail");
            }
        } else {
            let r = run(&p, &before, &after);
            let sum = r.unmask().unwrap();
            prop_assert_eq!(&sum.words, &plaintext_sum(&p, &survivors));
            let (mean, _) = sum.mean(&p.fixed_point).unwrap();
            for (m, e) in mean.iter().zip(weighted_mean(&p, &survivors)) {
                prop_assert!((f64::from(*m) - e).abs() <= p.fixed_point.quantization_bound() + 1e-6);
            }
        }
    }
}

/// A client that derives its keys from a `ClientSecret` can crash after any stage and be
/// rebuilt by replaying the published messages: the rebuilt client masks and unmasks to
/// the same bytes, and the subgroup's sum is exact.
#[test]
fn a_client_rebuilt_from_its_secret_finishes_the_round() {
    use din_core::secagg::ClientSecret;
    use zeroize::Zeroizing;
    let p = params(6, 5, 3, 64);
    let secrets: Vec<ClientSecret> = (0..6).map(|_| ClientSecret::generate()).collect();
    let (mut clients, adverts): (Vec<Participant>, Vec<AdvertiseKeys>) = (0..6)
        .map(|i| Participant::from_secret(p.clone(), i, &secrets[i as usize]).unwrap())
        .unzip();
    let shares: Vec<ShareKeys> = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    let masked: Vec<MaskedInput> = clients
        .iter_mut()
        .map(|c| {
            let i = c.index();
            c.mask(&update(i, 64), 10 + u64::from(i), &shares).unwrap()
        })
        .collect();
    // Client 2 "crashes" here and restarts from its stored secret bytes.
    let stored = secrets[2].to_bytes();
    let secret = ClientSecret::from_bytes(Zeroizing::new(*stored));
    let (mut rebuilt, advert) = Participant::from_secret(p.clone(), 2, &secret).unwrap();
    assert_eq!(
        advert, adverts[2],
        "same secret, same round: same public keys"
    );
    // Re-sharing deals the same polynomials and so publishes the same bytes: never two
    // sharings of one secret, never one AEAD key and nonce over two plaintexts
    // (secure-aggregation review, hole 6).
    let reshared = rebuilt.share_keys(&adverts).unwrap();
    assert_eq!(
        reshared, shares[2],
        "the replayed share message is byte-identical"
    );
    let again = rebuilt.mask(&update(2, 64), 12, &shares).unwrap();
    assert_eq!(
        again, masked[2],
        "the replayed masking gives the same bytes"
    );
    clients[2] = rebuilt;
    let survivors: Vec<u32> = (0..6).collect();
    let reveals: Vec<UnmaskShares> = clients
        .iter_mut()
        .map(|c| c.unmask(&survivors).unwrap())
        .collect();
    let sum = secagg::unmask(&p, &adverts, &shares, &masked, &reveals).unwrap();
    let (mean, weight) = sum.mean(&p.fixed_point).unwrap();
    assert_eq!(weight, (10..16).sum::<u64>());
    let want = weighted_mean(&p, &survivors);
    for (a, b) in mean.iter().zip(&want) {
        assert!((f64::from(*a) - b).abs() < 1e-3, "{a} vs {b}");
    }
    // Another round (or another client's secret) gives unrelated keys.
    let mut q = p.clone();
    q.round = Round(2);
    let (_, next_round) = Participant::from_secret(q, 2, &secret).unwrap();
    assert_ne!(next_round.mask_public, adverts[2].mask_public);
    let (_, other) = Participant::from_secret(p.clone(), 2, &secrets[3]).unwrap();
    assert_ne!(other.cipher_public, adverts[2].cipher_public);
    // Purpose keys: deterministic per label, independent across labels and secrets.
    assert_eq!(*secret.derive_key(b"a"), *secrets[2].derive_key(b"a"));
    assert_ne!(*secret.derive_key(b"a"), *secret.derive_key(b"b"));
    assert_ne!(*secret.derive_key(b"a"), *secrets[3].derive_key(b"a"));
}

/// Writes seeds of the v2 messages (share messages with commitments, a reveal, an
/// aggregate naming exclusions) into the fuzz corpus:
/// `cargo test -p din-core --test secagg -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes fuzz/corpus/canonical_decode seeds"]
fn write_fuzz_seeds() {
    let p = params(6, 5, 3, 4);
    let r = run_tampered(
        &p,
        &[],
        &[],
        Tamper {
            masked: truncated_input(2),
            reveals: Some(Box::new(|r| r[0].self_mask_shares[0].share[7] ^= 0x40)),
            ..Tamper::default()
        },
    );
    let agg = secagg::SubgroupAggregate::compute(&p, &r.adverts, &r.shares, &r.masked, &r.reveals)
        .unwrap();
    assert_eq!(agg.sum.excluded.len(), 2);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus/canonical_decode");
    for (name, bytes) in [
        ("seed-v2-share-keys", r.shares[0].to_canonical_bytes()),
        ("seed-v2-unmask", r.reveals[1].to_canonical_bytes()),
        ("seed-v2-aggregate-exclusions", agg.to_canonical_bytes()),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// Review hole 6 (forward secrecy): a thief copies a Participant's stored ratchet after
/// round 3. It cannot derive the secrets of rounds 1 to 3 again, and no 32-byte value in
/// what it stole rebuilds the keys the client advertised in round 3, so round 3's masked
/// input (on IPFS for good) stays masked; the client itself still derives later rounds.
#[test]
fn a_state_stolen_after_a_round_cannot_rebuild_its_keys() {
    use din_core::secagg::RoundRatchet;
    let mut ratchet = RoundRatchet::generate();
    let mut p = params(5, 4, 3, 8);
    p.round = Round(3);
    let round3 = ratchet.secret_for(3).unwrap();
    let (_, advert) = Participant::from_secret(p.clone(), 1, &round3).unwrap();
    // Round 3 is over: advance, and store only what is left.
    ratchet.advance_to(4);
    let stolen = ratchet.to_bytes();
    let thief = RoundRatchet::from_bytes(stolen.as_ref()).unwrap();
    for r in 1..=3 {
        assert!(thief.secret_for(r).is_err(), "round {r}'s secret");
    }
    // Every 32-byte window of the stolen bytes, tried as the round's secret.
    for w in stolen.windows(32) {
        let guess =
            secagg::ClientSecret::from_bytes(zeroize::Zeroizing::new(w.try_into().unwrap()));
        let (_, theirs) = Participant::from_secret(p.clone(), 1, &guess).unwrap();
        assert_ne!(theirs.mask_public, advert.mask_public);
        assert_ne!(theirs.cipher_public, advert.cipher_public);
    }
    // The owner goes on: round 4's secret is the same whether derived before or after.
    let fresh = RoundRatchet::from_bytes(stolen.as_ref()).unwrap();
    let (_, a) = Participant::from_secret(
        SecAggParams {
            round: Round(4),
            ..p.clone()
        },
        1,
        &fresh.secret_for(4).unwrap(),
    )
    .unwrap();
    let (_, b) = Participant::from_secret(
        SecAggParams {
            round: Round(4),
            ..p
        },
        1,
        &ratchet.secret_for(4).unwrap(),
    )
    .unwrap();
    assert_eq!(a, b);
    assert!(RoundRatchet::from_bytes(&[0; 35]).is_err());
}
