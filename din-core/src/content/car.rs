//! CARv1 files: how IPFS nodes move blocks in bulk (`ipfs dag export` / `ipfs dag
//! import`).
//!
//! ```text
//! car     = varint(len) || header || section*
//! header  = DAG-CBOR {"roots": [CID, ...], "version": 1}   (len bytes)
//! section = varint(len) || CID bytes || block bytes          (len bytes)
//! ```
//!
//! [`CarReader`] reads untrusted files: every length is bounded, every block is checked
//! against its CID before it is returned, and anything malformed is an
//! [`Error::MalformedCar`] or [`Error::CorruptBlock`], never a panic. The store-level
//! import and export live in [`crate::store`].

use std::io::{BufRead, BufReader, Read, Write};

use cid::Cid;

use super::protobuf::put_varint;
use super::{MAX_BLOCK_SIZE, verify_block};
use crate::{Error, Result};

/// Largest CAR header accepted (room for thousands of roots).
pub const MAX_HEADER_SIZE: u64 = 1 << 20;
/// Most roots a CAR header may list.
pub const MAX_ROOTS: usize = 4096;

fn malformed(reason: impl Into<String>) -> Error {
    Error::MalformedCar(reason.into())
}

/// The DAG-CBOR header for `roots`.
fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let mut h = vec![0xa2]; // map of two entries, keys in DAG-CBOR order
    cbor_head(&mut h, 3, 5);
    h.extend_from_slice(b"roots");
    cbor_head(&mut h, 4, roots.len() as u64);
    for root in roots {
        let bytes = root.to_bytes();
        h.extend_from_slice(&[0xd8, 42]); // tag 42: CID
        cbor_head(&mut h, 2, bytes.len() as u64 + 1);
        h.push(0x00); // multibase identity prefix
        h.extend_from_slice(&bytes);
    }
    cbor_head(&mut h, 3, 7);
    h.extend_from_slice(b"version");
    h.push(0x01);
    h
}

fn cbor_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
}

/// Reads one CBOR item head: (major type, argument).
fn read_head(input: &mut &[u8]) -> Result<(u8, u64)> {
    let (&first, rest) = input
        .split_first()
        .ok_or_else(|| malformed("header truncated"))?;
    *input = rest;
    let (major, info) = (first >> 5, first & 0x1f);
    let width = match info {
        0..=23 => return Ok((major, u64::from(info))),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return Err(malformed("indefinite or reserved CBOR length in header")),
    };
    if input.len() < width {
        return Err(malformed("header truncated"));
    }
    let (arg, rest) = input.split_at(width);
    *input = rest;
    Ok((
        major,
        arg.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    ))
}

fn read_text<'a>(input: &mut &'a [u8]) -> Result<&'a [u8]> {
    match read_head(input)? {
        (3, len) => take(input, len),
        _ => Err(malformed("header map key is not a text string")),
    }
}

fn take<'a>(input: &mut &'a [u8], len: u64) -> Result<&'a [u8]> {
    let len = usize::try_from(len).map_err(|_| malformed("length overflows"))?;
    if input.len() < len {
        return Err(malformed("header truncated"));
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

/// Decodes a CARv1 header, returning its roots.
fn decode_header(mut input: &[u8]) -> Result<Vec<Cid>> {
    let input = &mut input;
    let (major, entries) = read_head(input)?;
    if major != 5 || entries != 2 {
        return Err(malformed("header is not a map of exactly {roots, version}"));
    }
    let (mut roots, mut version) = (None, None);
    for _ in 0..2 {
        match read_text(input)? {
            b"version" => match read_head(input)? {
                (0, v) => version = Some(v),
                _ => return Err(malformed("header version is not an unsigned integer")),
            },
            b"roots" => {
                let (major, count) = read_head(input)?;
                if major != 4 {
                    return Err(malformed("header roots is not an array"));
                }
                if count > MAX_ROOTS as u64 {
                    return Err(malformed(format!("{count} roots exceed {MAX_ROOTS}")));
                }
                let mut list = Vec::new();
                for _ in 0..count {
                    if read_head(input)? != (6, 42) {
                        return Err(malformed("root is not a CID (CBOR tag 42)"));
                    }
                    let bytes = match read_head(input)? {
                        (2, len) => take(input, len)?,
                        _ => return Err(malformed("root CID is not a byte string")),
                    };
                    let cid_bytes = match bytes.split_first() {
                        Some((0, rest)) => rest,
                        _ => return Err(malformed("root CID lacks the 0x00 multibase prefix")),
                    };
                    let cid = Cid::try_from(cid_bytes)
                        .map_err(|e| malformed(format!("bad root CID: {e}")))?;
                    list.push(cid);
                }
                roots = Some(list);
            }
            other => {
                return Err(malformed(format!(
                    "unexpected header key {:?}",
                    String::from_utf8_lossy(other)
                )));
            }
        }
    }
    if !input.is_empty() {
        return Err(malformed("bytes after the header map"));
    }
    match version {
        Some(1) => {}
        Some(2) => return Err(malformed("CARv2 is not supported; export CARv1")),
        Some(v) => return Err(malformed(format!("unknown CAR version {v}"))),
        None => return Err(malformed("header has no version")),
    }
    roots.ok_or_else(|| malformed("header has no roots"))
}

/// Writes a CARv1 file block by block.
#[derive(Debug)]
pub struct CarWriter<W: Write> {
    out: W,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header naming `roots`.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn new(mut out: W, roots: &[Cid]) -> Result<Self> {
        let header = encode_header(roots);
        let mut prefix = Vec::new();
        put_varint(&mut prefix, header.len() as u64);
        write_all(&mut out, &prefix)?;
        write_all(&mut out, &header)?;
        Ok(Self { out })
    }

    /// Appends one block.
    ///
    /// # Errors
    /// [`Error::Io`] when writing fails.
    pub fn write_block(&mut self, cid: &Cid, data: &[u8]) -> Result<()> {
        let cid_bytes = cid.to_bytes();
        let mut prefix = Vec::with_capacity(8 + cid_bytes.len());
        put_varint(&mut prefix, (cid_bytes.len() + data.len()) as u64);
        prefix.extend_from_slice(&cid_bytes);
        write_all(&mut self.out, &prefix)?;
        write_all(&mut self.out, data)
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// [`Error::Io`] when flushing fails.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(|e| Error::io("<car output>", e))?;
        Ok(self.out)
    }
}

fn write_all(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes)
        .map_err(|e| Error::io("<car output>", e))
}

/// Reads a CARv1 file, checking every block against its CID.
#[derive(Debug)]
pub struct CarReader<R: Read> {
    input: BufReader<R>,
    roots: Vec<Cid>,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    /// [`Error::MalformedCar`] for a bad header, [`Error::Io`] when reading fails.
    pub fn new(input: R) -> Result<Self> {
        let mut input = BufReader::new(input);
        let len = read_stream_varint(&mut input)?.ok_or_else(|| malformed("empty file"))?;
        if len == 0 || len > MAX_HEADER_SIZE {
            return Err(malformed(format!(
                "header length {len} outside 1..={MAX_HEADER_SIZE}"
            )));
        }
        let header = read_exact(&mut input, len, "header")?;
        let roots = decode_header(&header)?;
        Ok(Self { input, roots })
    }

    /// The roots the header names.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next verified block, or `None` at the end of the file.
    ///
    /// # Errors
    /// [`Error::MalformedCar`] for bad framing, [`Error::CorruptBlock`] when a block does
    /// not match its CID, [`Error::UnsupportedCid`] for unknown hashes, [`Error::Io`].
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>> {
        let Some(len) = read_stream_varint(&mut self.input)? else {
            return Ok(None);
        };
        let max = (MAX_BLOCK_SIZE + 128) as u64;
        if len == 0 || len > max {
            return Err(malformed(format!("section length {len} outside 1..={max}")));
        }
        let section = read_exact(&mut self.input, len, "section")?;
        let mut cursor = section.as_slice();
        let cid = Cid::read_bytes(&mut cursor)
            .map_err(|e| malformed(format!("bad CID in section: {e}")))?;
        let data = cursor.to_vec();
        verify_block(&cid, &data)?;
        Ok(Some((cid, data)))
    }
}

/// Reads a varint; `None` at a clean end of input (no byte at all).
fn read_stream_varint(input: &mut impl BufRead) -> Result<Option<u64>> {
    let mut value = 0u64;
    for i in 0..10 {
        let b = match read_byte(input)? {
            Some(b) => b,
            None if i == 0 => return Ok(None),
            None => return Err(malformed("truncated length prefix")),
        };
        if i == 9 && b > 1 {
            return Err(malformed("length prefix overflows 64 bits"));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(malformed("length prefix longer than 10 bytes"))
}

fn read_byte(input: &mut impl BufRead) -> Result<Option<u8>> {
    loop {
        match input.fill_buf() {
            Ok([]) => return Ok(None),
            Ok([b, ..]) => {
                let b = *b;
                input.consume(1);
                return Ok(Some(b));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("<car input>", e)),
        }
    }
}

fn read_exact(input: &mut impl Read, len: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    input
        .take(len)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("<car input>", e))?;
    if (buf.len() as u64) < len {
        return Err(malformed(format!(
            "{what} truncated: {} of {len} bytes",
            buf.len()
        )));
    }
    Ok(buf)
}
