//! Content addressing exactly as IPFS does it: `ipfs add --cid-version=1` (Kubo's
//! defaults for CIDv1: UnixFS, raw leaves, fixed 256 KiB chunks, a balanced DAG of at most
//! 174 links per node, SHA2-256, base32 `b…` strings).
//!
//! A blob of at most one chunk is a single raw block and its CID starts `bafkrei…`;
//! longer blobs become a tree of dag-pb UnixFS file nodes over raw leaves and the root's
//! CID starts `bafybei…`. Any IPFS node given the same bytes computes the same CID, so
//! models and updates stored by din can be fetched, pinned and checked anywhere.
//!
//! ```
//! let cid = din_core::content::cid_of(b"hello din\n");
//! assert_eq!(
//!     cid.to_string(),
//!     "bafkreianmtrqcluipj3k7kf727xeqbhyosd4vw4facgiakbrlq24i527wy"
//! );
//! ```
//!
//! [`car`] moves blocks to and from CARv1 files (`ipfs dag import` / `export`).

pub mod car;
mod protobuf;
mod unixfs;

use std::str::FromStr;

use cid::Cid;
use multihash::Multihash;

use crate::hash::sha256;
use crate::{Error, Result};

/// Bytes per leaf chunk (Kubo's `size-262144` chunker).
pub const CHUNK_SIZE: usize = 256 * 1024;
/// Most links in one UnixFS node (Kubo's balanced layout).
pub const MAX_LINKS: usize = 174;
/// Multicodec of raw leaf blocks.
pub const RAW: u64 = 0x55;
/// Multicodec of dag-pb nodes.
pub const DAG_PB: u64 = 0x70;
/// Multihash code of SHA2-256.
pub const SHA2_256: u64 = 0x12;
/// Multihash code of the identity "hash" (the data inlined in the CID).
pub const IDENTITY: u64 = 0x00;
/// Largest block this crate accepts from outside (IPFS nodes refuse blocks above 2 MiB).
pub const MAX_BLOCK_SIZE: usize = 2 << 20;
/// Deepest DAG this crate walks (a balanced 256 KiB DAG of depth 8 holds ~10^24 bytes).
pub const MAX_DEPTH: usize = 16;

/// The CIDv1 of `bytes` as a block with codec `codec`, hashed with SHA2-256.
pub fn block_cid(codec: u64, bytes: &[u8]) -> Cid {
    // A 32-byte digest always fits the 64-byte multihash, so `wrap` cannot fail; the
    // fallback keeps the function total without a panic path.
    let mh = Multihash::<64>::wrap(SHA2_256, &sha256(bytes)).unwrap_or_default();
    Cid::new_v1(codec, mh)
}

/// The CID `ipfs add --cid-version=1` gives `data`.
pub fn cid_of(data: &[u8]) -> Cid {
    build_dag(data, |_, _| Ok(())).unwrap_or_default()
}

/// Parses a CID string (any multibase, v0 or v1) into a [`Cid`].
///
/// # Errors
/// [`Error::MalformedCid`] with the parser's reason.
pub fn parse_cid(s: &str) -> Result<Cid> {
    Cid::from_str(s).map_err(|e| Error::MalformedCid(format!("{s:?}: {e}")))
}

/// Chunks `data` into the UnixFS DAG `ipfs add --cid-version=1` builds, hands every
/// block to `sink` (leaves first, each node after its children), and returns the root.
///
/// # Errors
/// Whatever `sink` returns.
pub fn build_dag(data: &[u8], mut sink: impl FnMut(&Cid, &[u8]) -> Result<()>) -> Result<Cid> {
    // (cid, cumulative encoded size, file bytes) of each node of the current level.
    let mut level: Vec<(Cid, u64, u64)> = Vec::with_capacity(data.len() / CHUNK_SIZE + 1);
    let mut chunks = data.chunks(CHUNK_SIZE).peekable();
    if chunks.peek().is_none() {
        let cid = block_cid(RAW, &[]);
        sink(&cid, &[])?;
        return Ok(cid);
    }
    for chunk in chunks {
        let cid = block_cid(RAW, chunk);
        sink(&cid, chunk)?;
        level.push((cid, chunk.len() as u64, chunk.len() as u64));
    }
    // Grouping each level by MAX_LINKS until one node remains is exactly Kubo's balanced
    // layout: every subtree but the last is full, and all leaves sit at the same depth.
    // A single raw leaf is its own root; otherwise group until one node remains.
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(MAX_LINKS));
        for group in level.chunks(MAX_LINKS) {
            let links: Vec<unixfs::PbLink> = group
                .iter()
                .map(|&(cid, tsize, _)| unixfs::PbLink { cid, tsize })
                .collect();
            let sizes: Vec<u64> = group.iter().map(|&(_, _, size)| size).collect();
            let node = unixfs::encode_file_node(&links, &sizes);
            let cid = block_cid(DAG_PB, &node);
            sink(&cid, &node)?;
            let tsize = node.len() as u64 + links.iter().map(|l| l.tsize).sum::<u64>();
            next.push((cid, tsize, sizes.iter().sum()));
        }
        level = next;
    }
    level
        .first()
        .map(|&(cid, ..)| cid)
        .ok_or_else(|| Error::MalformedDag {
            cid: String::new(),
            reason: "empty DAG".into(),
        })
}

/// Checks that `bytes` are the block `cid` names.
///
/// # Errors
/// [`Error::UnsupportedCid`] for hashes other than SHA2-256 and identity,
/// [`Error::CorruptBlock`] when the bytes do not match.
pub fn verify_block(cid: &Cid, bytes: &[u8]) -> Result<()> {
    let mh = cid.hash();
    let matches = match mh.code() {
        SHA2_256 => mh.digest() == sha256(bytes).as_slice(),
        IDENTITY => mh.digest() == bytes,
        other => {
            return Err(Error::UnsupportedCid {
                cid: cid.to_string(),
                reason: format!("multihash code {other:#x} (only sha2-256 and identity)"),
            });
        }
    };
    if matches {
        Ok(())
    } else {
        Err(Error::CorruptBlock {
            cid: cid.to_string(),
            reason: format!("{} bytes that do not hash to this CID", bytes.len()),
        })
    }
}

/// The CIDs a block links to: none for raw blocks, the links of a dag-pb node.
///
/// # Errors
/// [`Error::MalformedDag`] for an undecodable dag-pb node, [`Error::UnsupportedCid`] for
/// other codecs.
pub fn links_of(cid: &Cid, bytes: &[u8]) -> Result<Vec<Cid>> {
    match cid.codec() {
        RAW => Ok(Vec::new()),
        DAG_PB => unixfs::decode_node(bytes)
            .map(|node| node.links.into_iter().map(|l| l.cid).collect())
            .map_err(|reason| Error::MalformedDag {
                cid: cid.to_string(),
                reason,
            }),
        other => Err(unsupported_codec(cid, other)),
    }
}

fn unsupported_codec(cid: &Cid, codec: u64) -> Error {
    Error::UnsupportedCid {
        cid: cid.to_string(),
        reason: format!("codec {codec:#x} is neither raw (0x55) nor dag-pb (0x70)"),
    }
}

/// Reassembles the file bytes under `root`, fetching each block with `fetch`, which must
/// return bytes already checked against the CID (see [`verify_block`]). Output beyond
/// `limit` bytes is refused, so a DAG that links one node many times cannot exhaust
/// memory.
///
/// # Errors
/// [`Error::MalformedDag`] for nodes that are not UnixFS files or whose sizes disagree,
/// [`Error::TooLong`] past `limit`, and whatever `fetch` returns.
pub fn assemble(
    root: &Cid,
    limit: u64,
    mut fetch: impl FnMut(&Cid) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    append_file(root, &mut fetch, &mut out, limit, 0)?;
    Ok(out)
}

fn append_file(
    cid: &Cid,
    fetch: &mut impl FnMut(&Cid) -> Result<Vec<u8>>,
    out: &mut Vec<u8>,
    limit: u64,
    depth: usize,
) -> Result<u64> {
    let room = |out: &Vec<u8>, extra: usize| {
        let len = out.len() as u64 + extra as u64;
        if len > limit {
            Err(Error::TooLong {
                field: "assembled content",
                len,
                max: limit,
            })
        } else {
            Ok(())
        }
    };
    let malformed = |reason: String| Error::MalformedDag {
        cid: cid.to_string(),
        reason,
    };
    if depth > MAX_DEPTH {
        return Err(malformed(format!("deeper than {MAX_DEPTH} levels")));
    }
    let block = fetch(cid)?;
    match cid.codec() {
        RAW => {
            room(out, block.len())?;
            out.extend_from_slice(&block);
            Ok(block.len() as u64)
        }
        DAG_PB => {
            let node = unixfs::decode_node(&block).map_err(malformed)?;
            let data = unixfs::decode_data(node.data.unwrap_or_default()).map_err(malformed)?;
            if data.kind == unixfs::DataType::Raw && !node.links.is_empty() {
                return Err(malformed("a raw UnixFS node with links".into()));
            }
            if !node.links.is_empty() && data.blocksizes.len() != node.links.len() {
                return Err(malformed(format!(
                    "{} links but {} blocksizes",
                    node.links.len(),
                    data.blocksizes.len()
                )));
            }
            room(out, data.data.len())?;
            out.extend_from_slice(data.data);
            let mut total = data.data.len() as u64;
            for (link, &declared) in node.links.iter().zip(&data.blocksizes) {
                let got = append_file(&link.cid, fetch, out, limit, depth + 1)?;
                if got != declared {
                    return Err(malformed(format!(
                        "child {} holds {got} bytes, the node declares {declared}",
                        link.cid
                    )));
                }
                total += got;
            }
            if let Some(filesize) = data.filesize
                && filesize != total
            {
                return Err(malformed(format!(
                    "declares {filesize} bytes, holds {total}"
                )));
            }
            Ok(total)
        }
        other => Err(unsupported_codec(cid, other)),
    }
}
