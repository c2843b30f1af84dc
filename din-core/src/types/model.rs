//! Model references: where a model's bytes live (a CID) and what they hold (a manifest).

use std::collections::BTreeSet;

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::encoding::{Canonical, Message, Reader, Writer};
use crate::{Error, Result};

/// Longest parameter name, in bytes.
pub const MAX_PARAM_NAME: u32 = 256;
/// Highest tensor rank a manifest may describe.
pub const MAX_RANK: u32 = 8;
/// Most parameter tensors a manifest may list.
pub const MAX_PARAMS: u32 = 1 << 16;

/// Element type of a model's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16.
    BF16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> u64 {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
            DType::F16 | DType::BF16 => 2,
        }
    }
}

impl Canonical for DType {
    fn encode(&self, w: &mut Writer) {
        w.u8(match self {
            DType::F32 => 0,
            DType::F64 => 1,
            DType::F16 => 2,
            DType::BF16 => 3,
        });
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("dtype")? {
            0 => Ok(DType::F32),
            1 => Ok(DType::F64),
            2 => Ok(DType::F16),
            3 => Ok(DType::BF16),
            other => Err(Error::invalid(
                "dtype",
                format!("unknown dtype tag {other}"),
            )),
        }
    }
}

/// One named parameter tensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParamSpec {
    /// Dotted path of the parameter in the model, e.g. `layers.0.weight`.
    pub name: String,
    /// Dimensions; empty for a scalar.
    pub shape: Vec<u64>,
}

impl ParamSpec {
    /// Number of elements, or `None` when the product overflows.
    pub fn num_elements(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
    }
}

impl Canonical for ParamSpec {
    fn encode(&self, w: &mut Writer) {
        self.name.encode(w);
        w.list(&self.shape, |w, d| w.u64(*d));
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            name: r.string("parameter name", MAX_PARAM_NAME)?,
            shape: r.list("parameter shape", MAX_RANK, |r| r.u64("dimension"))?,
        })
    }
}

/// The layout of a model's flat parameter vector: tensors in order, one dtype.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedManifest")]
pub struct ParamManifest {
    /// Element type of every parameter.
    pub dtype: DType,
    /// Parameters in the order they are flattened.
    pub params: Vec<ParamSpec>,
}

#[derive(Deserialize)]
struct UncheckedManifest {
    dtype: DType,
    params: Vec<ParamSpec>,
}

impl TryFrom<UncheckedManifest> for ParamManifest {
    type Error = Error;
    fn try_from(u: UncheckedManifest) -> Result<Self> {
        Self::new(u.dtype, u.params)
    }
}

impl ParamManifest {
    /// A validated manifest.
    ///
    /// # Errors
    /// [`Error::InvalidManifest`] for empty or duplicate names, names or ranks over the
    /// limits, or sizes that overflow 64 bits.
    pub fn new(dtype: DType, params: Vec<ParamSpec>) -> Result<Self> {
        let manifest = Self { dtype, params };
        manifest.validate()?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        if self.params.len() > MAX_PARAMS as usize {
            return Err(Error::InvalidManifest(format!(
                "{} parameters exceed the limit of {MAX_PARAMS}",
                self.params.len()
            )));
        }
        let mut seen = BTreeSet::new();
        for p in &self.params {
            if p.name.is_empty() || p.name.len() > MAX_PARAM_NAME as usize {
                return Err(Error::InvalidManifest(format!(
                    "parameter name {:?} must be 1..={MAX_PARAM_NAME} bytes",
                    p.name
                )));
            }
            if p.shape.len() > MAX_RANK as usize {
                return Err(Error::InvalidManifest(format!(
                    "parameter {} has rank {}, above {MAX_RANK}",
                    p.name,
                    p.shape.len()
                )));
            }
            if !seen.insert(p.name.as_str()) {
                return Err(Error::InvalidManifest(format!(
                    "parameter {} is listed twice",
                    p.name
                )));
            }
        }
        self.byte_len()?;
        Ok(())
    }

    /// Total number of elements across all parameters.
    ///
    /// # Errors
    /// [`Error::InvalidManifest`] when the count overflows 64 bits.
    pub fn num_elements(&self) -> Result<u64> {
        self.params.iter().try_fold(0u64, |acc, p| {
            p.num_elements()
                .and_then(|n| acc.checked_add(n))
                .ok_or_else(|| {
                    Error::InvalidManifest(format!(
                        "element count overflows 64 bits at parameter {}",
                        p.name
                    ))
                })
        })
    }

    /// Size in bytes of the flat parameter vector.
    ///
    /// # Errors
    /// [`Error::InvalidManifest`] when the size overflows 64 bits.
    pub fn byte_len(&self) -> Result<u64> {
        self.num_elements()?
            .checked_mul(self.dtype.size())
            .ok_or_else(|| Error::InvalidManifest("byte size overflows 64 bits".into()))
    }
}

impl Canonical for ParamManifest {
    fn encode(&self, w: &mut Writer) {
        self.dtype.encode(w);
        self.params.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let dtype = DType::decode(r)?;
        let params = r.list("parameters", MAX_PARAMS, ParamSpec::decode)?;
        Self::new(dtype, params)
    }
}

/// A model stored by content: its CID, size and parameter layout (paper §5.1 step 1b).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelRef {
    /// CID of the serialized model (UnixFS CIDv1, see [`crate::content`]).
    #[serde(with = "crate::types::cid_string")]
    pub cid: Cid,
    /// Size of the serialized model in bytes.
    pub byte_length: u64,
    /// What the parameters are.
    pub manifest: ParamManifest,
}

impl Canonical for ModelRef {
    fn encode(&self, w: &mut Writer) {
        self.cid.encode(w);
        w.u64(self.byte_length);
        self.manifest.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            cid: Cid::decode(r)?,
            byte_length: r.u64("byte length")?,
            manifest: ParamManifest::decode(r)?,
        })
    }
}

impl Message for ModelRef {
    const TAG: u8 = 0x02;
    const NAME: &'static str = "model reference";
}
