//! Subgroup assignment: which Participants aggregate together in a round, and which
//! Evaluators serve each subgroup (paper §3.4, §5.1 step 3).
//!
//! # Algorithm
//!
//! Inputs: a 32-byte round seed (taken from chain randomness fixed before anyone it
//! assigns could predict it), the `n` registered Participants and `m` staked Evaluators
//! in registration order, the subgroup size `s` and evaluators per subgroup `e`.
//!
//! 1. Two independent seeds: `seed_p = keccak256(seed || "din/participants")` and
//!    `seed_e = keccak256(seed || "din/evaluators")`.
//! 2. Subgroups: `g = floor(n / s)` (so every subgroup has at least `s` members; it needs
//!    `n >= s`). Participant `i` takes position `p = shuffled_index(i, n, seed_p)`
//!    ([`shuffle`]) and joins subgroup `j = floor(((p + 1) * g - 1) / n)`: positions are
//!    cut into `g` contiguous runs `[floor(j*n/g), floor((j+1)*n/g))`, whose sizes
//!    differ by at most one, all in `[s, 2s)`.
//! 3. Evaluators: evaluator `k` takes position `q = shuffled_index(k, m, seed_e)`; if
//!    `q < g * e` it serves subgroup `floor(q / e)`, otherwise it sits this round out.
//!    It needs `m >= g * e`.
//! 4. Within a subgroup members are listed by position.
//!
//! One membership costs one shuffled index, `2 * 90` Keccak hashes, whatever `n`: the
//! contract checks a claim "Participant `i` is in subgroup `j`" without storing the
//! assignment ([`participant_subgroup`], [`evaluator_subgroup`]).
//!
//! ```
//! use din_core::{assignment, Address, Digest32, Round, TaskConfig, TaskId};
//! # fn main() -> din_core::Result<()> {
//! let config = TaskConfig::default(); // subgroups of 10, 3 evaluators each
//! let participants: Vec<Address> = (0..25u8).map(|i| Address([i; 20])).collect();
//! let evaluators: Vec<Address> = (100..108u8).map(|i| Address([i; 20])).collect();
//! let seed = Digest32([7; 32]);
//! let a = assignment::assign(TaskId(1), Round(0), seed, &config, &participants, &evaluators)?;
//! assert_eq!(a.subgroups.len(), 2); // 12 + 13 participants
//! let j = assignment::participant_subgroup(4, 25, config.subgroup_size, &seed)?;
//! assert!(a.subgroups[j.0 as usize].participants.contains(&participants[4]));
//! # Ok(()) }
//! ```

pub mod shuffle;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use shuffle::{SHUFFLE_ROUNDS, shuffle_positions, shuffled_index};

use crate::encoding::{Canonical, MAX_ITEMS, Message, Reader, Writer};
use crate::hash::keccak256;
use crate::types::{Address, Digest32, Round, SubgroupId, TaskConfig, TaskId};
use crate::{Error, Result};

/// Domain separator of the Participants' shuffle seed.
pub const PARTICIPANT_DOMAIN: &[u8] = b"din/participants";
/// Domain separator of the Evaluators' shuffle seed.
pub const EVALUATOR_DOMAIN: &[u8] = b"din/evaluators";

/// `keccak256(seed || domain)`.
pub fn derive_seed(seed: &Digest32, domain: &[u8]) -> Digest32 {
    let mut input = Vec::with_capacity(32 + domain.len());
    input.extend_from_slice(seed.as_bytes());
    input.extend_from_slice(domain);
    Digest32(keccak256(&input))
}

/// Number of subgroups `n` Participants form at subgroup size `s`.
///
/// # Errors
/// [`Error::Assignment`] when `n < s` or `s == 0`.
pub fn num_subgroups(n: u64, s: u32) -> Result<u64> {
    if s == 0 || n < u64::from(s) {
        return Err(Error::Assignment(format!(
            "{n} participants cannot fill one subgroup of {s}"
        )));
    }
    Ok(n / u64::from(s))
}

/// The subgroup holding shuffled position `p` of `n` split into `g` runs.
fn subgroup_of_position(p: u64, n: u64, g: u64) -> u64 {
    // (p + 1) * g <= n * g fits u128 comfortably.
    (((u128::from(p) + 1) * u128::from(g) - 1) / u128::from(n)) as u64
}

/// The subgroup of the Participant registered at `index` of `n`, for round seed `seed`.
///
/// # Errors
/// [`Error::Assignment`] for an index out of range or too few Participants.
pub fn participant_subgroup(
    index: u64,
    n: u64,
    subgroup_size: u32,
    seed: &Digest32,
) -> Result<SubgroupId> {
    let g = num_subgroups(n, subgroup_size)?;
    let p = shuffled_index(index, n, &derive_seed(seed, PARTICIPANT_DOMAIN))?;
    Ok(SubgroupId(subgroup_of_position(p, n, g) as u32))
}

/// The subgroup the Evaluator registered at `index` of `m` serves, or `None` when it
/// sits the round out, with `groups` subgroups of `per_group` Evaluators.
///
/// # Errors
/// [`Error::Assignment`] for an index out of range or too few Evaluators.
pub fn evaluator_subgroup(
    index: u64,
    m: u64,
    groups: u64,
    per_group: u32,
    seed: &Digest32,
) -> Result<Option<SubgroupId>> {
    let needed = groups.saturating_mul(u64::from(per_group));
    if m < needed {
        return Err(Error::Assignment(format!(
            "{groups} subgroups of {per_group} evaluators need {needed} evaluators, {m} are staked"
        )));
    }
    let q = shuffled_index(index, m, &derive_seed(seed, EVALUATOR_DOMAIN))?;
    Ok((q < needed).then(|| SubgroupId((q / u64::from(per_group)) as u32)))
}

/// One subgroup of a round.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subgroup {
    /// Its index in the round.
    pub id: SubgroupId,
    /// Its Participants, in shuffled order.
    pub participants: Vec<Address>,
    /// The Evaluators that aggregate and score it, in shuffled order.
    pub evaluators: Vec<Address>,
}

impl Canonical for Subgroup {
    fn encode(&self, w: &mut Writer) {
        self.id.encode(w);
        self.participants.encode(w);
        self.evaluators.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            id: SubgroupId::decode(r)?,
            participants: r.list("participants", MAX_ITEMS, Address::decode)?,
            evaluators: r.list("evaluators", MAX_ITEMS, Address::decode)?,
        })
    }
}

/// A whole round's assignment, as every role computes it from the same seed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubgroupAssignment {
    /// The task.
    pub task: TaskId,
    /// The round.
    pub round: Round,
    /// The round seed it was computed from.
    pub seed: Digest32,
    /// The subgroups, by id.
    pub subgroups: Vec<Subgroup>,
}

impl SubgroupAssignment {
    /// The subgroup `who` belongs to as a Participant.
    pub fn subgroup_of_participant(&self, who: &Address) -> Option<&Subgroup> {
        self.subgroups.iter().find(|g| g.participants.contains(who))
    }

    /// The subgroup `who` serves as an Evaluator, if any this round.
    pub fn subgroup_of_evaluator(&self, who: &Address) -> Option<&Subgroup> {
        self.subgroups.iter().find(|g| g.evaluators.contains(who))
    }
}

impl Canonical for SubgroupAssignment {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.round.encode(w);
        self.seed.encode(w);
        self.subgroups.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let a = Self {
            task: TaskId::decode(r)?,
            round: Round::decode(r)?,
            seed: Digest32::decode(r)?,
            subgroups: r.list("subgroups", MAX_ITEMS, Subgroup::decode)?,
        };
        for (i, g) in a.subgroups.iter().enumerate() {
            if g.id.0 as usize != i {
                return Err(Error::invalid(
                    "subgroup id",
                    format!("subgroup at index {i} has id {}", g.id),
                ));
            }
        }
        Ok(a)
    }
}

impl Message for SubgroupAssignment {
    const TAG: u8 = 0x04;
    const NAME: &'static str = "subgroup assignment";
}

fn reject_duplicates(role: &str, list: &[Address]) -> Result<()> {
    let mut seen = HashSet::with_capacity(list.len());
    for a in list {
        if !seen.insert(a) {
            return Err(Error::Assignment(format!("{role} {a} is listed twice")));
        }
    }
    Ok(())
}

/// Forms the round's subgroups (see the [module docs](self) for the algorithm).
///
/// # Errors
/// [`Error::InvalidConfig`] for an invalid `config`; [`Error::Assignment`] for
/// duplicate accounts, fewer Participants than one subgroup, or fewer Evaluators than
/// the subgroups need.
pub fn assign(
    task: TaskId,
    round: Round,
    seed: Digest32,
    config: &TaskConfig,
    participants: &[Address],
    evaluators: &[Address],
) -> Result<SubgroupAssignment> {
    config.validate()?;
    reject_duplicates("participant", participants)?;
    reject_duplicates("evaluator", evaluators)?;
    let n = participants.len() as u64;
    let m = evaluators.len() as u64;
    let g = num_subgroups(n, config.subgroup_size)?;
    let per = config.evaluators_per_subgroup;
    let needed = g.saturating_mul(u64::from(per));
    if m < needed {
        return Err(Error::Assignment(format!(
            "{g} subgroups of {per} evaluators need {needed} evaluators, {m} are staked"
        )));
    }
    let mut subgroups: Vec<Subgroup> = (0..g)
        .map(|j| Subgroup {
            id: SubgroupId(j as u32),
            participants: Vec::new(),
            evaluators: Vec::new(),
        })
        .collect();

    let mut by_position: Vec<(u64, Address)> =
        shuffle_positions(n, &derive_seed(&seed, PARTICIPANT_DOMAIN))?
            .into_iter()
            .zip(participants.iter().copied())
            .collect();
    by_position.sort_unstable_by_key(|&(p, _)| p);
    for (p, who) in by_position {
        if let Some(group) = subgroups.get_mut(subgroup_of_position(p, n, g) as usize) {
            group.participants.push(who);
        }
    }

    let mut by_position: Vec<(u64, Address)> =
        shuffle_positions(m, &derive_seed(&seed, EVALUATOR_DOMAIN))?
            .into_iter()
            .zip(evaluators.iter().copied())
            .filter(|&(q, _)| q < needed)
            .collect();
    by_position.sort_unstable_by_key(|&(q, _)| q);
    for (q, who) in by_position {
        if let Some(group) = subgroups.get_mut((q / u64::from(per)) as usize) {
            group.evaluators.push(who);
        }
    }
    Ok(SubgroupAssignment {
        task,
        round,
        seed,
        subgroups,
    })
}
