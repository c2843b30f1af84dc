//! `din.Model`: a din-fl classifier (logistic regression, MLP, CNN) trained from numpy.

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use din_fl::burn::module::AutodiffModule;
use din_fl::burn::tensor::backend::Backend;
use din_fl::data::Dataset;
use din_fl::model::{Architecture, Net};
use din_fl::train::{OptimizerKind, TrainConfig, evaluate, train};
use din_fl::{backend::CpuAutodiff, params};

use crate::errors::{InvalidInputError, fl_err};

/// A classifier over samples of `sample_shape` and `n_classes` classes, on the CPU.
///
/// Build one with `Model.logistic_regression`, `Model.mlp` or `Model.cnn`; train with
/// `fit`, measure with `evaluate`, exchange parameters as a flat float32 vector with
/// `get_parameters` / `set_parameters` (din-fl's visitor order, the vector FedAvg and
/// secure aggregation work on).
#[pyclass(module = "din._din")]
pub(crate) struct Model {
    net: Option<Net<CpuAutodiff>>,
    sample_shape: Vec<usize>,
    n_classes: usize,
    arch: String,
    architecture: Architecture,
}

pub(crate) fn dataset(
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    sample_shape: &[usize],
    n_classes: usize,
) -> PyResult<Dataset> {
    let x = x.extract::<PyReadonlyArray2<'_, f32>>().map_err(|_| {
        InvalidInputError::new_err("x must be a 2-D float32 array (samples x features)")
    })?;
    let y = y
        .extract::<PyReadonlyArray1<'_, i64>>()
        .map_err(|_| InvalidInputError::new_err("y must be a 1-D int64 array of labels"))?;
    let (n, f) = x.as_array().dim();
    let n_features: usize = sample_shape.iter().product();
    if f != n_features {
        return Err(InvalidInputError::new_err(format!(
            "x has {f} features per sample, the model expects {n_features}"
        )));
    }
    let labels: Vec<u32> = y
        .as_array()
        .iter()
        .map(|&l| {
            u32::try_from(l)
                .ok()
                .filter(|&l| (l as usize) < n_classes)
                .ok_or_else(|| {
                    InvalidInputError::new_err(format!("label {l} is not in 0..{n_classes}"))
                })
        })
        .collect::<PyResult<_>>()?;
    if labels.len() != n {
        return Err(InvalidInputError::new_err(format!(
            "{n} samples but {} labels",
            labels.len()
        )));
    }
    let features: Vec<f32> = x.as_array().iter().copied().collect();
    if features.iter().any(|v| !v.is_finite()) {
        return Err(InvalidInputError::new_err("x contains NaN or infinity"));
    }
    Dataset::new(
        features,
        labels,
        n_features,
        n_classes,
        sample_shape.to_vec(),
    )
    .map_err(fl_err)
}

impl Model {
    fn build(
        arch: Architecture,
        name: String,
        sample_shape: Vec<usize>,
        n_classes: usize,
        seed: u64,
    ) -> PyResult<Self> {
        let device = Default::default();
        CpuAutodiff::seed(&device, seed);
        let net = Net::new(&arch, &sample_shape, n_classes, &device).map_err(fl_err)?;
        Ok(Self {
            net: Some(net),
            sample_shape,
            n_classes,
            arch: name,
            architecture: arch,
        })
    }

    /// The architecture, sample shape and class count (what a role needs to rebuild
    /// models of this kind from flat parameters).
    pub(crate) fn spec(&self) -> (Architecture, Vec<usize>, usize) {
        (
            self.architecture.clone(),
            self.sample_shape.clone(),
            self.n_classes,
        )
    }

    /// The model in din-fl's file format (the genesis model a task starts from).
    pub(crate) fn file_bytes(&self) -> PyResult<Vec<u8>> {
        params::to_bytes(self.net()?).map_err(fl_err)
    }

    fn net(&self) -> PyResult<&Net<CpuAutodiff>> {
        self.net.as_ref().ok_or_else(|| {
            crate::errors::TrainingError::new_err("the model was lost in a failed call")
        })
    }
}

#[pymethods]
impl Model {
    /// Multinomial logistic regression over `n_features` inputs.
    #[staticmethod]
    #[pyo3(signature = (n_features, n_classes, *, seed = 0))]
    fn logistic_regression(n_features: usize, n_classes: usize, seed: u64) -> PyResult<Self> {
        Self::build(
            Architecture::LogReg,
            "logreg".into(),
            vec![n_features],
            n_classes,
            seed,
        )
    }

    /// A multilayer perceptron with ReLU hidden layers of `hidden` widths.
    #[staticmethod]
    #[pyo3(signature = (n_features, n_classes, hidden = vec![128], *, seed = 0))]
    fn mlp(n_features: usize, n_classes: usize, hidden: Vec<usize>, seed: u64) -> PyResult<Self> {
        let name = format!("mlp:{hidden:?}");
        Self::build(
            Architecture::Mlp(hidden),
            name,
            vec![n_features],
            n_classes,
            seed,
        )
    }

    /// A LeNet-5-style CNN for square single-channel images of `side` x `side` pixels
    /// (x rows are the flattened images).
    #[staticmethod]
    #[pyo3(signature = (side, n_classes, *, seed = 0))]
    fn cnn(side: usize, n_classes: usize, seed: u64) -> PyResult<Self> {
        Self::build(
            Architecture::Cnn,
            "cnn".into(),
            vec![1, side, side],
            n_classes,
            seed,
        )
    }

    /// Trains on `x` (float32, samples x features) and `y` (int64 labels) with SGD
    /// (momentum 0.9) or Adam; deterministic for a given seed. Returns the mean loss of
    /// the last epoch. Runs without the GIL.
    #[pyo3(signature = (x, y, *, epochs = 1, batch_size = 32, lr = 0.1, seed = 0, optimizer = "sgd"))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        epochs: usize,
        batch_size: usize,
        lr: f64,
        seed: u64,
        optimizer: &str,
    ) -> PyResult<f64> {
        let data = dataset(x, y, &self.sample_shape, self.n_classes)?;
        let optimizer = match optimizer {
            "sgd" => OptimizerKind::Sgd { momentum: 0.9 },
            "adam" => OptimizerKind::Adam,
            other => {
                return Err(InvalidInputError::new_err(format!(
                    "optimizer {other:?} is not \"sgd\" or \"adam\""
                )));
            }
        };
        let config = TrainConfig {
            epochs,
            batch_size,
            learning_rate: lr,
            optimizer,
            seed,
        };
        let net = self.net()?.clone();
        let device = Default::default();
        let (trained, loss) = py
            .detach(move || train(net, &data, &config, &device, |_| {}))
            .map_err(fl_err)?;
        self.net = Some(trained);
        Ok(loss)
    }

    /// Loss, accuracy and macro precision/recall/F1 on `x`, `y`, as a dict.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let data = dataset(x, y, &self.sample_shape, self.n_classes)?;
        let eval = self.net()?.valid();
        let device = Default::default();
        let m = py
            .detach(move || evaluate(&eval, &data, &device))
            .map_err(fl_err)?;
        let d = PyDict::new(py);
        d.set_item("loss", m.loss)?;
        d.set_item("accuracy", m.accuracy)?;
        d.set_item("precision", m.precision)?;
        d.set_item("recall", m.recall)?;
        d.set_item("f1", m.f1)?;
        d.set_item("confusion", m.confusion)?;
        Ok(d)
    }

    /// All parameters as one float32 vector (din-fl's visitor order).
    fn get_parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let (v, _) = params::flatten(self.net()?).map_err(fl_err)?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// Replaces all parameters from a float32 vector of the right length.
    fn set_parameters(&mut self, v: &Bound<'_, PyAny>) -> PyResult<()> {
        let v = v
            .extract::<PyReadonlyArray1<'_, f32>>()
            .map_err(|_| InvalidInputError::new_err("parameters must be a 1-D float32 array"))?;
        let values = v.as_array().to_vec();
        if values.iter().any(|x| !x.is_finite()) {
            return Err(InvalidInputError::new_err(
                "parameters contain NaN or infinity",
            ));
        }
        let net = self.net()?.clone();
        self.net = Some(params::unflatten(net, &values).map_err(fl_err)?);
        Ok(())
    }

    /// The model in din-fl's file format: parameter names, shapes and values (what a
    /// task stores by CID: its genesis model and every round's global model).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        Ok(pyo3::types::PyBytes::new(py, &self.file_bytes()?))
    }

    /// Loads parameters from din-fl's file format (e.g. a global model fetched by its
    /// CID); names and shapes must match this model (`EncodingError` for malformed bytes,
    /// `InvalidInputError` for a model of another shape).
    fn load_bytes(&mut self, data: &[u8]) -> PyResult<()> {
        let net = self.net()?.clone();
        self.net = Some(params::from_bytes(net, data).map_err(fl_err)?);
        Ok(())
    }

    /// Number of parameters.
    #[getter]
    fn num_parameters(&self) -> PyResult<usize> {
        Ok(params::flatten(self.net()?).map_err(fl_err)?.0.len())
    }

    fn __repr__(&self) -> String {
        format!(
            "Model({}, sample_shape={:?}, n_classes={})",
            self.arch, self.sample_shape, self.n_classes
        )
    }
}
