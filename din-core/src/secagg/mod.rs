//! Secure aggregation: SecAgg+ (Bonawitz et al. 2017; Bell et al. 2020) for one
//! subgroup's round, with dropout recovery and a bit-exact, deterministic sum.
//!
//! In DIN a Participant's update must never be inspectable on its own (paper §3.3,
//! §5.1 step 2c): each Participant uploads its update **masked** with a self mask and
//! pairwise masks shared with its neighbours ([`mask`]); the masks cancel in the sum,
//! and the Evaluators of the subgroup, each on its own and from public messages only,
//! **unmask** the sum ([`unmask()`]) — the role Bonawitz's "server" plays, played
//! deterministically by everyone so that honest Evaluators submit identical bytes.
//!
//! | stage | Participant sends | built from |
//! |---|---|---|
//! | 0 advertise keys | two X25519 public keys | [`Participant::new`] |
//! | 1 share keys | Shamir shares of its self-mask seed and mask key, AEAD-encrypted to each neighbour | [`Participant::share_keys`] |
//! | 2 masked input | fixed-point update + weight, masked | [`Participant::mask`] |
//! | 3 unmask | survivors' self-mask shares, dropped clients' key shares | [`Participant::unmask`] |
//!
//! Parts: [`fixed_point`] (clipping, seeded rounding, the weight in the vector, word
//! width), [`prg`] (AES-128-CTR masks), [`graph`] (the SecAgg+ neighbour graph),
//! [`keys`] (X25519, HKDF-SHA256, secret types), [`shamir`] (constant-time GF(2^8)), [`messages`]
//! (typed, bound, canonically encoded). [`simulate`] runs a whole round in-process.
//!
//! ```
//! use din_core::secagg::{self, FixedPoint, SecAggParams};
//! use din_core::{Digest32, Round, SubgroupId, TaskId};
//! # fn main() -> din_core::Result<()> {
//! let params = SecAggParams {
//!     task: TaskId(1), round: Round(0), subgroup: SubgroupId(0),
//!     clients: 5, neighbours: 4, threshold: 3, vector_len: 3,
//!     fixed_point: FixedPoint { max_clients: 5, ..FixedPoint::default() },
//!     graph_seed: Digest32([7; 32]),
//! };
//! let updates = vec![vec![0.5f32, -1.0, 2.0]; 5];
//! let weights = vec![10u64; 5];
//! // Client 4 vanishes after sharing keys, before masking.
//! let sum = secagg::simulate(&params, &updates, &weights, &[4], &[])?;
//! let (mean, total_weight) = sum.mean(&params.fixed_point)?;
//! assert_eq!(total_weight, 40);
//! assert!((mean[2] - 2.0).abs() <= params.fixed_point.quantization_bound() as f32);
//! # Ok(()) }
//! ```

pub mod aggregate;
pub mod fixed_point;
pub mod graph;
pub mod keys;
pub mod mask;
pub mod messages;
mod params;
pub mod prg;
pub mod shamir;
pub mod unmask;
pub mod view;

#[cfg(test)]
mod attacks;

pub use aggregate::{SubgroupAggregate, verify_aggregate};
pub use fixed_point::{FixedPoint, Width};
pub use keys::{ClientSecret, RoundRatchet};
pub use mask::{Participant, ParticipantStage};
pub use messages::{
    AdvertiseKeys, Header, MaskedInput, ShareKeys, Stage, StageMessage, UnmaskShares,
};
pub use params::{MAX_VECTOR_LEN, SecAggParams};
pub use unmask::{SubgroupSum, unmask, unmask_excluding};
pub use view::{Exclusion, ExclusionReason, survivors};

use prg::MaskWord;

use crate::{Error, Result};

/// Words as little-endian bytes.
pub(crate) fn words_to_le_bytes<W: MaskWord>(words: &[W]) -> Vec<u8> {
    if cfg!(target_endian = "little") {
        bytemuck::cast_slice(words).to_vec()
    } else {
        words
            .iter()
            .flat_map(|w| w.to_u64().to_le_bytes().into_iter().take(W::BYTES))
            .collect()
    }
}

/// Little-endian bytes as words (a trailing partial word is dropped).
pub(crate) fn le_bytes_to_words<W: MaskWord>(bytes: &[u8]) -> Vec<W> {
    bytes.chunks_exact(W::BYTES).map(W::read_le).collect()
}

/// Runs a whole round in-process: `updates[i]` with `weights[i]` for client `i`;
/// clients in `drop_before_mask` shared keys but send no masked input, clients in
/// `drop_after_mask` send it but reveal nothing. Returns what every Evaluator computes.
///
/// # Errors
/// Any error of the protocol, e.g. [`Error::TooFewSurvivors`] when too many drop out.
pub fn simulate(
    params: &SecAggParams,
    updates: &[Vec<f32>],
    weights: &[u64],
    drop_before_mask: &[u32],
    drop_after_mask: &[u32],
) -> Result<SubgroupSum> {
    if updates.len() != params.clients as usize || weights.len() != params.clients as usize {
        return Err(Error::SecAggParams(format!(
            "{} updates and {} weights for {} clients",
            updates.len(),
            weights.len(),
            params.clients
        )));
    }
    let mut clients = Vec::with_capacity(updates.len());
    let mut adverts = Vec::with_capacity(updates.len());
    for i in 0..params.clients {
        let (c, a) = Participant::new(params.clone(), i)?;
        clients.push(c);
        adverts.push(a);
    }
    let shares = clients
        .iter_mut()
        .map(|c| c.share_keys(&adverts))
        .collect::<Result<Vec<_>>>()?;
    let mut masked = Vec::new();
    for (c, (u, &w)) in clients.iter_mut().zip(updates.iter().zip(weights)) {
        if !drop_before_mask.contains(&c.index()) {
            masked.push(c.mask(u, w, &shares)?);
        }
    }
    let survivors: Vec<u32> = masked.iter().map(|m| m.header.sender).collect();
    let mut reveals = Vec::new();
    for c in &mut clients {
        let i = c.index();
        if survivors.contains(&i) && !drop_after_mask.contains(&i) {
            reveals.push(c.unmask(&survivors)?);
        }
    }
    unmask(params, &adverts, &shares, &masked, &reveals)
}
