//! A model's parameters as one flat `f32` vector plus a manifest (names, shapes), and
//! back, walking the module with Burn's [`ModuleVisitor`] and [`ModuleMapper`] — the
//! form in which updates are masked, aggregated and stored by CID.
//!
//! Parameter names are the module path joined by dots (`layers.0.weight`); the order is
//! Burn's visiting order, the same for every instance of a model type.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use din_core::{DType, ParamManifest, ParamSpec};

use crate::{Error, Result};

/// Magic of [`to_bytes`]'s format.
pub const MODEL_MAGIC: &[u8; 4] = b"DINM";
/// Version of [`to_bytes`]'s format.
pub const MODEL_FORMAT_VERSION: u8 = 1;

#[derive(Default)]
struct Path(Vec<String>);

impl Path {
    fn enter(&mut self, name: &str, container: &str) {
        // Option containers do not call enter; enum variants would add their own name.
        if !container.starts_with("Enum:") {
            self.0.push(name.to_owned());
        }
    }
    fn exit(&mut self, container: &str) {
        if !container.starts_with("Enum:") {
            self.0.pop();
        }
    }
}

struct Flatten {
    path: Path,
    specs: Vec<ParamSpec>,
    values: Vec<f32>,
    with_values: bool,
}

impl<B: Backend> ModuleVisitor<B> for Flatten {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, container_type: &str) {
        self.path.exit(container_type);
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let tensor = param.val();
        self.specs.push(ParamSpec {
            name: self.path.0.join("."),
            shape: tensor.dims().iter().map(|&d| d as u64).collect(),
        });
        if self.with_values {
            let data = tensor.into_data().convert::<f32>();
            self.values.extend(data.iter::<f32>());
        }
    }
}

struct Materialize;

impl<B: Backend> ModuleVisitor<B> for Materialize {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
    fn visit_int<const D: usize>(&mut self, param: &Param<Tensor<B, D, burn::tensor::Int>>) {
        let _ = param.val();
    }
    fn visit_bool<const D: usize>(&mut self, param: &Param<Tensor<B, D, burn::tensor::Bool>>) {
        let _ = param.val();
    }
}

/// Initializes every lazily initialized parameter of `module` now.
///
/// Burn creates parameters lazily, and a *clone* of an uninitialized parameter draws
/// its own random values on first use. Federated learning clones the global model for
/// every Participant, so call this (as [`crate::Net::new`] does) before the first
/// clone, or the Participants start from different models.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    module.visit(&mut Materialize);
}

fn walk<B: Backend, M: Module<B>>(module: &M, with_values: bool) -> Flatten {
    let mut v = Flatten {
        path: Path::default(),
        specs: Vec::new(),
        values: Vec::new(),
        with_values,
    };
    module.visit(&mut v);
    v
}

/// The manifest of `module`'s float parameters (dtype f32).
///
/// # Errors
/// [`Error::Core`] when the manifest is invalid (e.g. duplicate names).
pub fn manifest<B: Backend, M: Module<B>>(module: &M) -> Result<ParamManifest> {
    Ok(ParamManifest::new(DType::F32, walk(module, false).specs)?)
}

/// `module`'s float parameters as one flat vector, with their manifest.
///
/// # Errors
/// As [`manifest`].
pub fn flatten<B: Backend, M: Module<B>>(module: &M) -> Result<(Vec<f32>, ParamManifest)> {
    let v = walk(module, true);
    Ok((v.values, ParamManifest::new(DType::F32, v.specs)?))
}

struct Unflatten<'a> {
    values: &'a [f32],
    offset: usize,
}

impl<B: Backend> ModuleMapper<B> for Unflatten<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, old, mapper) = param.consume();
        let shape = old.dims();
        let n: usize = shape.iter().product();
        let slice = self
            .values
            .get(self.offset..self.offset + n)
            .unwrap_or_default();
        self.offset += n;
        let device = old.device();
        let tensor = Tensor::<B, D>::from_data(TensorData::new(slice.to_vec(), shape), &device)
            .set_require_grad(old.is_require_grad());
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// `module` with its float parameters replaced by `values` (as [`flatten`] produced).
///
/// # Errors
/// [`Error::ParameterMismatch`] when `values` has the wrong length or holds NaN or
/// infinite values; the module is returned unchanged only on success.
pub fn unflatten<B: Backend, M: Module<B>>(module: M, values: &[f32]) -> Result<M> {
    let expected = walk(&module, false)
        .specs
        .iter()
        .map(|s| s.num_elements().unwrap_or(0) as usize)
        .sum::<usize>();
    if values.len() != expected {
        return Err(Error::ParameterMismatch(format!(
            "{} values for a model of {expected} parameters",
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|x| !x.is_finite()) {
        return Err(Error::ParameterMismatch(format!("value {i} is not finite")));
    }
    Ok(module.map(&mut Unflatten { values, offset: 0 }))
}

/// [`unflatten`] checked against a manifest: names and shapes must be the model's own.
///
/// # Errors
/// [`Error::ParameterMismatch`] naming the first parameter that differs, or as
/// [`unflatten`].
pub fn unflatten_checked<B: Backend, M: Module<B>>(
    module: M,
    values: &[f32],
    expected: &ParamManifest,
) -> Result<M> {
    let own = manifest(&module)?;
    if own.dtype != expected.dtype || own.params.len() != expected.params.len() {
        return Err(Error::ParameterMismatch(format!(
            "the manifest lists {} {:?} parameters, the model has {} {:?}",
            expected.params.len(),
            expected.dtype,
            own.params.len(),
            own.dtype
        )));
    }
    if let Some((a, b)) = own
        .params
        .iter()
        .zip(&expected.params)
        .find(|(a, b)| a != b)
    {
        return Err(Error::ParameterMismatch(format!(
            "the model has {} {:?} where the manifest has {} {:?}",
            a.name, a.shape, b.name, b.shape
        )));
    }
    unflatten(module, values)
}

/// Deterministic bytes of `module` (for storage by CID): `"DINM" || version:u8 ||
/// manifest (din-core canonical encoding) || count:u64 BE || values as f32 LE`.
///
/// # Errors
/// As [`flatten`].
pub fn to_bytes<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<u8>> {
    let (values, manifest) = flatten(module)?;
    Ok(encode_model(&manifest, &values))
}

/// [`to_bytes`]'s format from a manifest and a flat vector, without a module (e.g. a
/// global model computed by aggregation).
pub fn encode_model(manifest: &ParamManifest, values: &[f32]) -> Vec<u8> {
    use din_core::encoding::{Canonical, Writer};
    let mut w = Writer::new();
    w.raw(MODEL_MAGIC);
    w.u8(MODEL_FORMAT_VERSION);
    manifest.encode(&mut w);
    w.u64(values.len() as u64);
    let mut out = w.into_bytes();
    out.reserve(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The manifest and flat vector of [`to_bytes`]'s format, without a module.
///
/// # Errors
/// [`Error::Core`] for malformed or truncated bytes, [`Error::ParameterMismatch`] for a
/// bad magic, version, or a count that disagrees with the manifest or the bytes.
pub fn decode_model(bytes: &[u8]) -> Result<(ParamManifest, Vec<f32>)> {
    use din_core::encoding::{Canonical, Reader};
    let mut r = Reader::new(bytes);
    if r.take(4, "model magic")? != MODEL_MAGIC {
        return Err(Error::ParameterMismatch(
            "not a din model (bad magic)".into(),
        ));
    }
    let version = r.u8("model format version")?;
    if version != MODEL_FORMAT_VERSION {
        return Err(Error::ParameterMismatch(format!(
            "model format version {version}, this build reads {MODEL_FORMAT_VERSION}"
        )));
    }
    let manifest = ParamManifest::decode(&mut r)?;
    let count = r.u64("parameter count")?;
    let expected = manifest.num_elements()?;
    if count != expected {
        return Err(Error::ParameterMismatch(format!(
            "{count} values for a manifest of {expected}"
        )));
    }
    let raw = r.take(
        usize::try_from(count)
            .unwrap_or(usize::MAX)
            .saturating_mul(4),
        "parameter values",
    )?;
    r.finish("model")?;
    let values = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default()))
        .collect();
    Ok((manifest, values))
}

/// Reads [`to_bytes`]'s format into `module`, checking names and shapes.
///
/// # Errors
/// [`Error::Core`] for malformed or truncated bytes, [`Error::ParameterMismatch`] for
/// parameters that do not fit `module`.
pub fn from_bytes<B: Backend, M: Module<B>>(module: M, bytes: &[u8]) -> Result<M> {
    let (manifest, values) = decode_model(bytes)?;
    unflatten_checked(module, &values, &manifest)
}
