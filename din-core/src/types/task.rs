//! A task's configuration and its validation.

use serde::{Deserialize, Serialize};

use crate::encoding::{Canonical, Message, Reader, Writer};
use crate::{Error, Result};

/// The most rounds a task may run.
pub const MAX_ROUNDS: u32 = 1_000_000;
/// The smallest subgroup: with fewer than three members an aggregate reveals a member's
/// update to the others (paper §3.2.3).
pub const MIN_SUBGROUP_SIZE: u32 = 3;
/// The largest subgroup secure aggregation is configured for.
pub const MAX_SUBGROUP_SIZE: u32 = 1 << 16;
/// The most evaluators a single subgroup may have.
pub const MAX_EVALUATORS_PER_SUBGROUP: u32 = 1024;

/// How Participants' contributions are scored after the final round (paper §5.1 step 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScoringRule {
    /// BlockFlow median scoring: a Participant's score is the median of its Evaluators'
    /// scores, normalised by the best; Evaluators' quality is their distance to it.
    Median,
}

impl Canonical for ScoringRule {
    fn encode(&self, w: &mut Writer) {
        w.u8(match self {
            ScoringRule::Median => 0,
        });
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("scoring rule")? {
            0 => Ok(ScoringRule::Median),
            other => Err(Error::invalid(
                "scoring rule",
                format!("unknown scoring rule tag {other}"),
            )),
        }
    }
}

/// How long each phase of a round may last, in seconds of chain time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deadlines {
    /// Participants opt in and Evaluators stake before the first round.
    pub registration_s: u64,
    /// Participants train, mask, upload and submit their update CIDs.
    pub training_s: u64,
    /// Evaluators unmask, aggregate and submit their aggregate hashes.
    pub aggregation_s: u64,
    /// Evaluators commit, then reveal, their scores after the final round.
    pub scoring_s: u64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            registration_s: 3600,
            training_s: 3600,
            aggregation_s: 1800,
            scoring_s: 3600,
        }
    }
}

impl Canonical for Deadlines {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.registration_s);
        w.u64(self.training_s);
        w.u64(self.aggregation_s);
        w.u64(self.scoring_s);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            registration_s: r.u64("registration deadline")?,
            training_s: r.u64("training deadline")?,
            aggregation_s: r.u64("aggregation deadline")?,
            scoring_s: r.u64("scoring deadline")?,
        })
    }
}

/// Everything the Model Owner fixes when creating a task (paper §5.1 step 1).
///
/// Build one with [`TaskConfig::default`] and adjust fields, then call
/// [`TaskConfig::validate`]; decoding (canonical or serde) validates automatically, so a
/// decoded configuration always describes a task that can run.
///
/// ```
/// use din_core::TaskConfig;
/// let mut config = TaskConfig::default();
/// config.evaluators_per_subgroup = 4;
/// config.quorum = 2; // not more than half of 4
/// let err = config.validate().unwrap_err();
/// assert!(err.to_string().contains("more than half"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "UncheckedTaskConfig")]
pub struct TaskConfig {
    /// Training rounds (at least one).
    pub rounds: u32,
    /// Participants per subgroup (the secure-aggregation group); at least three.
    pub subgroup_size: u32,
    /// Evaluators assigned to each subgroup (the paper's example: 1 per 10 Participants).
    pub evaluators_per_subgroup: u32,
    /// How many of a subgroup's Evaluators must submit the same aggregate for it to be
    /// accepted; more than half of `evaluators_per_subgroup`.
    pub quorum: u32,
    /// Secure aggregation: how many of a Participant's neighbours must survive to
    /// reconstruct its secrets (Shamir threshold `t`).
    pub secagg_threshold: u32,
    /// Secure aggregation: each Participant's neighbour count `k` in the SecAgg+ graph.
    pub secagg_neighbours: u32,
    /// How contributions are scored.
    pub scoring: ScoringRule,
    /// Phase durations.
    pub deadlines: Deadlines,
    /// Reward deposited by the Model Owner, in the token's smallest unit.
    pub reward: u128,
}

impl Default for TaskConfig {
    /// Ten rounds of 10-Participant subgroups with three Evaluators each, quorum two,
    /// SecAgg+ with six neighbours and threshold four, median scoring, one token (10^18).
    fn default() -> Self {
        Self {
            rounds: 10,
            subgroup_size: 10,
            evaluators_per_subgroup: 3,
            quorum: 2,
            secagg_threshold: 4,
            secagg_neighbours: 6,
            scoring: ScoringRule::Median,
            deadlines: Deadlines::default(),
            reward: 1_000_000_000_000_000_000,
        }
    }
}

impl TaskConfig {
    /// Checks that the configuration describes a task that can run.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field and why.
    pub fn validate(&self) -> Result<()> {
        if self.rounds == 0 {
            return Err(Error::config("rounds", "a task needs at least one round"));
        }
        if self.rounds > MAX_ROUNDS {
            return Err(Error::config(
                "rounds",
                format!("{} rounds exceeds the maximum of {MAX_ROUNDS}", self.rounds),
            ));
        }
        if self.subgroup_size < MIN_SUBGROUP_SIZE {
            return Err(Error::config(
                "subgroup_size",
                format!(
                    "{} is below {MIN_SUBGROUP_SIZE}: a smaller aggregate reveals members' updates (paper §3.2.3)",
                    self.subgroup_size
                ),
            ));
        }
        if self.subgroup_size > MAX_SUBGROUP_SIZE {
            return Err(Error::config(
                "subgroup_size",
                format!(
                    "{} exceeds the maximum of {MAX_SUBGROUP_SIZE}",
                    self.subgroup_size
                ),
            ));
        }
        let e = self.evaluators_per_subgroup;
        if e == 0 || e > MAX_EVALUATORS_PER_SUBGROUP {
            return Err(Error::config(
                "evaluators_per_subgroup",
                format!("{e} is outside 1..={MAX_EVALUATORS_PER_SUBGROUP}"),
            ));
        }
        if u64::from(self.quorum) * 2 <= u64::from(e) {
            return Err(Error::config(
                "quorum",
                format!(
                    "quorum {} of {e} evaluators is not more than half: two disagreeing halves could both be accepted",
                    self.quorum
                ),
            ));
        }
        if self.quorum > e {
            return Err(Error::config(
                "quorum",
                format!(
                    "quorum {} exceeds the {e} evaluators per subgroup: no result could ever be accepted",
                    self.quorum
                ),
            ));
        }
        let (t, k) = (self.secagg_threshold, self.secagg_neighbours);
        if t > self.subgroup_size {
            return Err(Error::config(
                "secagg_threshold",
                format!(
                    "threshold {t} is above the subgroup size {}",
                    self.subgroup_size
                ),
            ));
        }
        if k < 2 || k >= self.subgroup_size {
            return Err(Error::config(
                "secagg_neighbours",
                format!(
                    "{k} neighbours: need at least 2 and fewer than the subgroup size {}",
                    self.subgroup_size
                ),
            ));
        }
        if t > k {
            return Err(Error::config(
                "secagg_threshold",
                format!("threshold {t} is above the {k} neighbours holding shares"),
            ));
        }
        // Subgroups hold from `subgroup_size` to `2 * subgroup_size - 1` members, and the
        // SecAgg+ graph rounds an odd degree up to the next even one wherever that is
        // below the subgroup's size: the threshold must be a majority of the largest
        // effective degree, or the largest subgroups fail every round.
        let largest = self.subgroup_size.saturating_mul(2).saturating_sub(1);
        let k_max = crate::secagg::graph::effective_degree(largest, k);
        if u64::from(t) * 2 <= u64::from(k_max) {
            return Err(Error::config(
                "secagg_threshold",
                format!(
                    "threshold {t} is not more than half of the {k_max} neighbours a client has in a subgroup of {largest} (an odd {k} is rounded up): two disjoint sets could reconstruct both secrets of one client; use at least {}",
                    k_max / 2 + 1
                ),
            ));
        }
        let d = &self.deadlines;
        for (field, value) in [
            ("deadlines.registration_s", d.registration_s),
            ("deadlines.training_s", d.training_s),
            ("deadlines.aggregation_s", d.aggregation_s),
            ("deadlines.scoring_s", d.scoring_s),
        ] {
            if value == 0 {
                return Err(Error::config(field, "a phase cannot last zero seconds"));
            }
        }
        self.total_duration_s()?;
        if self.reward == 0 {
            return Err(Error::config(
                "reward",
                "a task must deposit a reward to pay Participants",
            ));
        }
        Ok(())
    }

    /// The longest a task can take: registration, every round's training and
    /// aggregation, then scoring, in seconds.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the sum overflows 64 bits.
    pub fn total_duration_s(&self) -> Result<u64> {
        let d = &self.deadlines;
        d.training_s
            .checked_add(d.aggregation_s)
            .and_then(|per_round| per_round.checked_mul(u64::from(self.rounds)))
            .and_then(|rounds| rounds.checked_add(d.registration_s))
            .and_then(|t| t.checked_add(d.scoring_s))
            .ok_or_else(|| {
                Error::config(
                    "deadlines",
                    "the task's total duration overflows 64-bit seconds",
                )
            })
    }
}

/// Mirror of [`TaskConfig`] used only to route serde through validation.
#[derive(Deserialize)]
struct UncheckedTaskConfig {
    rounds: u32,
    subgroup_size: u32,
    evaluators_per_subgroup: u32,
    quorum: u32,
    secagg_threshold: u32,
    secagg_neighbours: u32,
    scoring: ScoringRule,
    deadlines: Deadlines,
    reward: u128,
}

impl TryFrom<UncheckedTaskConfig> for TaskConfig {
    type Error = Error;
    fn try_from(u: UncheckedTaskConfig) -> Result<Self> {
        let config = Self {
            rounds: u.rounds,
            subgroup_size: u.subgroup_size,
            evaluators_per_subgroup: u.evaluators_per_subgroup,
            quorum: u.quorum,
            secagg_threshold: u.secagg_threshold,
            secagg_neighbours: u.secagg_neighbours,
            scoring: u.scoring,
            deadlines: u.deadlines,
            reward: u.reward,
        };
        config.validate()?;
        Ok(config)
    }
}

impl Canonical for TaskConfig {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.rounds);
        w.u32(self.subgroup_size);
        w.u32(self.evaluators_per_subgroup);
        w.u32(self.quorum);
        w.u32(self.secagg_threshold);
        w.u32(self.secagg_neighbours);
        self.scoring.encode(w);
        self.deadlines.encode(w);
        w.u128(self.reward);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        let config = Self {
            rounds: r.u32("rounds")?,
            subgroup_size: r.u32("subgroup size")?,
            evaluators_per_subgroup: r.u32("evaluators per subgroup")?,
            quorum: r.u32("quorum")?,
            secagg_threshold: r.u32("secagg threshold")?,
            secagg_neighbours: r.u32("secagg neighbours")?,
            scoring: ScoringRule::decode(r)?,
            deadlines: Deadlines::decode(r)?,
            reward: r.u128("reward")?,
        };
        config.validate()?;
        Ok(config)
    }
}

impl Message for TaskConfig {
    const TAG: u8 = 0x01;
    const NAME: &'static str = "task configuration";
}
