//! A Participant's recorded update for one round (paper §5.1 step 2d).

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::encoding::{Canonical, Message, Reader, Writer};
use crate::types::{Address, Round, SubgroupId, TaskId};

/// What a Participant records on-chain after uploading its masked update.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpdateRecord {
    /// The task.
    pub task: TaskId,
    /// The round the update belongs to.
    pub round: Round,
    /// The subgroup the Participant was assigned to.
    pub subgroup: SubgroupId,
    /// The Participant's account.
    pub participant: Address,
    /// CID of the masked update.
    #[serde(with = "crate::types::cid_string")]
    pub update: Cid,
    /// Size of the masked update in bytes.
    pub byte_length: u64,
    /// Training samples behind the update (the FedAvg weight).
    pub num_samples: u64,
}

impl Canonical for UpdateRecord {
    fn encode(&self, w: &mut Writer) {
        self.task.encode(w);
        self.round.encode(w);
        self.subgroup.encode(w);
        self.participant.encode(w);
        self.update.encode(w);
        w.u64(self.byte_length);
        w.u64(self.num_samples);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            task: TaskId::decode(r)?,
            round: Round::decode(r)?,
            subgroup: SubgroupId::decode(r)?,
            participant: Address::decode(r)?,
            update: Cid::decode(r)?,
            byte_length: r.u64("byte length")?,
            num_samples: r.u64("sample count")?,
        })
    }
}

impl Message for UpdateRecord {
    const TAG: u8 = 0x03;
    const NAME: &'static str = "update record";
}
