//! Scores and their commit/reveal (paper §5.1 steps 7–8, §5.2 step 4).
//!
//! An Evaluator first publishes a [`ScoreCommitment`], a hash binding the score to a
//! secret salt, then, once every commitment is in, a [`ScoreReveal`]; nobody can copy a
//! score they have not seen, and nobody can change a score once committed.
//!
//! The commitment is `keccak256(task:u64 || evaluator:20 || participant:20 ||
//! score:u32 || salt:32)` (big-endian, as Solidity's `abi.encodePacked(uint64, address,
//! address, uint32, bytes32)`), so the contract checks a reveal with one hash.

use serde::{Deserialize, Serialize};

use crate::encoding::{Canonical, Message, Reader, Writer};
use crate::hash::keccak256;
use crate::types::{Address, Digest32, TaskId};
use crate::{Error, Result};

/// Scores are fixed point with this denominator: `SCORE_ONE` means 1.0.
pub const SCORE_ONE: u32 = 1 << 20;

/// A score in `[0, 1]`, fixed point with denominator [`SCORE_ONE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Score(u32);

impl Score {
    /// A score from its fixed-point numerator.
    ///
    /// # Errors
    /// [`Error::InvalidScore`] above [`SCORE_ONE`].
    pub fn new(raw: u32) -> Result<Self> {
        if raw > SCORE_ONE {
            return Err(Error::InvalidScore {
                value: u64::from(raw),
                max: u64::from(SCORE_ONE),
            });
        }
        Ok(Self(raw))
    }

    /// The score nearest to `x` (rounding half away from zero).
    ///
    /// # Errors
    /// [`Error::InvalidScore`] when `x` is not a finite number in `[0, 1]`.
    pub fn from_f64(x: f64) -> Result<Self> {
        if !x.is_finite() || !(0.0..=1.0).contains(&x) {
            return Err(Error::InvalidScore {
                value: if x.is_finite() && x > 0.0 {
                    (x * f64::from(SCORE_ONE)) as u64
                } else {
                    0
                },
                max: u64::from(SCORE_ONE),
            });
        }
        Self::new((x * f64::from(SCORE_ONE)).round() as u32)
    }

    /// The fixed-point numerator.
    pub fn raw(self) -> u32 {
        self.0
    }

    /// The score as a float in `[0, 1]`.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(SCORE_ONE)
    }
}

impl TryFrom<u32> for Score {
    type Error = Error;
    fn try_from(raw: u32) -> Result<Self> {
        Self::new(raw)
    }
}

impl From<Score> for u32 {
    fn from(s: Score) -> u32 {
        s.0
    }
}

impl Canonical for Score {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.0);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Self::new(r.u32("score")?)
    }
}

/// A hash binding an Evaluator's score of a Participant to a secret salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScoreCommitment {
    /// The task.
    pub task: TaskId,
    /// The Evaluator committing.
    pub evaluator: Address,
    /// The Participant scored.
    pub participant: Address,
    /// `keccak256` of the packed reveal (see [`ScoreReveal::commitment`]).
    pub commitment: Digest32,
}

impl ScoreCommitment {
    /// Checks that `reveal` opens this commitment.
    ///
    /// # Errors
    /// [`Error::CommitmentMismatch`] when the task, accounts or hash differ.
    pub fn verify(&self, reveal: &ScoreReveal) -> Result<()> {
        if self == &reveal.commitment() {
            Ok(())
        } else {
            Err(Error::CommitmentMismatch {
                participant: self.participant.to_string(),
            })
        }
    }
}

impl Canonical for ScoreCommitment {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.evaluator.encode(w);
        self.participant.encode(w);
        self.commitment.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            task: TaskId::decode(r)?,
            evaluator: Address::decode(r)?,
            participant: Address::decode(r)?,
            commitment: Digest32::decode(r)?,
        })
    }
}

impl Message for ScoreCommitment {
    const TAG: u8 = 0x05;
    const NAME: &'static str = "score commitment";
}

/// The opening of a [`ScoreCommitment`]: the score and its salt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScoreReveal {
    /// The task.
    pub task: TaskId,
    /// The Evaluator revealing.
    pub evaluator: Address,
    /// The Participant scored.
    pub participant: Address,
    /// The score.
    pub score: Score,
    /// The salt chosen at commit time (fresh random bytes).
    pub salt: Digest32,
}

impl ScoreReveal {
    /// The commitment this reveal opens: `keccak256(task:u64 || evaluator:20 ||
    /// participant:20 || score:u32 || salt:32)`, big-endian, as Solidity's
    /// `abi.encodePacked(uint64, address, address, uint32, bytes32)`.
    pub fn commitment(&self) -> ScoreCommitment {
        let mut packed = Vec::with_capacity(8 + 20 + 20 + 4 + 32);
        packed.extend_from_slice(&self.task.0.to_be_bytes());
        packed.extend_from_slice(self.evaluator.as_bytes());
        packed.extend_from_slice(self.participant.as_bytes());
        packed.extend_from_slice(&self.score.raw().to_be_bytes());
        packed.extend_from_slice(self.salt.as_bytes());
        ScoreCommitment {
            task: self.task,
            evaluator: self.evaluator,
            participant: self.participant,
            commitment: Digest32(keccak256(&packed)),
        }
    }
}

impl Canonical for ScoreReveal {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.evaluator.encode(w);
        self.participant.encode(w);
        self.score.encode(w);
        self.salt.encode(w);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            task: TaskId::decode(r)?,
            evaluator: Address::decode(r)?,
            participant: Address::decode(r)?,
            score: Score::decode(r)?,
            salt: Digest32::decode(r)?,
        })
    }
}

impl Message for ScoreReveal {
    const TAG: u8 = 0x06;
    const NAME: &'static str = "score reveal";
}
