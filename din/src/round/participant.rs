//! A Participant's side of one round's secure aggregation, with every message stored.

use din_core::secagg::{AdvertiseKeys, Participant, SecAggParams, ShareKeys};
use din_core::{Cid, Store};

use super::published::{Published, fetch_bound};
use super::put;
use crate::Result;

/// One Participant in one subgroup round. Its secrets stay inside (din-core's
/// [`Participant`]); what leaves is stored and named by CID.
pub struct ParticipantRound<'s, S: Store + ?Sized> {
    store: &'s S,
    params: SecAggParams,
    inner: Participant,
    advert: Cid,
}

impl<S: Store + ?Sized> std::fmt::Debug for ParticipantRound<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParticipantRound")
            .field("index", &self.inner.index())
            .field("advert", &self.advert)
            .finish_non_exhaustive()
    }
}

impl<'s, S: Store + ?Sized> ParticipantRound<'s, S> {
    /// Joins the round as client `index` of `params`'s subgroup: fresh keys, whose public
    /// half is stored (stage 0). The advert's CID is [`ParticipantRound::advert`].
    ///
    /// # Errors
    /// Parameter and storage errors.
    pub fn start(store: &'s S, params: SecAggParams, index: u32) -> Result<Self> {
        let (inner, advert) = Participant::new(params.clone(), index)?;
        let advert = put(store, &advert)?;
        Ok(Self {
            store,
            params,
            inner,
            advert,
        })
    }

    /// The CID of this client's public keys (stage 0).
    pub fn advert(&self) -> &Cid {
        &self.advert
    }

    /// The client's index in the subgroup.
    pub fn index(&self) -> u32 {
        self.inner.index()
    }

    /// Stage 1: fetches every client's advert (bound to its recorder, see
    /// [`fetch_bound`]) and stores this client's encrypted key shares.
    ///
    /// # Errors
    /// Storage and secure-aggregation errors.
    pub fn share_keys(&mut self, adverts: &[Published]) -> Result<Cid> {
        let (adverts, _) = fetch_bound::<AdvertiseKeys, _>(self.store, &self.params, adverts)?;
        let msg = self.inner.share_keys(&adverts)?;
        put(self.store, &msg)
    }

    /// Stage 2: masks `update` (weight = local sample count) with the shares addressed
    /// to this client and stores the masked input.
    ///
    /// # Errors
    /// Storage and secure-aggregation errors (e.g. non-finite values).
    pub fn mask(&mut self, update: &[f32], weight: u64, shares: &[Published]) -> Result<Cid> {
        let (shares, _) = fetch_bound::<ShareKeys, _>(self.store, &self.params, shares)?;
        let msg = self.inner.mask(update, weight, &shares)?;
        put(self.store, &msg)
    }

    /// Stage 3: reveals the shares that unmask the survivors' sum; `survivors` is the
    /// round's survivor set by the public rule ([`super::published::survivors`]).
    ///
    /// # Errors
    /// Storage and secure-aggregation errors.
    pub fn unmask(&mut self, survivors: &[u32]) -> Result<Cid> {
        let msg = self.inner.unmask(survivors)?;
        put(self.store, &msg)
    }
}
