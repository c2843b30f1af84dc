//! The SecAgg+ neighbour graph (Bell et al. 2020): each client masks against, and
//! shares its secrets with, `k` neighbours instead of all `n - 1` other clients.
//!
//! Clients are placed on a ring in the order of the swap-or-not shuffle
//! ([`crate::assignment::shuffle`]) of `n` under `keccak256(graph_seed ||
//! "din/secagg/graph")`; each client's neighbours are the `k/2` clients before it and the
//! `k/2` after it on the ring (a Harary graph under a random relabelling). An odd `k` is
//! rounded up to the next even number; `k >= n - 1` gives the complete graph. The graph
//! is symmetric, `k`-regular, and fixed by public data, so every party computes it.

use crate::assignment::{derive_seed, shuffle_positions};
use crate::types::Digest32;
use crate::{Error, Result};

/// Domain separator of the graph's shuffle seed.
pub const GRAPH_DOMAIN: &[u8] = b"din/secagg/graph";

/// The neighbour count actually used for `n` clients and a requested `k`.
pub fn effective_degree(n: u32, k: u32) -> u32 {
    let complete = n.saturating_sub(1);
    if k >= complete {
        complete
    } else {
        (k + k % 2).min(complete)
    }
}

/// The smallest Shamir threshold that is a strict majority of every client's neighbours
/// in every subgroup a task with subgroups of `subgroup_size` can form (from
/// `subgroup_size` to `2 * subgroup_size - 1` members, where an odd `k` is rounded up):
/// the default threshold for a task with `k` neighbours per client.
pub fn majority_threshold(subgroup_size: u32, k: u32) -> u32 {
    effective_degree(subgroup_size.saturating_mul(2).saturating_sub(1), k) / 2 + 1
}

/// Every client's neighbours, each list sorted by client index.
///
/// # Errors
/// [`Error::SecAggParams`] for fewer than 2 clients.
pub fn neighbours(n: u32, k: u32, graph_seed: &Digest32) -> Result<Vec<Vec<u32>>> {
    if n < 2 {
        return Err(Error::SecAggParams(format!(
            "a neighbour graph needs at least 2 clients, got {n}"
        )));
    }
    let k = effective_degree(n, k);
    let mut out: Vec<Vec<u32>> = vec![Vec::with_capacity(k as usize); n as usize];
    if k == n - 1 {
        for (i, list) in out.iter_mut().enumerate() {
            list.extend((0..n).filter(|&j| j as usize != i));
        }
        return Ok(out);
    }
    let positions = shuffle_positions(u64::from(n), &derive_seed(graph_seed, GRAPH_DOMAIN))?;
    let mut ring = vec![0u32; n as usize];
    for (client, &p) in positions.iter().enumerate() {
        if let Some(slot) = ring.get_mut(p as usize) {
            *slot = client as u32;
        }
    }
    let n64 = u64::from(n);
    for (client, &p) in positions.iter().enumerate() {
        let Some(list) = out.get_mut(client) else {
            continue;
        };
        for offset in 1..=u64::from(k / 2) {
            for q in [(p + offset) % n64, (p + n64 - offset) % n64] {
                if let Some(&j) = ring.get(q as usize) {
                    list.push(j);
                }
            }
        }
        list.sort_unstable();
        list.dedup();
    }
    Ok(out)
}
