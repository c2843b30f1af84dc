//! Loaders on the real data the repository carries (`data/`) and on corrupted copies;
//! partitioners.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use din_fl::Error;
use din_fl::data::partition::{Partition, partition};
use din_fl::data::{adult, mnist};

/// A path under the repository's `data/` folder (always present: it is committed).
fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(rel)
}

#[test]
fn mnist_test_split_loads() {
    check_mnist(&mnist::load_test_split(data("mnist")).unwrap());
}

#[test]
fn embedded_mnist_is_the_committed_split() {
    let embedded = mnist::embedded_test_split().unwrap();
    check_mnist(&embedded);
    let from_files = mnist::load_test_split(data("mnist")).unwrap();
    assert_eq!(embedded.labels, from_files.labels);
    assert_eq!(embedded.features, from_files.features);
}

fn check_mnist(d: &din_fl::data::Dataset) {
    assert_eq!(d.len(), 10_000);
    assert_eq!(d.n_features, 784);
    assert_eq!(d.sample_shape, vec![1, 28, 28]);
    assert!(d.features.iter().all(|x| (0.0..=1.0).contains(x)));
    let mut counts = [0usize; 10];
    for &l in &d.labels {
        counts[l as usize] += 1;
    }
    // The canonical t10k label counts.
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    let (train, test) = d.split(0.2, 7).unwrap();
    assert_eq!((train.len(), test.len()), (8000, 2000));
}

#[test]
fn corrupted_mnist_files_are_typed_errors() {
    let dir = data("mnist");
    let tmp = tempfile::tempdir().unwrap();
    let labels = dir.join(mnist::TEST_LABELS);
    // Truncated gzip stream.
    let raw = std::fs::read(dir.join(mnist::TEST_IMAGES)).unwrap();
    let cut = tmp.path().join("cut.gz");
    std::fs::write(&cut, &raw[..raw.len() / 2]).unwrap();
    assert!(matches!(
        mnist::load(&cut, &labels),
        Err(Error::Data { .. })
    ));
    // Wrong magic, uncompressed.
    let bad = tmp.path().join("bad.idx");
    std::fs::write(&bad, [0u8, 0, 8, 1, 0, 0, 0, 1, 5]).unwrap();
    assert!(
        matches!(mnist::load(&bad, &labels), Err(Error::Data { reason, .. }) if reason.contains("magic"))
    );
    // Payload shorter than the header says.
    let short = tmp.path().join("short.idx");
    std::fs::write(
        &short,
        [0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3],
    )
    .unwrap();
    assert!(
        matches!(mnist::load(&short, &labels), Err(Error::Data { reason, .. }) if reason.contains("payload"))
    );
    // Count mismatch between images and labels.
    let two = tmp.path().join("two.idx");
    std::fs::write(
        &two,
        [
            [0u8, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1].as_slice(),
            &[7],
        ]
        .concat(),
    )
    .unwrap();
    assert!(
        matches!(mnist::load(&two, &labels), Err(Error::Data { reason, .. }) if reason.contains("labels for 1 images"))
    );
    assert!(matches!(
        mnist::load(tmp.path().join("missing"), &labels),
        Err(Error::Io { .. })
    ));
}

#[test]
fn adult_loads_with_training_statistics_only() {
    let path = data("adult/adult.csv");
    let (train, test) = adult::load(&path, 0.2, 1).unwrap();
    assert_eq!(train.len() + test.len(), 32_561);
    assert_eq!(test.len(), 6512);
    assert_eq!(train.n_features, test.n_features);
    // Standardized with training statistics: the training mean of age is ~0, std ~1.
    let ages: Vec<f64> = (0..train.len())
        .map(|i| f64::from(train.features[i * train.n_features]))
        .collect();
    let mean = ages.iter().sum::<f64>() / ages.len() as f64;
    let var = ages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / ages.len() as f64;
    assert!(
        mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-6,
        "{mean} {var}"
    );
    let positives = train.labels.iter().filter(|&&l| l == 1).count() as f64 / train.len() as f64;
    assert!((0.2..0.3).contains(&positives), "{positives}");
}

#[test]
fn malformed_adult_files_are_typed_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "age, workclass, fnlwgt, education, education-num, marital-status, occupation, relationship, race, sex, capital-gain, capital-loss, hours-per-week, native-country, Salary\n";
    let good = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n";
    for (body, words) in [
        ("", "empty"),
        ("a,b\n", "header"),
        (&*format!("{header}39, State-gov\n"), "fields"),
        (
            &*format!("{header}{}", good.replace("77516", "many")),
            "not a number",
        ),
        (
            &*format!("{header}{}", good.replace("<=50K", "rich")),
            "label",
        ),
        (header, "no data rows"),
    ] {
        let p = tmp.path().join("a.csv");
        std::fs::write(&p, body).unwrap();
        match adult::load(&p, 0.5, 0) {
            Err(Error::Data { reason, .. }) => {
                assert!(reason.contains(words), "{reason} should mention {words}")
            }
            other => panic!("{words}: {:?}", other.map(|_| ())),
        }
    }
    let p = tmp.path().join("b.csv");
    std::fs::write(&p, format!("{header}{good}{good}")).unwrap();
    assert!(matches!(
        adult::load(&p, 0.0, 0),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn partitions_cover_every_sample_once() {
    let labels: Vec<u32> = (0..5000).map(|i| (i * 7 % 10) as u32).collect();
    for how in [
        Partition::Iid,
        Partition::Dirichlet(0.5),
        Partition::Dirichlet(100.0),
        Partition::Quantity(1.0),
    ] {
        let parts = partition(&labels, 10, 10, how, 3).unwrap();
        let mut all: Vec<usize> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..5000).collect::<Vec<_>>(), "{how:?}");
        assert!(parts.iter().all(|p| !p.is_empty()));
        assert_eq!(parts, partition(&labels, 10, 10, how, 3).unwrap(), "seeded");
    }
    let iid = partition(&labels, 10, 10, Partition::Iid, 1).unwrap();
    assert!(iid.iter().all(|p| p.len() == 500));
    // Strong skew: some participant is dominated by few classes.
    let skew = partition(&labels, 10, 10, Partition::Dirichlet(0.1), 1).unwrap();
    let max_share = skew
        .iter()
        .map(|p| {
            let mut c = [0usize; 10];
            p.iter().for_each(|&i| c[labels[i] as usize] += 1);
            *c.iter().max().unwrap() as f64 / p.len() as f64
        })
        .fold(0.0, f64::max);
    assert!(max_share > 0.5, "{max_share}");
    assert!(matches!(
        partition(&labels, 10, 0, Partition::Iid, 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        partition(&labels[..3], 10, 4, Partition::Iid, 1),
        Err(Error::InvalidArgument(_))
    ));
    assert!("dirichlet:-1".parse::<Partition>().is_err() && "nope".parse::<Partition>().is_err());
    assert_eq!(
        "dirichlet:0.5".parse::<Partition>().unwrap(),
        Partition::Dirichlet(0.5)
    );
}

/// A data set survives its byte format, and every truncation or corruption of the bytes
/// is a typed error, never a panic or a wrong data set.
#[test]
fn data_sets_round_trip_through_bytes_and_reject_bad_bytes() {
    use din_fl::data::Dataset;
    let d = Dataset::new(
        (0..24).map(|v| v as f32 / 7.0).collect(),
        vec![0, 2, 1, 2, 0, 1],
        4,
        3,
        vec![2, 2],
    )
    .unwrap();
    let bytes = d.to_bytes();
    assert_eq!(Dataset::from_bytes(&bytes).unwrap(), d);
    for cut in 0..bytes.len() {
        assert!(Dataset::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Dataset::from_bytes(&longer).is_err());
    let mut bad_label = bytes.clone();
    let n = bad_label.len();
    bad_label[n - 4] = 9;
    assert!(matches!(
        Dataset::from_bytes(&bad_label),
        Err(Error::InvalidArgument(_))
    ));
    let mut huge = bytes;
    huge[5..13].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(Dataset::from_bytes(&huge).is_err());
}
