//! Attacks on secure aggregation, performed (paper §6: "a malicious Participant", "whoever
//! reads IPFS"). Each test runs a real round and then plays the adversary with the public
//! messages plus what a malicious Participant holds (its own decrypted shares).
//!
//! Keystream reuse (Bonawitz et al. 2017 §4 needs an IND-CPA, INT-CTXT channel per pair
//! *and direction*): if the shares i sends to j and those j sends to i were encrypted
//! under one key and one nonce, `ct(i→j) ⊕ ct(j→i) = p(i→j) ⊕ p(j→i)` would be public.
//! The unmask stage reveals the shares of a dropped client's mask key, so for every
//! dropped neighbour D of a survivor S the observer would learn S's share of its own mask
//! key held by D; `threshold - 1` dropped neighbours and one malicious neighbour's own
//! share give S's mask key, hence every pairwise mask of S, and with S's self mask
//! (reconstructed publicly because S survived) S's update in the clear.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::keys::{SELF_MASK_INFO, SecretKey, pairwise_info};
use super::messages::{AdvertiseKeys, ENCRYPTED_SHARE_LEN, MaskedInput, ShareKeys, UnmaskShares};
use super::shamir::{self, SHARE_LEN, SecretShare};
use super::{FixedPoint, Participant, SecAggParams, Width, prg, unmask};
use crate::{Digest32, Round, SubgroupId, TaskId};

const N: u32 = 10;
const K: u32 = 9;
const T: u32 = 5;
const D: u32 = 16;

fn params() -> SecAggParams {
    SecAggParams {
        task: TaskId(7),
        round: Round(3),
        subgroup: SubgroupId(1),
        clients: N,
        neighbours: K,
        threshold: T,
        vector_len: D,
        fixed_point: FixedPoint {
            max_clients: N,
            ..FixedPoint::default()
        },
        graph_seed: Digest32([9; 32]),
    }
}

fn update(i: u32) -> Vec<f32> {
    (0..D)
        .map(|c| (i as f32 + 1.0) * 0.25 - c as f32 * 0.125)
        .collect()
}

/// The malicious Participant.
const MALICIOUS: u32 = 5;

/// Everything public after a round (what anyone reading the chain and IPFS holds), and
/// the malicious Participant's own shares of the others' mask keys.
struct Transcript {
    adverts: Vec<AdvertiseKeys>,
    shares: Vec<ShareKeys>,
    masked: Vec<MaskedInput>,
    reveals: Vec<UnmaskShares>,
    insider: Vec<(u32, [u8; SHARE_LEN])>,
}

/// A round in which clients `dropped` share keys and then vanish before masking.
fn run_round(p: &SecAggParams, dropped: &[u32]) -> Transcript {
    let (mut clients, adverts): (Vec<Participant>, Vec<AdvertiseKeys>) = (0..N)
        .map(|i| Participant::new(p.clone(), i).unwrap())
        .unzip();
    let shares: Vec<ShareKeys> = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts).unwrap())
        .collect();
    let mut masked = Vec::new();
    for c in &mut clients {
        if !dropped.contains(&c.index()) {
            masked.push(c.mask(&update(c.index()), 10, &shares).unwrap());
        }
    }
    let insider = clients[MALICIOUS as usize]
        .held
        .iter()
        .map(|(&owner, h)| (owner, h.mask_key.to_bytes()))
        .collect();
    let survivors: Vec<u32> = masked.iter().map(|m| m.header.sender).collect();
    let reveals = clients
        .iter_mut()
        .filter(|c| survivors.contains(&c.index()))
        .map(|c| c.unmask(&survivors).unwrap())
        .collect();
    Transcript {
        adverts,
        shares,
        masked,
        reveals,
        insider,
    }
}

fn ciphertext(t: &Transcript, from: u32, to: u32) -> Vec<u8> {
    let msg = t.shares.iter().find(|m| m.header.sender == from).unwrap();
    let entry = msg.shares.iter().find(|s| s.recipient == to).unwrap();
    assert_eq!(entry.ciphertext.len(), ENCRYPTED_SHARE_LEN);
    entry.ciphertext.clone()
}

/// The attack on survivor `s`: returns the mask key the malicious Participant rebuilds
/// for `s` (its 32 bytes), or `None` if the rebuilt shares do not even combine.
fn steal_mask_key(t: &Transcript, s: u32, dropped: &[u32]) -> Option<[u8; 32]> {
    let reveal_of_s = t.reveals.iter().find(|r| r.header.sender == s).unwrap();
    let own = t.insider.iter().find(|(owner, _)| *owner == s).unwrap().1;
    let mut stolen = vec![SecretShare::from_bytes(own)];
    for &d in dropped {
        let (to_d, to_s) = (ciphertext(t, s, d), ciphertext(t, d, s));
        // Bytes SHARE_LEN..2·SHARE_LEN of a share message's plaintext are the share of
        // the sender's mask key; S revealed D's (D dropped), so XOR gives S's own.
        let revealed = reveal_of_s
            .key_shares
            .iter()
            .find(|r| r.owner == d)
            .unwrap();
        let mut share = [0u8; SHARE_LEN];
        for (b, out) in share.iter_mut().enumerate() {
            *out = to_d[SHARE_LEN + b] ^ to_s[SHARE_LEN + b] ^ revealed.share[b];
        }
        stolen.push(SecretShare::from_bytes(share));
    }
    shamir::combine(&stolen, T).ok().map(|k| *k)
}

/// With a stolen mask key, the observer strips every mask from `s`'s masked input and
/// decodes its update.
fn unmask_one(t: &Transcript, p: &SecAggParams, s: u32, key: [u8; 32]) -> Vec<f32> {
    assert_eq!(p.width().unwrap(), Width::W32);
    let context = p.context();
    let len = D as usize + 1;
    let y = &t
        .masked
        .iter()
        .find(|m| m.header.sender == s)
        .unwrap()
        .words;
    let mut words: Vec<u32> = y
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    // The self mask: S survived, so its seed is rebuilt from the revealed shares.
    let seed_shares: Vec<SecretShare> = t
        .reveals
        .iter()
        .flat_map(|r| r.self_mask_shares.iter().filter(|x| x.owner == s))
        .map(|x| SecretShare::from_bytes(x.share))
        .collect();
    let seed = shamir::combine(&seed_shares, T).unwrap();
    let mut self_seed = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&context), seed.as_ref())
        .expand(SELF_MASK_INFO, &mut self_seed)
        .unwrap();
    let sub = |words: &mut Vec<u32>, m: Vec<u32>| {
        for (w, m) in words.iter_mut().zip(m) {
            *w = w.wrapping_sub(m);
        }
    };
    sub(&mut words, prg::expand::<u32>(&self_seed, len));
    // Pairwise masks with every neighbour that shared keys (here: all of them).
    let key = SecretKey::from_bytes(key);
    let graph = p.graph().unwrap();
    for &j in &graph[s as usize] {
        let public = t.adverts[j as usize].mask_public;
        let pairwise = prg::expand::<u32>(
            &key.derive(&public, j, &context, &pairwise_info(s, j))
                .unwrap(),
            len,
        );
        if j > s {
            sub(&mut words, pairwise);
        } else {
            for (w, m) in words.iter_mut().zip(pairwise) {
                *w = w.wrapping_add(m);
            }
        }
    }
    p.fixed_point.decode_mean(&words).unwrap().0
}

/// Hole 1 of the secure-aggregation review: with the quickstart's n = 10, k = 9, t = 5,
/// one malicious Participant and four honest ones dropping after sharing keys, the
/// malicious one must learn nothing of another survivor's update. With one key for both
/// directions of a pair it rebuilt every honest survivor's mask key and update.
#[test]
fn a_malicious_participant_and_dropped_neighbours_learn_no_survivor_update() {
    let p = params();
    let dropped = [6, 7, 8, 9];
    let t = run_round(&p, &dropped);
    // The round itself still succeeds for the survivors.
    let sum = unmask(&p, &t.adverts, &t.shares, &t.masked, &t.reveals).unwrap();
    assert_eq!(sum.survivors, vec![0, 1, 2, 3, 4, 5]);
    for s in 0..5u32 {
        let advertised = t.adverts[s as usize].mask_public;
        let Some(key) = steal_mask_key(&t, s, &dropped) else {
            continue;
        };
        if SecretKey::from_bytes(key).public() == advertised {
            let stolen = unmask_one(&t, &p, s, key);
            let real = update(s);
            let err = stolen
                .iter()
                .zip(&real)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            panic!(
                "survivor {s}'s mask key was rebuilt from public ciphertexts; \
                 its update recovered within {err} (real {:?}, stolen {:?})",
                &real[..4],
                &stolen[..4]
            );
        }
    }
}

/// A public key that X25519 cannot tell from `key`: the same point plus a torsion point
/// (every agreement clamps its scalar to a multiple of 8, which cancels the torsion).
fn twisted(key: &[u8; 32]) -> [u8; 32] {
    let point = curve25519_dalek::montgomery::MontgomeryPoint(*key)
        .to_edwards(0)
        .unwrap();
    (point + curve25519_dalek::constants::EIGHT_TORSION[1])
        .to_montgomery()
        .to_bytes()
}

/// The v2 review's attack 1: colluders 3 and 4 advertise twisted copies of honest
/// clients 0's and 1's mask keys. With a pairwise seed that depends on the agreement
/// alone, client 2's seeds with 3 and with 0 (and with 4 and 1) were equal, and its
/// masks (−s20 − s21 + s23 + s24) cancelled: once its self mask was rebuilt (the
/// colluders hold two of the three shares needed, an honest reveal gives the third),
/// its update was in the clear. Seeds bound to the pair's indices make them unrelated.
#[test]
fn twisted_copies_of_honest_keys_do_not_cancel_a_survivors_masks() {
    let p = SecAggParams {
        clients: 5,
        neighbours: 4,
        threshold: 3,
        fixed_point: FixedPoint {
            max_clients: 5,
            ..FixedPoint::default()
        },
        ..params()
    };
    let (mut clients, honest_adverts): (Vec<Participant>, Vec<AdvertiseKeys>) = (0..5)
        .map(|i| Participant::new(p.clone(), i).unwrap())
        .unzip();
    let mut adverts = honest_adverts.clone();
    adverts[3].mask_public = twisted(&honest_adverts[0].mask_public);
    adverts[4].mask_public = twisted(&honest_adverts[1].mask_public);
    assert_ne!(adverts[3].mask_public, adverts[0].mask_public);
    // The colluders share keys as themselves; the honest clients see the twisted keys.
    let shares: Vec<ShareKeys> = clients
        .iter_mut()
        .map(|c| {
            let seen = if c.index() >= 3 {
                &honest_adverts
            } else {
                &adverts
            };
            c.share_keys(seen).unwrap()
        })
        .collect();
    // The colluders' own shares of client 2's self-mask seed.
    let mut seed_shares: Vec<SecretShare> = clients[3..]
        .iter()
        .map(|c| {
            let held = c.open_share(2, &shares[2]).unwrap();
            SecretShare::from_bytes(held.self_mask.to_bytes())
        })
        .collect();
    // Honest clients mask; the colluders vanish; client 0 reveals for the survivors.
    let masked: Vec<MaskedInput> = clients[..3]
        .iter_mut()
        .map(|c| {
            let i = c.index();
            c.mask(&update(i), 10, &shares).unwrap()
        })
        .collect();
    let reveal = clients[0].unmask(&[0, 1, 2]).unwrap();
    let share = reveal
        .self_mask_shares
        .iter()
        .find(|s| s.owner == 2)
        .unwrap();
    seed_shares.push(SecretShare::from_bytes(share.share));
    let seed = shamir::combine(&seed_shares, 3).unwrap();
    let mut self_seed = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&p.context()), seed.as_ref())
        .expand(SELF_MASK_INFO, &mut self_seed)
        .unwrap();
    let mask = prg::expand::<u32>(&self_seed, D as usize + 1);
    let words: Vec<u32> = masked[2]
        .words
        .chunks_exact(4)
        .zip(mask)
        .map(|(c, m)| u32::from_le_bytes(c.try_into().unwrap()).wrapping_sub(m))
        .collect();
    let (stolen, weight) = p.fixed_point.decode_mean(&words).unwrap_or_default();
    let real = update(2);
    let exact = weight == 10
        && stolen
            .iter()
            .zip(&real)
            .all(|(a, b)| (a - b).abs() <= p.fixed_point.quantization_bound() as f32);
    assert!(
        !exact,
        "client 2's update {:?} was read off its masked input",
        &real[..4]
    );
}
