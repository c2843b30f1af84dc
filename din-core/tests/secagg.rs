//! Secure aggregation: exact sums under dropouts, the quantization bound, uniform masked
//! vectors, determinism across Evaluators, and a typed error for every rejection.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use din_core::secagg::messages::RevealedShare;
use din_core::secagg::{
    self, AdvertiseKeys, FixedPoint, MaskedInput, Participant, SecAggParams, ShareKeys,
    SubgroupSum, UnmaskShares, Width, prg,
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
    let (mut clients, adverts, shares) = advertise_and_share(p);
    let mut masked = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if !drop_before.contains(&i) {
            masked.push(
                c.mask_with_rounding_seed(
                    &update(i, p.vector_len),
                    10 + u64::from(i),
                    &shares,
                    &rounding_seed(i),
                )
                .unwrap(),
            );
        }
    }
    let survivors: Vec<u32> = masked.iter().map(|m| m.header.sender).collect();
    let mut reveals = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if survivors.contains(&i) && !drop_after.contains(&i) {
            reveals.push(c.unmask(&survivors).unwrap());
        }
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
fn replays_across_rounds_stages_and_subgroups_are_rejected() {
    let p = params(5, 4, 3, 8);
    let r = run(&p, &[], &[]);
    let mut other = p.clone();
    other.round = Round(2);
    let (mut c, _) = Participant::new(other.clone(), 0).unwrap();
    match c.share_keys(&r.adverts) {
        Err(Error::WrongBinding { field: "round", .. }) => {}
        e => panic!("{e:?}"),
    }
    let mut wrong_stage = r.shares.clone();
    wrong_stage[1].header.stage = secagg::Stage::MaskedInput;
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &wrong_stage, &r.masked, &r.reveals),
        Err(Error::WrongBinding { field: "stage", .. })
    ));
    let mut wrong_subgroup = r.masked.clone();
    wrong_subgroup[0].header.subgroup = SubgroupId(9);
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &r.shares, &wrong_subgroup, &r.reveals),
        Err(Error::WrongBinding {
            field: "subgroup",
            ..
        })
    ));
    let mut wrong_task = r.reveals.clone();
    wrong_task[0].header.task = TaskId(99);
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &r.shares, &r.masked, &wrong_task),
        Err(Error::WrongBinding { field: "task", .. })
    ));
}

#[test]
fn duplicate_and_unknown_senders_are_rejected() {
    let p = params(5, 4, 3, 8);
    let r = run(&p, &[], &[]);
    let mut dup = r.masked.clone();
    dup.push(dup[0].clone());
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &r.shares, &dup, &r.reveals),
        Err(Error::BadSender { sender: 0, .. })
    ));
    let mut unknown = r.adverts.clone();
    unknown[4].header.sender = 77;
    assert!(matches!(
        secagg::unmask(&p, &unknown, &r.shares, &r.masked, &r.reveals),
        Err(Error::BadSender { sender: 77, .. })
    ));
    let mut copied_key = r.adverts.clone();
    copied_key[2].mask_public = copied_key[1].mask_public;
    assert!(matches!(
        secagg::unmask(&p, &copied_key, &r.shares, &r.masked, &r.reveals),
        Err(Error::BadSender { sender: 2, .. })
    ));
}

#[test]
fn forged_sender_fails_share_authentication() {
    let p = params(5, 4, 3, 8);
    let (mut clients, _, mut shares) = advertise_and_share(&p);
    // Client 4 publishes client 3's ciphertexts as its own: every recipient's AEAD fails.
    shares[4].shares = shares[3].shares.clone();
    match clients[0].mask(&[0.0; 8], 1, &shares) {
        Err(Error::Decryption {
            sender: 4,
            recipient: 0,
        }) => {}
        e => panic!("{e:?}"),
    }
}

#[test]
fn tampered_ciphertext_and_low_order_keys_are_rejected() {
    let p = params(5, 4, 3, 8);
    let (mut clients, _, mut shares) = advertise_and_share(&p);
    let entry = shares[2]
        .shares
        .iter_mut()
        .find(|s| s.recipient == 0)
        .unwrap();
    entry.ciphertext[5] ^= 1;
    assert!(matches!(
        clients[0].mask(&[0.0; 8], 1, &shares),
        Err(Error::Decryption {
            sender: 2,
            recipient: 0
        })
    ));
    let entry = shares[1]
        .shares
        .iter_mut()
        .find(|s| s.recipient == 3)
        .unwrap();
    entry.ciphertext.truncate(10);
    assert!(matches!(
        clients[3].mask(&[0.0; 8], 1, &shares),
        Err(Error::WrongLength {
            what: "encrypted share",
            sender: 1,
            ..
        })
    ));

    let (mut c, a) = Participant::new(p.clone(), 0).unwrap();
    let mut adverts = vec![a];
    for i in 1..5 {
        let (_, mut a) = Participant::new(p.clone(), i).unwrap();
        if i == 2 {
            a.cipher_public = [0; 32]; // a low-order point
        }
        adverts.push(a);
    }
    match c.share_keys(&adverts) {
        Err(Error::BadSender { sender: 2, reason }) => {
            assert!(reason.contains("low-order"), "{reason}")
        }
        e => panic!("{:?}", e.map(|_| ())),
    }
}

#[test]
fn wrong_lengths_are_rejected() {
    let p = params(5, 4, 3, 8);
    let mut r = run(&p, &[], &[]);
    r.masked[2].words.pop();
    assert!(matches!(
        r.unmask(),
        Err(Error::WrongLength {
            what: "masked input",
            sender: 2,
            expected: 36,
            found: 35
        })
    ));
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
    let p = params(6, 4, 3, 8);
    let r = run(&p, &[4], &[]);
    // A reveal that puts a survivor's share among the key shares is refused.
    let mut reveals = r.reveals.clone();
    let holder = reveals
        .iter_mut()
        .find(|m| !m.self_mask_shares.is_empty())
        .unwrap();
    let moved: RevealedShare = holder.self_mask_shares.remove(0);
    holder.key_shares.push(moved);
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &r.shares, &r.masked, &reveals),
        Err(Error::ConflictingReveal { owner }) if owner == moved.owner
    ));
    // A client shown a survivor set without itself reveals nothing.
    let mut r2 = run(&params(6, 4, 3, 8), &[0], &[0, 1, 2, 3, 4, 5]);
    match r2.clients[1].unmask(&[2, 3, 4, 5]) {
        Err(Error::BadSender { sender: 1, .. }) => {}
        e => panic!("{:?}", e.map(|_| ())),
    }
    // Reveals must all be for the same survivor set.
    let mut reveals = r.reveals.clone();
    reveals[0].survivors.pop();
    assert!(matches!(
        secagg::unmask(&p, &r.adverts, &r.shares, &r.masked, &reveals),
        Err(Error::WrongBinding {
            field: "survivor set",
            ..
        })
    ));
}

#[test]
fn a_bad_share_is_caught_by_the_commitment() {
    let p = params(5, 4, 3, 8);
    let r = run(&p, &[], &[]);
    let mut reveals = r.reveals.clone();
    reveals[0].self_mask_shares[0].share[7] ^= 0x40;
    let owner = reveals[0].self_mask_shares[0].owner;
    // The tampered share is used only when its holder is among the first t for that owner.
    match secagg::unmask(&p, &r.adverts, &r.shares, &r.masked, &reveals) {
        Err(Error::ShareMismatch {
            owner: o,
            secret: "self-mask seed",
        }) => assert_eq!(o, owner),
        other => panic!("{other:?}"),
    }
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
    let _discarded = rebuilt.share_keys(&adverts).unwrap();
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
