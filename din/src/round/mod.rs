//! A round's data plane: what each role computes and stores, by CID, independently of
//! how the CIDs travel (on-chain events in a deployment, plain vectors in tests).
//!
//! - [`participant`]: a Participant's four secure-aggregation messages, each stored and
//!   returned as a CID (paper §5.1 step 3c, masking).
//! - [`evaluator`]: an Evaluator fetches a subgroup's messages, unmasks the sum and stores
//!   the [`din_core::secagg::SubgroupAggregate`] (step 3d); honest Evaluators store the same
//!   bytes, so their CIDs agree.
//! - [`owner`]: the Model Owner combines the accepted subgroup aggregates into the global
//!   update, the sample-weighted mean of the subgroup means (steps 3f and 4).
//! - [`onchain`]: the same round as the task manager records it (subgroup members and
//!   parameters from the seeds, message CIDs from events, the accepted aggregates).
//! - [`published`]: those messages fetched and bound to the accounts that recorded
//!   them, and the survivor set by the public rule.
//! - [`scoring`]: after the last round, sealed contributions and the sealed test set.
//! - [`verify`]: anyone recomputes a subgroup aggregate from its messages and checks the
//!   submitted CID (paper §5.1 step 3f, "participants can verify").

pub mod evaluator;
pub mod onchain;
pub mod owner;
pub mod participant;
pub mod published;
pub mod scoring;
pub mod verify;

use din_core::{Cid, Message, Store};

use crate::Result;

/// Fetches `cid` from `store` and decodes it as an `M` (every block verified by the
/// store, the message strictly decoded).
///
/// # Errors
/// Storage errors; decoding errors for bytes that are not an `M`.
pub fn fetch<M: Message, S: Store + ?Sized>(store: &S, cid: &Cid) -> Result<M> {
    let bytes = store.get(cid)?;
    Ok(M::from_canonical_bytes(&bytes)?)
}

/// Stores `message`'s canonical bytes; returns their CID.
///
/// # Errors
/// Storage errors.
pub fn put<M: Message, S: Store + ?Sized>(store: &S, message: &M) -> Result<Cid> {
    Ok(store.put(&message.to_canonical_bytes())?)
}
