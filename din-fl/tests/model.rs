//! Models on the test backend: parameter round trips through the visitor/mapper, model
//! bytes, manifest checks, and local training that learns and is deterministic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{TestAutodiff, TestBackend};
use din_fl::burn::module::AutodiffModule;
use din_fl::data::Dataset;
use din_fl::rng::SeededRng;
use din_fl::{Architecture, Error, Net, OptimizerKind, TrainConfig, evaluate, params, train};

fn device() -> din_fl::burn::tensor::Device<TestBackend> {
    Default::default()
}

/// A separable 3-class problem: class = which of three feature groups is largest.
fn blobs(n: usize, seed: u64) -> Dataset {
    let mut rng = SeededRng::new(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let c = (i % 3) as u32;
        for f in 0..12 {
            let centre = if f / 4 == c as usize { 2.0 } else { 0.0 };
            x.push((centre + 0.5 * rng.normal()) as f32);
        }
        y.push(c);
    }
    Dataset::new(x, y, 12, 3, vec![12]).unwrap()
}

#[test]
fn flatten_unflatten_round_trips_exactly() {
    for arch in [
        Architecture::LogReg,
        Architecture::Mlp(vec![16, 8]),
        Architecture::Cnn,
    ] {
        let shape = if arch == Architecture::Cnn {
            vec![1, 28, 28]
        } else {
            vec![784]
        };
        let a: Net<TestBackend> = Net::new(&arch, &shape, 10, &device()).unwrap();
        let (values, manifest) = params::flatten(&a).unwrap();
        assert_eq!(values.len() as u64, manifest.num_elements().unwrap());
        let b: Net<TestBackend> = Net::new(&arch, &shape, 10, &device()).unwrap();
        let b = params::unflatten_checked(b, &values, &manifest).unwrap();
        let (back, manifest_b) = params::flatten(&b).unwrap();
        assert_eq!(manifest, manifest_b);
        assert!(
            values
                .iter()
                .zip(&back)
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{arch:?}"
        );
        // Bytes are deterministic and load back.
        let bytes = params::to_bytes(&b).unwrap();
        assert_eq!(bytes, params::to_bytes(&b).unwrap());
        let c: Net<TestBackend> = Net::new(&arch, &shape, 10, &device()).unwrap();
        let c = params::from_bytes(c, &bytes).unwrap();
        assert_eq!(params::flatten(&c).unwrap().0, values);
        // Without a module: the same manifest and values, and the same bytes back.
        let (m2, v2) = params::decode_model(&bytes).unwrap();
        assert_eq!((m2.clone(), v2.clone()), (manifest.clone(), values.clone()));
        assert_eq!(params::encode_model(&m2, &v2), bytes);
        assert!(params::decode_model(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(params::decode_model(&longer).is_err());
    }
}

#[test]
fn clones_of_a_new_model_share_its_parameters() {
    // Burn initializes lazily; a clone of an unmaterialized parameter draws its own values.
    for arch in [
        Architecture::LogReg,
        Architecture::Mlp(vec![8]),
        Architecture::Cnn,
    ] {
        let shape = if arch == Architecture::Cnn {
            vec![1, 28, 28]
        } else {
            vec![16]
        };
        let a: Net<TestBackend> = Net::new(&arch, &shape, 3, &device()).unwrap();
        let b = a.clone();
        assert_eq!(
            params::flatten(&b).unwrap().0,
            params::flatten(&a).unwrap().0,
            "{arch:?}"
        );
    }
}

#[test]
fn mlp_manifest_names_and_shapes() {
    let m: Net<TestBackend> =
        Net::new(&Architecture::Mlp(vec![128]), &[784], 10, &device()).unwrap();
    let manifest = params::manifest(&m).unwrap();
    let names: Vec<(&str, &[u64])> = manifest
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.shape.as_slice()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("layers.0.weight", &[784u64, 128][..]),
            ("layers.0.bias", &[128][..]),
            ("layers.1.weight", &[128, 10][..]),
            ("layers.1.bias", &[10][..]),
        ]
    );
    assert_eq!(manifest.num_elements().unwrap(), 101_770);
}

#[test]
fn wrong_parameters_are_typed_errors() {
    let m: Net<TestBackend> = Net::new(&Architecture::LogReg, &[4], 2, &device()).unwrap();
    let (values, manifest) = params::flatten(&m).unwrap();
    assert!(matches!(
        params::unflatten(m.clone(), &values[1..]),
        Err(Error::ParameterMismatch(_))
    ));
    let mut nan = values.clone();
    nan[0] = f32::NAN;
    assert!(matches!(
        params::unflatten(m.clone(), &nan),
        Err(Error::ParameterMismatch(_))
    ));
    let other: Net<TestBackend> =
        Net::new(&Architecture::Mlp(vec![3]), &[4], 2, &device()).unwrap();
    let (ov, om) = params::flatten(&other).unwrap();
    assert!(matches!(
        params::unflatten_checked(m.clone(), &ov, &om),
        Err(Error::ParameterMismatch(_))
    ));
    let mut renamed = manifest.clone();
    renamed.params[0].name = "other".into();
    assert!(
        matches!(params::unflatten_checked(m.clone(), &values, &renamed), Err(Error::ParameterMismatch(msg)) if msg.contains("other"))
    );
    let bytes = params::to_bytes(&m).unwrap();
    assert!(params::from_bytes(m.clone(), &bytes[..bytes.len() - 1]).is_err());
    assert!(params::from_bytes(m.clone(), b"nope").is_err());
    assert!(matches!(
        params::from_bytes(other, &bytes),
        Err(Error::ParameterMismatch(_))
    ));
    assert!(Net::<TestBackend>::new(&Architecture::Cnn, &[784], 10, &device()).is_err());
    assert!(
        "mlp:0".parse::<Architecture>().is_err() && "transformer".parse::<Architecture>().is_err()
    );
}

#[test]
fn training_learns_and_is_deterministic() {
    let data = blobs(600, 1);
    let test = blobs(300, 2);
    // Burn's CPU RNG is process-wide and tests run in parallel, so the initial model is
    // built once; what must be deterministic is training from it with a given seed.
    let initial: Net<TestAutodiff> =
        Net::new(&Architecture::Mlp(vec![16]), &[12], 3, &device()).unwrap();
    let run = |optimizer| {
        let m = initial.clone();
        let config = TrainConfig {
            epochs: 3,
            batch_size: 32,
            learning_rate: 0.05,
            optimizer,
            seed: 9,
        };
        let mut steps = 0;
        let (m, loss) = train(m, &data, &config, &device(), |p| {
            assert!(p.loss.is_finite());
            steps += 1;
        })
        .unwrap();
        assert_eq!(steps, 3 * 600usize.div_ceil(32));
        (
            params::flatten(&m).unwrap().0,
            loss,
            evaluate(&m.valid(), &test, &device()).unwrap(),
        )
    };
    for optimizer in [OptimizerKind::Sgd { momentum: 0.9 }, OptimizerKind::Adam] {
        let (a, loss, metrics) = run(optimizer);
        assert!(metrics.accuracy > 0.95, "{optimizer:?}: {metrics:?}");
        assert!(loss < 0.3, "{loss}");
        assert!(metrics.f1 > 0.95);
        let (b, ..) = run(optimizer);
        assert_eq!(a, b, "same seed, same parameters");
    }
}

#[test]
fn bad_training_settings_are_typed_errors() {
    let data = blobs(30, 1);
    let m: Net<TestAutodiff> = Net::new(&Architecture::LogReg, &[12], 3, &device()).unwrap();
    for config in [
        TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        },
        TrainConfig {
            batch_size: 0,
            ..TrainConfig::default()
        },
        TrainConfig {
            learning_rate: -1.0,
            ..TrainConfig::default()
        },
        TrainConfig {
            optimizer: OptimizerKind::Sgd { momentum: 1.5 },
            ..TrainConfig::default()
        },
    ] {
        assert!(matches!(
            train(m.clone(), &data, &config, &device(), |_| {}),
            Err(Error::InvalidArgument(_))
        ));
    }
    let empty = data.subset(&[]);
    assert!(matches!(
        train(
            m.clone(),
            &empty,
            &TrainConfig::default(),
            &device(),
            |_| {}
        ),
        Err(Error::Empty(_))
    ));
    let diverge = TrainConfig {
        epochs: 3,
        batch_size: 8,
        learning_rate: 1e38,
        optimizer: OptimizerKind::Sgd { momentum: 0.0 },
        ..TrainConfig::default()
    };
    assert!(
        matches!(train(m, &data, &diverge, &device(), |_| {}), Err(Error::InvalidArgument(msg)) if msg.contains("diverged"))
    );
}
