//! Median scoring against BlockFlow's own published score matrices and outputs
//! (`data/blockflow` of the repository, Adult experiments): `model_scores` are the raw lower
//! medians m_k, `auditor_scores` the raw qualities d_e, `overall_scores` min(m', d').
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};

use din_core::scoring::{SCORE_ONE, blockflow_overall, median_scores, median_scores_fixed};

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/blockflow")
}

fn read(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split(',')
                .filter(|x| !x.trim().is_empty())
                .map(|x| x.trim().parse::<f64>().unwrap())
                .collect()
        })
        .collect()
}

fn experiments() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for split in std::fs::read_dir(data_root()).expect("data/blockflow") {
        for run in std::fs::read_dir(split.unwrap().path()).unwrap() {
            out.push(run.unwrap().path());
        }
    }
    out.sort();
    out
}

#[test]
fn reproduces_blockflow_scores_on_every_published_round() {
    let mut rounds = 0;
    for dir in experiments() {
        for r in 1.. {
            let matrix = dir.join(format!("score_matrix_dp_round_{r}.csv"));
            if !matrix.exists() {
                break;
            }
            let s = read(&matrix);
            let m = read(&dir.join(format!("model_scores_dp_round_{r}.csv")))[0].clone();
            let d: Vec<f64> = read(&dir.join(format!("auditor_scores_dp_round_{r}.csv")))
                .into_iter()
                .map(|row| row[0])
                .collect();
            let overall = read(&dir.join(format!("overall_scores_dp_round_{r}.csv")))[0].clone();

            let ours = median_scores(&s).unwrap();
            let close = |a: &[f64], b: &[f64]| {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
            };
            assert!(
                close(&ours.medians, &m),
                "{} round {r}: medians",
                dir.display()
            );
            assert!(
                close(&ours.quality, &d),
                "{} round {r}: qualities",
                dir.display()
            );
            assert!(
                close(&blockflow_overall(&s).unwrap(), &overall),
                "{} round {r}: overall",
                dir.display()
            );

            // The contract's fixed point agrees to within its resolution.
            let fixed: Vec<Vec<u32>> = s
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|x| (x * f64::from(SCORE_ONE)).round() as u32)
                        .collect()
                })
                .collect();
            let (fm, fd) = median_scores_fixed(&fixed).unwrap();
            for (a, b) in fm.iter().zip(&m) {
                assert!((f64::from(*a) / f64::from(SCORE_ONE) - b).abs() < 1e-6);
            }
            for (a, b) in fd.iter().zip(&d) {
                assert!((f64::from(*a) / f64::from(SCORE_ONE) - b).abs() < 1e-5);
            }
            rounds += 1;
        }
    }
    // Every published matrix was checked (9 of them in data/blockflow).
    let published = experiments()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("score_matrix")
        })
        .count();
    assert_eq!(rounds, published);
    assert!(rounds >= 9, "read only {rounds} rounds");
}
