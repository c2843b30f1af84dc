//! A round's published messages as every party reads them: the CIDs the chain recorded,
//! each with the account that recorded it, fetched, decoded and bound to that account
//! (review hole 2: a message claiming another sender than its recorder, e.g. another
//! member's CID re-submitted, is set aside as the recorder's own misbehaviour), so
//! Participants and Evaluators apply the public rules of `din_core::secagg::view` to
//! the same messages.

use din_core::secagg::{
    AdvertiseKeys, Exclusion, ExclusionReason, MaskedInput, SecAggParams, ShareKeys, StageMessage,
    UnmaskShares,
};
use din_core::{Cid, Store};

use crate::Result;

/// A message CID as the chain recorded it, with the client index (in its subgroup) of
/// the account that recorded it: the only sender the message may claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The recording account's client index.
    pub sender: u32,
    /// The message's CID.
    pub cid: Cid,
}

/// The CIDs of one subgroup's messages in one round, as published (stage by stage).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundMessages {
    /// Stage 0: public keys.
    pub adverts: Vec<Published>,
    /// Stage 1: encrypted key shares.
    pub shares: Vec<Published>,
    /// Stage 2: masked updates.
    pub masked: Vec<Published>,
    /// Stage 3: unmasking shares.
    pub reveals: Vec<Published>,
}

/// One stage's messages as every party must read them (review hole 2): each fetched by
/// its CID (every block verified), decoded, and kept only if its header binds it to
/// this round and stage and names the account that recorded it. A message that is not
/// so (undecodable bytes, another round's or another sender's message replayed) is set
/// aside as the recording account's own: it is returned as an exclusion of that account,
/// and the claimed sender is not touched.
///
/// # Errors
/// Storage errors other than unreadable content: content not found, a block that does
/// not match its CID, a node that does not answer are errors, not exclusions (another
/// party may read it, and every party must read the same messages).
pub fn fetch_bound<M: StageMessage, S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    published: &[Published],
) -> Result<(Vec<M>, Vec<Exclusion>)> {
    let mut kept = Vec::with_capacity(published.len());
    let mut excluded = Vec::new();
    for p in published {
        let bytes = match store.get(&p.cid) {
            Ok(bytes) => bytes,
            // Content that can never be read (a malformed DAG, an unsupported CID, more
            // than the store reads) is the same for every party: the recorder's fault.
            Err(
                din_core::Error::MalformedDag { .. }
                | din_core::Error::UnsupportedCid { .. }
                | din_core::Error::MalformedCid(_)
                | din_core::Error::TooLong { .. },
            ) => {
                excluded.push(Exclusion {
                    sender: p.sender,
                    stage: M::STAGE,
                    reason: ExclusionReason::Undecodable,
                });
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let reason = match M::from_canonical_bytes(&bytes) {
            Err(_) => Some(ExclusionReason::Undecodable),
            Ok(m)
                if m.header().sender != p.sender
                    || params.check_header(m.header(), M::STAGE).is_err() =>
            {
                Some(ExclusionReason::Misbound)
            }
            Ok(m) => {
                kept.push(m);
                None
            }
        };
        if let Some(reason) = reason {
            excluded.push(Exclusion {
                sender: p.sender,
                stage: M::STAGE,
                reason,
            });
        }
    }
    Ok((kept, excluded))
}

/// Every stage's bound messages of a round ([`fetch_bound`]) and the exclusions.
pub struct BoundMessages {
    /// Stage 0.
    pub adverts: Vec<AdvertiseKeys>,
    /// Stage 1.
    pub shares: Vec<ShareKeys>,
    /// Stage 2.
    pub masked: Vec<MaskedInput>,
    /// Stage 3.
    pub reveals: Vec<UnmaskShares>,
    /// The recording accounts whose messages were set aside.
    pub excluded: Vec<Exclusion>,
}

impl BoundMessages {
    /// Fetches and binds every stage of `messages`.
    ///
    /// # Errors
    /// As [`fetch_bound`].
    pub fn fetch<S: Store + ?Sized>(
        store: &S,
        params: &SecAggParams,
        messages: &RoundMessages,
    ) -> Result<Self> {
        let (adverts, mut excluded) = fetch_bound(store, params, &messages.adverts)?;
        let (shares, e) = fetch_bound(store, params, &messages.shares)?;
        excluded.extend(e);
        let (masked, e) = fetch_bound(store, params, &messages.masked)?;
        excluded.extend(e);
        let (reveals, e) = fetch_bound(store, params, &messages.reveals)?;
        excluded.extend(e);
        Ok(Self {
            adverts,
            shares,
            masked,
            reveals,
            excluded,
        })
    }
}

/// The round's survivor set by the public rule (`din_core::secagg::survivors`) over the
/// bound messages of stages 0 to 2: the set every honest Participant reveals for and
/// every Evaluator unmasks. It reads every masked input (to check its binding and
/// length), as the Evaluators do.
///
/// # Errors
/// As [`fetch_bound`]; parameter errors.
pub fn survivors<S: Store + ?Sized>(
    store: &S,
    params: &SecAggParams,
    messages: &RoundMessages,
) -> Result<Vec<u32>> {
    let (adverts, _) = fetch_bound::<AdvertiseKeys, _>(store, params, &messages.adverts)?;
    let (shares, _) = fetch_bound::<ShareKeys, _>(store, params, &messages.shares)?;
    let (masked, _) = fetch_bound::<MaskedInput, _>(store, params, &messages.masked)?;
    Ok(din_core::secagg::survivors(
        params, &adverts, &shares, &masked,
    )?)
}
