//! dag-pb nodes and the UnixFS `Data` message they carry, as Kubo and Helia write them.
//!
//! ```text
//! PBNode { repeated PBLink Links = 2; optional bytes Data = 1; }   // Links written first
//! PBLink { optional bytes Hash = 1; optional string Name = 2; optional uint64 Tsize = 3; }
//! Data   { Type = 1 (File = 2, Raw = 0); Data = 2; filesize = 3; repeated blocksizes = 4 }
//! ```
//! A file node's links carry an empty `Name`, its `Tsize` is the whole subtree's encoded
//! size, and its `blocksizes` list the file bytes under each link.

use cid::Cid;

use super::protobuf::{Field, put_bytes_field, put_varint_field, read_field};

/// A link from a dag-pb node to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PbLink {
    pub(crate) cid: Cid,
    pub(crate) tsize: u64,
}

/// A decoded dag-pb node.
#[derive(Debug, Default)]
pub(crate) struct PbNode<'a> {
    pub(crate) links: Vec<PbLink>,
    pub(crate) data: Option<&'a [u8]>,
}

/// UnixFS node types this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    Raw,
    File,
}

/// A decoded UnixFS `Data` message.
#[derive(Debug)]
pub(crate) struct UnixFsData<'a> {
    pub(crate) kind: DataType,
    pub(crate) data: &'a [u8],
    pub(crate) filesize: Option<u64>,
    pub(crate) blocksizes: Vec<u64>,
}

/// Encodes a UnixFS file node over `links`, whose subtrees hold `blocksizes` file bytes.
pub(crate) fn encode_file_node(links: &[PbLink], blocksizes: &[u64]) -> Vec<u8> {
    let filesize: u64 = blocksizes.iter().sum();
    let mut data = Vec::with_capacity(8 + 4 * blocksizes.len());
    put_varint_field(&mut data, 1, 2); // Type = File
    put_varint_field(&mut data, 3, filesize);
    for &size in blocksizes {
        put_varint_field(&mut data, 4, size);
    }
    let mut out = Vec::with_capacity(48 * links.len() + data.len() + 8);
    let mut link_bytes = Vec::with_capacity(48);
    for link in links {
        link_bytes.clear();
        put_bytes_field(&mut link_bytes, 1, &link.cid.to_bytes());
        put_bytes_field(&mut link_bytes, 2, b"");
        put_varint_field(&mut link_bytes, 3, link.tsize);
        put_bytes_field(&mut out, 2, &link_bytes);
    }
    put_bytes_field(&mut out, 1, &data);
    out
}

/// Decodes a dag-pb node.
pub(crate) fn decode_node(mut input: &[u8]) -> Result<PbNode<'_>, String> {
    let mut node = PbNode::default();
    while !input.is_empty() {
        match read_field(&mut input)? {
            (2, Field::Bytes(link)) => {
                if node.data.is_some() {
                    return Err("links after data (non-canonical dag-pb)".into());
                }
                node.links.push(decode_link(link)?);
            }
            (1, Field::Bytes(data)) => {
                if node.data.replace(data).is_some() {
                    return Err("data field repeated".into());
                }
            }
            (field, _) => return Err(format!("unexpected field {field} in PBNode")),
        }
    }
    Ok(node)
}

fn decode_link(mut input: &[u8]) -> Result<PbLink, String> {
    let (mut cid, mut tsize) = (None, None);
    while !input.is_empty() {
        match read_field(&mut input)? {
            (1, Field::Bytes(hash)) => {
                let parsed = Cid::try_from(hash).map_err(|e| format!("bad link CID: {e}"))?;
                if cid.replace(parsed).is_some() {
                    return Err("link hash repeated".into());
                }
            }
            (2, Field::Bytes(_name)) => {}
            (3, Field::Varint(size)) => tsize = Some(size),
            (field, _) => return Err(format!("unexpected field {field} in PBLink")),
        }
    }
    Ok(PbLink {
        cid: cid.ok_or("link without hash")?,
        tsize: tsize.unwrap_or(0),
    })
}

/// Decodes a UnixFS `Data` message; directories, symlinks and HAMT shards are refused.
pub(crate) fn decode_data(mut input: &[u8]) -> Result<UnixFsData<'_>, String> {
    let mut kind = None;
    let mut out = UnixFsData {
        kind: DataType::File,
        data: &[],
        filesize: None,
        blocksizes: Vec::new(),
    };
    while !input.is_empty() {
        match read_field(&mut input)? {
            (1, Field::Varint(t)) => {
                kind = Some(match t {
                    0 => DataType::Raw,
                    2 => DataType::File,
                    1 => return Err("a directory, not a file".into()),
                    5 => return Err("a sharded directory, not a file".into()),
                    4 => return Err("a symlink, not a file".into()),
                    other => return Err(format!("unsupported UnixFS type {other}")),
                });
            }
            (2, Field::Bytes(data)) => out.data = data,
            (3, Field::Varint(size)) => out.filesize = Some(size),
            (4, Field::Varint(size)) => out.blocksizes.push(size),
            (4, Field::Bytes(mut packed)) => {
                while !packed.is_empty() {
                    let size = super::protobuf::read_varint(&mut packed)
                        .ok_or("truncated packed blocksizes")?;
                    out.blocksizes.push(size);
                }
            }
            // hashType, fanout, mode, mtime: metadata that does not change file bytes.
            (5..=7, Field::Varint(_)) | (8, Field::Bytes(_)) => {}
            (field, _) => return Err(format!("unexpected field {field} in UnixFS Data")),
        }
    }
    out.kind = kind.ok_or("UnixFS Data without a type")?;
    Ok(out)
}
