//! The public parameters of one subgroup's secure-aggregation round.

use serde::{Deserialize, Serialize};

use super::fixed_point::{FixedPoint, Width};
use super::graph;
use super::messages::{Header, MAX_CLIENTS, Stage};
use super::shamir::MAX_SHARES;
use crate::encoding::{Canonical, Writer};
use crate::hash::sha256;
use crate::types::{Digest32, Round, SubgroupId, TaskId};
use crate::{Error, Result};

/// Longest vector secure aggregation accepts (2^28 elements: 1 GiB of 32-bit words).
pub const MAX_VECTOR_LEN: u32 = 1 << 28;

/// Everything every party of one round must agree on; all of it public.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecAggParams {
    /// The task.
    pub task: TaskId,
    /// The round.
    pub round: Round,
    /// The subgroup.
    pub subgroup: SubgroupId,
    /// Clients in the subgroup, indexed `0..clients`.
    pub clients: u32,
    /// Requested neighbours per client (see [`graph::effective_degree`]).
    pub neighbours: u32,
    /// Shamir threshold: shares needed to reconstruct a client's secret.
    pub threshold: u32,
    /// Length of each client's update.
    pub vector_len: u32,
    /// Fixed-point encoding.
    pub fixed_point: FixedPoint,
    /// Seed of the neighbour graph (from the round's on-chain randomness).
    pub graph_seed: Digest32,
}

impl SecAggParams {
    /// Checks the parameters can run.
    ///
    /// # Errors
    /// [`Error::SecAggParams`] or [`Error::FixedPoint`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        let n = self.clients;
        if !(3..=MAX_CLIENTS).contains(&n) {
            return Err(Error::SecAggParams(format!(
                "{n} clients: need 3..={MAX_CLIENTS} (fewer than 3 reveals updates, paper §3.2.3)"
            )));
        }
        let k = self.degree();
        if !(2..=MAX_SHARES).contains(&k) {
            return Err(Error::SecAggParams(format!(
                "{k} neighbours per client: need 2..={MAX_SHARES}"
            )));
        }
        let t = self.threshold;
        if t < 2 || t > k {
            return Err(Error::SecAggParams(format!(
                "threshold {t} must be in 2..={k} (the neighbours holding shares)"
            )));
        }
        if 2 * t <= k {
            return Err(Error::SecAggParams(format!(
                "threshold {t} of {k} neighbours is not more than half: disjoint sets could reconstruct both secrets of one client"
            )));
        }
        if self.vector_len == 0 || self.vector_len > MAX_VECTOR_LEN {
            return Err(Error::SecAggParams(format!(
                "vector length {} outside 1..={MAX_VECTOR_LEN}",
                self.vector_len
            )));
        }
        if self.fixed_point.max_clients < n {
            return Err(Error::FixedPoint(format!(
                "configured for {} clients, the subgroup has {n}",
                self.fixed_point.max_clients
            )));
        }
        self.fixed_point.width()?;
        Ok(())
    }

    /// Neighbours per client actually used.
    pub fn degree(&self) -> u32 {
        graph::effective_degree(self.clients, self.neighbours)
    }

    /// Word width of masked vectors.
    ///
    /// # Errors
    /// [`Error::FixedPoint`].
    pub fn width(&self) -> Result<Width> {
        self.fixed_point.width()
    }

    /// Every client's neighbours.
    ///
    /// # Errors
    /// [`Error::SecAggParams`].
    pub fn graph(&self) -> Result<Vec<Vec<u32>>> {
        graph::neighbours(self.clients, self.neighbours, &self.graph_seed)
    }

    /// The round context: `SHA-256("din/secagg/v3" || task || round || subgroup ||
    /// graph seed || clip as f64 bits || scale bits || max weight || max clients)`, the
    /// HKDF salt of every key, so nothing carries across rounds, and clients who disagree
    /// on the input bounds cannot complete a round together (review hole 4).
    pub fn context(&self) -> [u8; 32] {
        let mut w = Writer::new();
        w.raw(b"din/secagg/v3");
        self.task.encode(&mut w);
        self.round.encode(&mut w);
        self.subgroup.encode(&mut w);
        self.graph_seed.encode(&mut w);
        w.u64(self.fixed_point.clip.to_bits());
        w.u32(self.fixed_point.scale_bits);
        w.u64(self.fixed_point.max_weight);
        w.u32(self.fixed_point.max_clients);
        sha256(&w.into_bytes())
    }

    /// The header a message from `sender` at `stage` carries.
    pub fn header(&self, sender: u32, stage: Stage) -> Header {
        Header {
            task: self.task,
            round: self.round,
            subgroup: self.subgroup,
            sender,
            stage,
        }
    }

    /// Checks a received header: binding to this round and stage, sender in range.
    ///
    /// # Errors
    /// [`Error::WrongBinding`] or [`Error::BadSender`].
    pub fn check_header(&self, h: &Header, stage: Stage) -> Result<()> {
        let wrong = |field: &'static str, expected: String, found: String| Error::WrongBinding {
            sender: h.sender,
            field,
            expected,
            found,
        };
        if h.task != self.task {
            return Err(wrong("task", self.task.to_string(), h.task.to_string()));
        }
        if h.round != self.round {
            return Err(wrong("round", self.round.to_string(), h.round.to_string()));
        }
        if h.subgroup != self.subgroup {
            return Err(wrong(
                "subgroup",
                self.subgroup.to_string(),
                h.subgroup.to_string(),
            ));
        }
        if h.stage != stage {
            return Err(wrong("stage", stage.name().into(), h.stage.name().into()));
        }
        if h.sender >= self.clients {
            return Err(Error::BadSender {
                sender: h.sender,
                reason: format!("no client {} in a subgroup of {}", h.sender, self.clients),
            });
        }
        Ok(())
    }

    /// AEAD associated data of the share message from `sender` to `recipient`.
    pub(crate) fn share_aad(&self, sender: u32, recipient: u32) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&self.context());
        w.u32(sender);
        w.u32(recipient);
        w.into_bytes()
    }
}
