//! Scoring on the sealed test set (paper §5.2), on-chain parts included.
//!
//! Before the task exists the Model Owner seals its test set ([`seal_test_set`]) and
//! the task commits to the sealed bytes' CID. After the last round: Evaluators have
//! published X25519 keys in the registry; each Participant seals its last local model to
//! its subgroup's Evaluators and records it ([`submit_contribution`]); the Model Owner
//! wraps the test set's key to every assigned Evaluator and releases it
//! ([`release_test_set`]; the contract checks it is the committed test set); each
//! Evaluator opens the test set ([`open_test_set`]) and its subgroup's contributions
//! ([`contributions`], [`open_contribution`], which checks the sealed name against the
//! account that recorded it), scores them, and commits and reveals through the task
//! manager.

use std::collections::BTreeMap;

use din_chain::alloy::primitives::Address;
use din_chain::backend::Receipt;
use din_chain::bindings::DinTaskManager;
use din_chain::client::cid_from_bytes;
use din_chain::{Chain, Din};
use din_core::sealed::{
    Binding, DataKey, EvaluatorKey, KeyBundle, Purpose, SealedContribution, open, seal, unwrap_key,
    wrap_key,
};
use din_core::{Cid, Message, Store, TaskId};
use zeroize::Zeroizing;

use super::fetch;
use crate::{Error, Result};

fn core_address(a: &Address) -> din_core::Address {
    din_core::Address(a.0.0)
}

/// The registry's X25519 keys of `evaluators`.
///
/// # Errors
/// Chain errors; [`Error::Inconsistent`] when one has not published a key.
pub fn evaluator_keys<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    evaluators: &[Address],
) -> Result<Vec<(din_core::Address, [u8; 32])>> {
    evaluators
        .iter()
        .map(|e| {
            let key = din.encryption_key(*e)?.ok_or_else(|| Error::Inconsistent {
                what: "evaluator keys",
                reason: format!("evaluator {e} has published no encryption key"),
            })?;
            Ok((core_address(e), key))
        })
        .collect()
}

/// Participant: seals `model_file` to `evaluators` (address, X25519 key), stores it and
/// records its CID on-chain. Returns the CID and the transaction's receipt.
///
/// # Errors
/// Storage, sealing and chain errors (the contract's, e.g. `WrongPhase`).
pub fn submit_contribution<C: Chain + ?Sized, S: Store + ?Sized>(
    din: &Din<'_, C>,
    store: &S,
    task: u64,
    participant: Address,
    model_file: &[u8],
    evaluators: &[(din_core::Address, [u8; 32])],
) -> Result<(Cid, Receipt)> {
    let sealed = SealedContribution::seal(
        TaskId(task),
        core_address(&participant),
        model_file,
        evaluators,
    )?;
    let cid = store.put(&sealed.to_canonical_bytes())?;
    let receipt = din.submit_contribution(participant, task, &cid)?;
    Ok((cid, receipt))
}

/// Model Owner, before creating the task: seals `test_set` under `key` (which must seal
/// nothing else) and stores it. The returned CID's hash is the task's `testSet`
/// commitment (`din_chain::client::cid_hash`).
///
/// # Errors
/// Sealing and storage errors.
pub fn seal_test_set<S: Store + ?Sized>(store: &S, key: &DataKey, test_set: &[u8]) -> Result<Cid> {
    Ok(store.put(&seal(Purpose::TestSet, &[], key, test_set)?)?)
}

/// Model Owner: wraps the key of the sealed test set `sealed` (as [`seal_test_set`]
/// stored it) to `evaluators`, stores the bundle and calls `releaseTestSet`. Returns the
/// key bundle's CID and the transaction's receipt.
///
/// # Errors
/// Storage, sealing and chain errors (`TestSetMismatch` when `sealed` is not the test set
/// the task committed to).
pub fn release_test_set<C: Chain + ?Sized, S: Store + ?Sized>(
    din: &Din<'_, C>,
    store: &S,
    owner: Address,
    task: u64,
    (key, sealed): (&DataKey, &Cid),
    evaluators: &[(din_core::Address, [u8; 32])],
) -> Result<(Cid, Receipt)> {
    let binding = Binding::of(Purpose::TestSet, &[], &store.get(sealed)?);
    let bundle = KeyBundle {
        task: TaskId(task),
        keys: evaluators
            .iter()
            .map(|(a, pk)| wrap_key(TaskId(task), key, *a, pk, &binding))
            .collect::<din_core::Result<Vec<_>>>()?,
    };
    let bundle = store.put(&bundle.to_canonical_bytes())?;
    let receipt = din.release_test_set(owner, task, sealed, &bundle)?;
    Ok((bundle, receipt))
}

/// The sealed test set and key bundle CIDs of `task`, from its `TestSetReleased` event
/// (`None` before the release, or while the node has not indexed the event yet).
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn test_set_release<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
) -> Result<Option<(Cid, Cid)>> {
    din.events::<DinTaskManager::TestSetReleased>()?
        .into_iter()
        .find(|e| e.taskId == task)
        .map(|ev| {
            Ok((
                cid_from_bytes(&ev.testSetCid)?,
                cid_from_bytes(&ev.keysCid)?,
            ))
        })
        .transpose()
}

/// [`test_set_release`], required.
///
/// # Errors
/// Chain errors; [`Error::Inconsistent`] before the release.
pub fn released_test_set<C: Chain + ?Sized>(din: &Din<'_, C>, task: u64) -> Result<(Cid, Cid)> {
    test_set_release(din, task)?.ok_or_else(|| Error::Inconsistent {
        what: "test set",
        reason: format!("task {task} has not released its test set"),
    })
}

/// Evaluator `me` (its address and key): the plaintext test set.
///
/// # Errors
/// Storage errors; [`din_core::Error::InvalidValue`] when this Evaluator has no key in
/// the bundle or authentication fails.
pub fn open_test_set<S: Store + ?Sized>(
    store: &S,
    task: u64,
    sealed: &Cid,
    bundle: &Cid,
    me: &Address,
    key: &EvaluatorKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let bundle: KeyBundle = fetch(store, bundle)?;
    let wrapped = bundle
        .for_evaluator(&core_address(me))
        .ok_or_else(|| Error::Inconsistent {
            what: "test set",
            reason: format!("the key bundle has no entry for evaluator {me}"),
        })?;
    let sealed = store.get(sealed)?;
    let binding = Binding::of(Purpose::TestSet, &[], &sealed);
    let data_key = unwrap_key(TaskId(task), wrapped, key, &binding)?;
    Ok(open(Purpose::TestSet, &[], &data_key, &sealed)?)
}

/// The contribution CIDs recorded for `task`, by Participant.
///
/// # Errors
/// Chain errors; undecodable CIDs.
pub fn contributions<C: Chain + ?Sized>(
    din: &Din<'_, C>,
    task: u64,
) -> Result<BTreeMap<Address, Cid>> {
    din.events::<DinTaskManager::Message>()?
        .into_iter()
        .filter(|e| e.taskId == task && e.stage == 4)
        .map(|e| Ok((e.sender, cid_from_bytes(&e.cid)?)))
        .collect()
}

/// Evaluator `me`: the model file of the contribution `submitter` recorded for `task`.
/// The sealed name must be the submitter's (a copy of another Participant's
/// contribution under a new CID would otherwise take its score: review hole 8).
///
/// # Errors
/// Storage and decoding errors; [`Error::Inconsistent`] for another task's or another
/// Participant's contribution; [`din_core::Error::InvalidValue`] when it is not sealed
/// to this Evaluator.
pub fn open_contribution<S: Store + ?Sized>(
    store: &S,
    (task, submitter): (u64, &Address),
    cid: &Cid,
    me: &Address,
    key: &EvaluatorKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let c: SealedContribution = fetch(store, cid)?;
    if c.task != TaskId(task) || c.participant != core_address(submitter) {
        return Err(Error::Inconsistent {
            what: "contribution",
            reason: format!(
                "{cid} is sealed as task {}'s contribution of {}, recorded for task {task} by {submitter}",
                c.task.0, c.participant
            ),
        });
    }
    Ok(c.open(&core_address(me), key)?)
}
