//! Aggregation: FedAvg against an f64 reference, hierarchical = flat FedAvg, robust
//! aggregators, determinism, and typed errors for bad inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use din_fl::Error;
use din_fl::aggregate::{coordinate_median, fedavg, hierarchical_fedavg, trimmed_mean};
use din_fl::rng::SeededRng;
use proptest::prelude::*;

fn vectors(n: usize, d: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SeededRng::new(seed);
    (0..n)
        .map(|_| (0..d).map(|_| rng.normal() as f32).collect())
        .collect()
}

fn reference(v: &[Vec<f32>], w: &[f64]) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    (0..v[0].len())
        .map(|j| {
            v.iter()
                .zip(w)
                .map(|(x, wi)| f64::from(x[j]) * wi)
                .sum::<f64>()
                / total
        })
        .collect()
}

#[test]
fn fedavg_matches_f64_reference() {
    for (n, d) in [(1, 5), (3, 10_000), (7, 4097), (100, 20_000)] {
        let v = vectors(n, d, n as u64);
        let w: Vec<f64> = (0..n).map(|i| 50.0 + (i * 37 % 450) as f64).collect();
        let refs: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
        let got = fedavg(&refs, &w).unwrap();
        for (g, r) in got.iter().zip(reference(&v, &w)) {
            assert!(
                (f64::from(*g) - r).abs() < 1e-5 * (1.0 + r.abs()),
                "{g} vs {r}"
            );
        }
    }
}

#[test]
fn fedavg_is_bit_exact_across_thread_counts() {
    let v = vectors(13, 50_000, 9);
    let w: Vec<f64> = (1..=13).map(f64::from).collect();
    let refs: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
    let a = fedavg(&refs, &w).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let b = pool.install(|| fedavg(&refs, &w).unwrap());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn hierarchical_equals_flat() {
    let v = vectors(30, 3000, 4);
    let w: Vec<f64> = (0..30).map(|i| 10.0 + f64::from(i)).collect();
    let refs: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
    let flat = fedavg(&refs, &w).unwrap();
    let groups: Vec<(Vec<&[f32]>, Vec<f64>)> = [0..7, 7..19, 19..30]
        .into_iter()
        .map(|r| (refs[r.clone()].to_vec(), w[r].to_vec()))
        .collect();
    let hier = hierarchical_fedavg(&groups).unwrap();
    for (a, b) in flat.iter().zip(&hier) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn robust_aggregators_resist_an_outlier() {
    let honest = [1.0f32, 2.0, 3.0];
    let attacker = [1e30f32, -1e30, 1e30];
    let v: Vec<&[f32]> = vec![&honest, &honest, &attacker, &honest, &honest];
    assert_eq!(coordinate_median(&v).unwrap(), honest.to_vec());
    assert_eq!(trimmed_mean(&v, 1).unwrap(), honest.to_vec());
    let even: Vec<&[f32]> = vec![&[1.0], &[2.0], &[4.0], &[100.0]];
    assert_eq!(coordinate_median(&even).unwrap(), vec![3.0]);
    assert!(matches!(
        trimmed_mean(&even, 2),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn bad_inputs_are_typed_errors() {
    let a = [1.0f32, 2.0];
    let short = [1.0f32];
    let nan = [1.0f32, f32::NAN];
    let inf = [f32::INFINITY, 0.0];
    assert!(matches!(fedavg(&[], &[]), Err(Error::Empty(_))));
    assert!(matches!(
        fedavg(&[&a, &short], &[1.0, 1.0]),
        Err(Error::LengthMismatch {
            index: 1,
            expected: 2,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        fedavg(&[&a, &nan], &[1.0, 1.0]),
        Err(Error::NonFinite {
            index: 1,
            position: 1,
            ..
        })
    ));
    assert!(matches!(
        fedavg(&[&inf, &a], &[0.0, 1.0]),
        Err(Error::NonFinite {
            index: 0,
            position: 0,
            ..
        })
    ));
    assert!(matches!(
        fedavg(&[&a], &[1.0, 2.0]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(matches!(
        fedavg(&[&a, &a], &[-1.0, 2.0]),
        Err(Error::InvalidWeight(_))
    ));
    assert!(matches!(
        fedavg(&[&a, &a], &[0.0, 0.0]),
        Err(Error::InvalidWeight(_))
    ));
    assert!(matches!(
        fedavg(&[&a, &a], &[f64::NAN, 1.0]),
        Err(Error::InvalidWeight(_))
    ));
    assert!(matches!(
        coordinate_median(&[&a, &nan]),
        Err(Error::NonFinite { .. })
    ));
    assert!(matches!(hierarchical_fedavg(&[]), Err(Error::Empty(_))));
}

proptest! {
    #[test]
    fn fedavg_of_identical_updates_is_that_update(n in 1usize..20, d in 1usize..300, seed in any::<u64>()) {
        let v = vectors(1, d, seed).remove(0);
        let refs: Vec<&[f32]> = (0..n).map(|_| v.as_slice()).collect();
        let w: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let got = fedavg(&refs, &w).unwrap();
        for (g, x) in got.iter().zip(&v) {
            prop_assert!((g - x).abs() <= 1e-5 * (1.0 + x.abs()));
        }
    }
}
