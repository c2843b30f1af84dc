//! The DIN protocol's vocabulary (paper §5.1): tasks and their configuration, rounds,
//! roles, model references, update records, subgroup assignments and scores.
//!
//! Every type here has serde support (for JSON configs and APIs) and a canonical binary
//! encoding ([`crate::encoding`]) for everything that is hashed or compared. Types with
//! invariants validate on every path in: constructors, canonical decoding and serde.

mod ids;
mod model;
mod score;
mod task;
mod update;

pub use ids::{Address, Digest32, Role, Round, SubgroupId, TaskId};
pub use model::{DType, MAX_PARAM_NAME, MAX_PARAMS, MAX_RANK, ModelRef, ParamManifest, ParamSpec};
pub use score::{SCORE_ONE, Score, ScoreCommitment, ScoreReveal};
pub use task::{
    Deadlines, MAX_EVALUATORS_PER_SUBGROUP, MAX_ROUNDS, MAX_SUBGROUP_SIZE, MIN_SUBGROUP_SIZE,
    ScoringRule, TaskConfig,
};
pub use update::UpdateRecord;

/// Serde for CIDs as their canonical string form (base32 for v1).
pub(crate) mod cid_string {
    use std::str::FromStr;

    use cid::Cid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(cid)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cid, D::Error> {
        let s = String::deserialize(d)?;
        Cid::from_str(&s).map_err(|e| serde::de::Error::custom(format!("malformed CID {s:?}: {e}")))
    }
}

/// An update record used by documentation examples.
#[doc(hidden)]
pub fn example_update_record() -> UpdateRecord {
    UpdateRecord {
        task: TaskId(7),
        round: Round(3),
        subgroup: SubgroupId(1),
        participant: Address([0x11; 20]),
        update: crate::content::cid_of(b"hello din\n"),
        byte_length: 10,
        num_samples: 600,
    }
}
