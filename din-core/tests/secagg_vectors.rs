//! JSON vectors for the secure-aggregation PRG, fixed-point encoding and share-channel
//! keys (`tests/vectors/secagg.json`), so another implementation can be checked against
//! ours.
//!
//! The PRG is plain AES-128-CTR, so the `openssl` command line is an independent
//! implementation of it: `prg_matches_openssl` pipes zeros through
//! `openssl enc -aes-128-ctr -K <seed[0..16]> -iv <seed[16..32]>` and compares the
//! keystream with every vector (it runs wherever `openssl` is on the PATH, as on the
//! project machines and CI).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{read_json, vector_path};
use din_core::secagg::keys::{SecretKey, share_key_info};
use din_core::secagg::{FixedPoint, prg};

/// The share-channel key of the vectors, from the spec with the primitives' own crates
/// (x25519-dalek, hkdf): `HKDF-SHA256(salt = context, ikm = X25519(a, B), info =
/// "din/secagg/v2/share-key" || sender u32 BE || recipient u32 BE)`.
fn share_key_from_spec(
    a: [u8; 32],
    b_public: [u8; 32],
    context: &[u8],
    sender: u32,
    recipient: u32,
) -> [u8; 32] {
    let shared = x25519_dalek::StaticSecret::from(a)
        .diffie_hellman(&x25519_dalek::PublicKey::from(b_public));
    let mut info = b"din/secagg/v2/share-key".to_vec();
    info.extend_from_slice(&sender.to_be_bytes());
    info.extend_from_slice(&recipient.to_be_bytes());
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(context), shared.as_bytes())
        .expand(&info, &mut out)
        .unwrap();
    out
}

#[test]
fn share_key_vectors_match() {
    let doc = read_json(&vector_path("secagg.json"));
    let cases = doc["share_key"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let (a, b) = (
            seed(c["a_secret"].as_str().unwrap()),
            seed(c["b_secret"].as_str().unwrap()),
        );
        let context = seed(c["context"].as_str().unwrap());
        let (sender, recipient) = (
            c["sender"].as_u64().unwrap() as u32,
            c["recipient"].as_u64().unwrap() as u32,
        );
        let want = seed(c["key"].as_str().unwrap());
        let b_public = SecretKey::from_bytes(b).public();
        assert_eq!(
            share_key_from_spec(a, b_public, &context, sender, recipient),
            want,
            "{c}"
        );
        // Both ends derive it: din-core's own derivation from either side.
        let from_a = SecretKey::from_bytes(a)
            .derive(&b_public, 1, &context, &share_key_info(sender, recipient))
            .unwrap();
        let from_b = SecretKey::from_bytes(b)
            .derive(
                &SecretKey::from_bytes(a).public(),
                0,
                &context,
                &share_key_info(sender, recipient),
            )
            .unwrap();
        assert_eq!((*from_a, *from_b), (want, want));
    }
    // The two directions of a pair have different keys.
    assert_ne!(cases[0]["key"], cases[1]["key"]);
}

fn seed(hex_str: &str) -> [u8; 32] {
    let mut s = [0u8; 32];
    hex::decode_to_slice(hex_str, &mut s).unwrap();
    s
}

#[test]
fn prg_vectors_match() {
    let doc = read_json(&vector_path("secagg.json"));
    let cases = doc["prg"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let s = seed(c["seed"].as_str().unwrap());
        let offset = c["offset"].as_u64().unwrap();
        let want: Vec<u64> = serde_json::from_value(c["words"].clone()).unwrap();
        let got: Vec<u64> = match c["width"].as_u64().unwrap() {
            32 => {
                let mut out = vec![0u32; want.len()];
                prg::expand_into(&s, offset, &mut out);
                out.into_iter().map(u64::from).collect()
            }
            _ => {
                let mut out = vec![0u64; want.len()];
                prg::expand_into(&s, offset, &mut out);
                out
            }
        };
        assert_eq!(got, want, "{c}");
    }
}

#[test]
fn fixed_point_vectors_match() {
    let doc = read_json(&vector_path("secagg.json"));
    let cases = doc["fixed_point"].as_array().unwrap();
    assert!(cases.len() >= 3);
    for c in cases {
        let fp: FixedPoint = serde_json::from_value(c["config"].clone()).unwrap();
        let update: Vec<f32> = serde_json::from_value(c["update"].clone()).unwrap();
        let weight = c["weight"].as_u64().unwrap();
        let s = seed(c["rounding_seed"].as_str().unwrap());
        let want: Vec<u64> = serde_json::from_value(c["words"].clone()).unwrap();
        let got: Vec<u64> = match c["width"].as_u64().unwrap() {
            32 => fp
                .encode::<u32>(&update, weight, &s)
                .unwrap()
                .into_iter()
                .map(u64::from)
                .collect(),
            _ => fp.encode::<u64>(&update, weight, &s).unwrap(),
        };
        assert_eq!(got, want, "{c}");
    }
}

#[test]
fn prg_matches_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: no openssl on the PATH");
        return;
    }
    let doc = read_json(&vector_path("secagg.json"));
    for c in doc["prg"].as_array().unwrap() {
        let s = seed(c["seed"].as_str().unwrap());
        let width = c["width"].as_u64().unwrap() as usize / 8;
        let offset = c["offset"].as_u64().unwrap() as usize;
        let words: Vec<u64> = serde_json::from_value(c["words"].clone()).unwrap();
        let len = (offset + words.len()) * width;
        let mut child = Command::new("openssl")
            .args([
                "enc",
                "-aes-128-ctr",
                "-nosalt",
                "-K",
                &hex::encode(&s[..16]),
                "-iv",
                &hex::encode(&s[16..]),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&vec![0u8; len])
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let ks = &out.stdout[offset * width..];
        let from_openssl: Vec<u64> = ks
            .chunks_exact(width)
            .map(|b| {
                let mut w = [0u8; 8];
                w[..width].copy_from_slice(b);
                u64::from_le_bytes(w)
            })
            .collect();
        assert_eq!(from_openssl, words, "seed {}", c["seed"]);
    }
}

/// Regenerates the vectors: `cargo test -p din-core --test secagg_vectors -- --ignored`.
#[test]
#[ignore = "writes tests/vectors/secagg.json"]
fn write_secagg_vectors() {
    let seeds = [
        [0u8; 32],
        [0x5a; 32],
        core::array::from_fn::<u8, 32, _>(|i| i as u8),
        [0xff; 32],
    ];
    let mut prg_cases = Vec::new();
    for (i, s) in seeds.iter().enumerate() {
        for (width, offset) in [(32u64, 0u64), (64, 0), (32, 1000 + i as u64 * 4099)] {
            let words: Vec<u64> = if width == 32 {
                let mut out = vec![0u32; 8];
                prg::expand_into(s, offset, &mut out);
                out.into_iter().map(u64::from).collect()
            } else {
                let mut out = vec![0u64; 8];
                prg::expand_into(s, offset, &mut out);
                out
            };
            prg_cases.push(serde_json::json!({"seed": hex::encode(s), "width": width, "offset": offset, "words": words}));
        }
    }
    let updates: Vec<(FixedPoint, Vec<f32>, u64)> = vec![
        (
            FixedPoint::default(),
            vec![
                0.0,
                1.0,
                -1.0,
                0.123_456_7,
                -0.000_1,
                7.999,
                -8.0,
                9.5,
                -100.0,
                3.3e-5,
            ],
            600,
        ),
        (
            FixedPoint {
                clip: 1.0,
                scale_bits: 16,
                max_weight: 50,
                max_clients: 10,
            },
            vec![0.5, -0.25, 0.999_99, -1.5, 1.0e-6, 0.333_333],
            1,
        ),
        (
            FixedPoint {
                clip: 100.0,
                scale_bits: 24,
                max_weight: 1000,
                max_clients: 5,
            },
            vec![-99.5, 42.000_001, 0.0, 1.0e-7, 100.0],
            999,
        ),
    ];
    let mut fp_cases = Vec::new();
    for (i, (fp, u, w)) in updates.into_iter().enumerate() {
        let s = seeds[i];
        let width = fp.width().unwrap().bits();
        let words: Vec<u64> = if width == 32 {
            fp.encode::<u32>(&u, w, &s)
                .unwrap()
                .into_iter()
                .map(u64::from)
                .collect()
        } else {
            fp.encode::<u64>(&u, w, &s).unwrap()
        };
        fp_cases.push(serde_json::json!({"config": fp, "update": u, "weight": w, "rounding_seed": hex::encode(s), "width": width, "words": words}));
    }
    let mut key_cases = Vec::new();
    for (i, (sender, recipient)) in [(0u32, 1u32), (1, 0), (3, 17), (17, 3)]
        .into_iter()
        .enumerate()
    {
        let a = core::array::from_fn::<u8, 32, _>(|b| (b * 7 + i / 2) as u8);
        let b = core::array::from_fn::<u8, 32, _>(|b| (255 - b * 3 - i / 2) as u8);
        let context = core::array::from_fn::<u8, 32, _>(|b| (b as u8) ^ 0xa5);
        let key = SecretKey::from_bytes(a)
            .derive(
                &SecretKey::from_bytes(b).public(),
                1,
                &context,
                &share_key_info(sender, recipient),
            )
            .unwrap();
        key_cases.push(serde_json::json!({"a_secret": hex::encode(a), "b_secret": hex::encode(b), "context": hex::encode(context), "sender": sender, "recipient": recipient, "key": hex::encode(*key)}));
    }
    let doc = serde_json::json!({
        "description": "din-core secure aggregation vectors (protocol v2). prg: words offset..offset+8 of the mask of a 32-byte seed: AES-128-CTR, key = seed[0..16], initial counter block = seed[16..32] (128-bit big-endian increment), keystream read as little-endian u32/u64 words; checked against `openssl enc -aes-128-ctr`. fixed_point: FixedPoint::encode of update with weight and rounding seed (stochastic rounding with the u32 words of the same PRG; last word is the weight; values are two's complement mod 2^width). share_key: the ChaCha20-Poly1305 key of the shares `sender` sends `recipient`, HKDF-SHA256(salt = context, ikm = X25519(a_secret, public(b_secret)), info = 'din/secagg/v2/share-key' || sender u32 BE || recipient u32 BE); the two directions of a pair have independent keys, each encrypting one message under the all-zero nonce.",
        "prg": prg_cases,
        "fixed_point": fp_cases,
        "share_key": key_cases,
    });
    std::fs::write(
        vector_path("secagg.json"),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}
