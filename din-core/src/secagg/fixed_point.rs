//! Fixed-point encoding of float updates into words that sum exactly.
//!
//! A client's update `x` (length `d`) and weight `w` (its sample count) become `d + 1`
//! words modulo `2^b`:
//!
//! ```text
//! q_j  = stochastic_round(clip(x_j, -C, C) * 2^f)        integer, |q_j| <= ceil(C * 2^f)
//! word_j = w * q_j mod 2^b   (j < d)                       two's complement
//! word_d = w
//! ```
//!
//! Summed over `n` clients and read back as signed integers, the words give
//! `S_j = Σ w_i q_ij` and `W = Σ w_i` exactly, and the weighted mean is `S_j / (W 2^f)`,
//! within `2^-f` of the weighted mean of the clipped floats. The width `b` is the
//! smallest of 32 and 64 bits for which `2 n w_max ceil(C 2^f) < 2^b`, so the sum can
//! never wrap; no such width is a typed error. With `b = 32` a masked upload is exactly
//! the size of the float32 update plus one word.
//!
//! Rounding is stochastic (unbiased) and deterministic: `stochastic_round(s)` is
//! `floor(s) + [u < s - floor(s)]` with `u = k / 2^32`, `k` the `j`-th little-endian
//! `u32` of the AES-128-CTR stream of a 32-byte rounding seed ([`super::prg`]).

use serde::{Deserialize, Serialize};

use rayon::prelude::*;

use super::prg::{self, MaskWord};
use crate::{Error, Result};

/// Largest precision: `2^-40` steps.
pub const MAX_SCALE_BITS: u32 = 40;

/// Word width of a masked vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Width {
    /// Words modulo 2^32.
    W32,
    /// Words modulo 2^64.
    W64,
}

impl Width {
    /// Bits per word.
    pub fn bits(self) -> u32 {
        match self {
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }

    /// Bytes per word.
    pub fn bytes(self) -> usize {
        self.bits() as usize / 8
    }
}

/// Encoded as one byte: the number of bits (32 or 64); any other byte is rejected.
impl crate::encoding::Canonical for Width {
    fn encode(&self, w: &mut crate::encoding::Writer) {
        w.u8(self.bits() as u8);
    }
    fn decode(r: &mut crate::encoding::Reader<'_>) -> Result<Self> {
        match r.u8("word width")? {
            32 => Ok(Width::W32),
            64 => Ok(Width::W64),
            other => Err(Error::invalid(
                "word width",
                format!("{other} bits (32 or 64)"),
            )),
        }
    }
}

/// How updates are clipped, scaled and weighted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FixedPoint {
    /// Values are clipped to `[-clip, clip]`.
    pub clip: f64,
    /// Precision: values are multiples of `2^-scale_bits` after rounding.
    pub scale_bits: u32,
    /// The largest weight (sample count) one client may carry.
    pub max_weight: u64,
    /// The most clients whose words are summed.
    pub max_clients: u32,
}

impl Default for FixedPoint {
    /// Clip 8 (Flower's default), steps of 2^-12, weights up to 1000, 51 clients:
    /// fits 32-bit words.
    fn default() -> Self {
        Self {
            clip: 8.0,
            scale_bits: 12,
            max_weight: 1000,
            max_clients: 51,
        }
    }
}

impl FixedPoint {
    /// The encoding a task fixes on chain (`clipMilli`, `scaleBits`, `maxWeight` of the
    /// task manager's `TaskParams`): values clipped to `±clip_milli / 1000`, steps of
    /// `2^-scale_bits`, weights up to `max_weight`, for subgroups of up to `max_clients`.
    pub fn from_task(clip_milli: u32, scale_bits: u8, max_weight: u32, max_clients: u32) -> Self {
        Self {
            clip: f64::from(clip_milli) / 1000.0,
            scale_bits: u32::from(scale_bits),
            max_weight: u64::from(max_weight),
            max_clients,
        }
    }

    /// The largest magnitude of one encoded value before weighting: `ceil(clip · 2^f)`.
    pub fn max_step(&self) -> u128 {
        ((self.clip * 2f64.powi(self.scale_bits as i32)).ceil() as u128).max(1)
    }

    /// Checks that a sum of `clients` encoded inputs can be one (review hole 4): its
    /// total weight `W` is in `clients ..= clients · max_weight`, and every coordinate's
    /// magnitude is at most `W · ceil(clip · 2^f)`. Words any honest encoding can
    /// produce always pass; a client that wrote a huge weight or values beyond the clip
    /// makes the sum fail unless it stays within these bounds.
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] naming the bound; [`Error::FixedPoint`] for an empty sum.
    pub fn check_sum<W: MaskWord>(&self, sum: &[W], clients: u32) -> Result<()> {
        let (total, values) = sum
            .split_last()
            .ok_or_else(|| Error::FixedPoint("empty sum".into()))?;
        let total = u128::from(total.to_u64());
        let n = u128::from(clients);
        if total < n || total > n * u128::from(self.max_weight) {
            return Err(Error::OutOfBounds {
                reason: format!(
                    "total weight {total} of {clients} clients is outside {n}..={} (max weight {} each)",
                    n * u128::from(self.max_weight),
                    self.max_weight
                ),
            });
        }
        let limit = total * self.max_step();
        let bits = W::BYTES as u32 * 8;
        for (j, w) in values.iter().enumerate() {
            let v = w.to_u64();
            let magnitude = if bits == 64 {
                u128::from((v as i64).unsigned_abs())
            } else {
                u128::from(((v as u32) as i32).unsigned_abs())
            };
            if magnitude > limit {
                return Err(Error::OutOfBounds {
                    reason: format!(
                        "coordinate {j} has magnitude {magnitude}, above total weight {total} x max step {}",
                        self.max_step()
                    ),
                });
            }
        }
        Ok(())
    }

    fn bound(&self) -> Result<u128> {
        if !self.clip.is_finite() || self.clip <= 0.0 || self.clip > 1e12 {
            return Err(Error::FixedPoint(format!(
                "clip range {} must be a positive finite number up to 1e12",
                self.clip
            )));
        }
        if self.scale_bits > MAX_SCALE_BITS {
            return Err(Error::FixedPoint(format!(
                "precision of 2^-{} is finer than 2^-{MAX_SCALE_BITS}",
                self.scale_bits
            )));
        }
        if self.max_weight == 0 || self.max_clients == 0 {
            return Err(Error::FixedPoint(
                "max_weight and max_clients must be at least 1".into(),
            ));
        }
        let q = (self.clip * 2f64.powi(self.scale_bits as i32)).ceil() as u128;
        Ok(2 * u128::from(self.max_clients) * u128::from(self.max_weight) * q.max(1))
    }

    /// The narrowest word width whose sum cannot wrap.
    ///
    /// # Errors
    /// [`Error::FixedPoint`] when even 64 bits cannot hold the sum, or for invalid fields.
    pub fn width(&self) -> Result<Width> {
        let bound = self.bound()?;
        if bound < 1 << 32 {
            Ok(Width::W32)
        } else if bound < 1 << 64 {
            Ok(Width::W64)
        } else {
            Err(Error::FixedPoint(format!(
                "{} clients x weight {} x clip {} at 2^-{} precision can reach 2^{:.1}, beyond 64-bit words: lower the precision, clip or weights",
                self.max_clients,
                self.max_weight,
                self.clip,
                self.scale_bits,
                (bound as f64).log2()
            )))
        }
    }

    /// The largest difference between the decoded weighted mean and the weighted mean
    /// of the clipped inputs: one quantization step.
    pub fn quantization_bound(&self) -> f64 {
        2f64.powi(-(self.scale_bits as i32))
    }

    /// Encodes `update` with `weight` as `update.len() + 1` words.
    ///
    /// # Errors
    /// [`Error::FixedPoint`] for NaN or infinite values, a zero weight or one above
    /// `max_weight`, or an invalid configuration.
    pub fn encode<W: MaskWord>(
        &self,
        update: &[f32],
        weight: u64,
        rounding_seed: &[u8; 32],
    ) -> Result<Vec<W>> {
        self.check_input::<W>(update, weight)?;
        let mut out = vec![W::default(); update.len() + 1];
        out.par_chunks_mut(prg::CHUNK_WORDS)
            .enumerate()
            .for_each(|(i, chunk)| {
                self.encode_chunk(update, weight, rounding_seed, i * prg::CHUNK_WORDS, chunk);
            });
        Ok(out)
    }

    /// Checks what [`FixedPoint::encode`] would reject.
    pub(crate) fn check_input<W: MaskWord>(&self, update: &[f32], weight: u64) -> Result<()> {
        let width = self.width()?;
        if width.bytes() != W::BYTES {
            return Err(Error::FixedPoint(format!(
                "this configuration needs {}-bit words",
                width.bits()
            )));
        }
        if weight == 0 || weight > self.max_weight {
            return Err(Error::FixedPoint(format!(
                "weight {weight} is outside 1..={}",
                self.max_weight
            )));
        }
        if let Some(j) = update.iter().position(|x| !x.is_finite()) {
            return Err(Error::FixedPoint(format!(
                "update element {j} is {}",
                update.get(j).copied().unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// Writes words `start .. start + out.len()` of the encoding of a checked input
    /// (word `update.len()` is the weight).
    pub(crate) fn encode_chunk<W: MaskWord>(
        &self,
        update: &[f32],
        weight: u64,
        rounding_seed: &[u8; 32],
        start: usize,
        out: &mut [W],
    ) {
        let values = update.get(start..).unwrap_or_default();
        let n = values.len().min(out.len());
        let mut uniforms = vec![0u32; n];
        prg::expand_into(rounding_seed, start as u64, &mut uniforms);
        let scale = 2f64.powi(self.scale_bits as i32);
        let w = weight as i64;
        for ((o, &x), &u) in out.iter_mut().zip(values).zip(&uniforms) {
            let s = f64::from(x).clamp(-self.clip, self.clip) * scale;
            // floor(s) by truncation (|s| < 2^53 by the width check): a plain cast
            // instead of a libm call on targets without SSE4.1.
            let t = s as i64;
            let floor = t - i64::from((t as f64) > s);
            let up = f64::from(u) < (s - floor as f64) * 4_294_967_296.0;
            let q = floor + i64::from(up);
            *o = W::from_u64_truncate((w * q) as u64);
        }
        if let Some(last) = out.get_mut(n)
            && start + n == update.len()
        {
            *last = W::from_u64_truncate(weight);
        }
    }

    /// Decodes a sum of encoded vectors: the weighted mean and the total weight.
    ///
    /// # Errors
    /// [`Error::FixedPoint`] for an empty sum or a zero total weight.
    pub fn decode_mean<W: MaskWord>(&self, sum: &[W]) -> Result<(Vec<f32>, u64)> {
        let (total, values) = sum
            .split_last()
            .ok_or_else(|| Error::FixedPoint("empty sum".into()))?;
        let total = total.to_u64();
        if total == 0 {
            return Err(Error::FixedPoint("total weight is zero".into()));
        }
        let bits = W::BYTES as u32 * 8;
        let denominator = total as f64 * 2f64.powi(self.scale_bits as i32);
        let mean = values
            .iter()
            .map(|w| {
                let v = w.to_u64();
                let signed = if bits == 64 {
                    v as i64
                } else if v >= 1 << (bits - 1) {
                    v as i64 - (1i64 << bits)
                } else {
                    v as i64
                };
                (signed as f64 / denominator) as f32
            })
            .collect();
        Ok((mean, total))
    }
}
