//! Scoring on the sealed test set (paper §5.2), on-chain parts included.
//!
//! After the last round: Evaluators have published X25519 keys in the registry; each
//! Participant seals its last local model to its subgroup's Evaluators and records it
//! ([`submit_contribution`]); the Model Owner seals the test set and wraps its key to
//! every assigned Evaluator ([`release_test_set`]); each Evaluator opens the test set
//! ([`open_test_set`]) and its subgroup's contributions ([`contributions`],
//! [`open_contribution`]), scores them, and commits and reveals through the task
//! manager.

use std::collections::BTreeMap;

use din_chain::alloy::primitives::Address;
use din_chain::backend::Receipt;
use din_chain::bindings::DinTaskManager;
use din_chain::client::cid_from_bytes;
use din_chain::{Chain, Din};
use din_core::sealed::{
    DataKey, EvaluatorKey, KeyBundle, SealedContribution, open, seal, unwrap_key, wrap_key,
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

/// Model Owner: seals `test_set` under a fresh key, wraps the key to `evaluators`,
/// stores both and calls `releaseTestSet`. Returns the sealed test set's CID, the key
/// bundle's CID and the transaction's receipt.
///
/// # Errors
/// Storage, sealing and chain errors.
pub fn release_test_set<C: Chain + ?Sized, S: Store + ?Sized>(
    din: &Din<'_, C>,
    store: &S,
    owner: Address,
    task: u64,
    test_set: &[u8],
    evaluators: &[(din_core::Address, [u8; 32])],
) -> Result<(Cid, Cid, Receipt)> {
    let key = DataKey::generate();
    let sealed = store.put(&seal(TaskId(task), &key, test_set)?)?;
    let bundle = KeyBundle {
        task: TaskId(task),
        keys: evaluators
            .iter()
            .map(|(a, pk)| wrap_key(TaskId(task), &key, *a, pk))
            .collect::<din_core::Result<Vec<_>>>()?,
    };
    let bundle = store.put(&bundle.to_canonical_bytes())?;
    let receipt = din.release_test_set(owner, task, &sealed, &bundle)?;
    Ok((sealed, bundle, receipt))
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
    let data_key = unwrap_key(TaskId(task), wrapped, key)?;
    Ok(open(TaskId(task), &data_key, &store.get(sealed)?)?)
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

/// Evaluator `me`: the model file of a contribution.
///
/// # Errors
/// Storage and decoding errors; [`din_core::Error::InvalidValue`] when it is not sealed
/// to this Evaluator.
pub fn open_contribution<S: Store + ?Sized>(
    store: &S,
    cid: &Cid,
    me: &Address,
    key: &EvaluatorKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let c: SealedContribution = fetch(store, cid)?;
    Ok(c.open(&core_address(me), key)?)
}
