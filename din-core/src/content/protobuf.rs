//! The few protobuf primitives dag-pb and UnixFS need: varints and length-delimited
//! fields, read without panicking.

/// Appends `v` as an unsigned LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a field key.
pub(crate) fn put_key(out: &mut Vec<u8>, field: u64, wire_type: u64) {
    put_varint(out, (field << 3) | wire_type);
}

/// Appends a length-delimited field.
pub(crate) fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_key(out, field, 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a varint field.
pub(crate) fn put_varint_field(out: &mut Vec<u8>, field: u64, v: u64) {
    put_key(out, field, 0);
    put_varint(out, v);
}

/// Reads a minimal-or-not varint of at most 10 bytes; `None` when truncated or too long.
pub(crate) fn read_varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        let part = u64::from(byte & 0x7f);
        if i == 9 && byte > 1 {
            return None; // more than 64 bits
        }
        value |= part << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// One decoded protobuf field.
pub(crate) enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
}

/// Reads the next field as `(field number, value)`; `Err` with a reason on bad input.
pub(crate) fn read_field<'a>(input: &mut &'a [u8]) -> Result<(u64, Field<'a>), String> {
    let key = read_varint(input).ok_or("truncated field key")?;
    let (field, wire) = (key >> 3, key & 7);
    match wire {
        0 => Ok((
            field,
            Field::Varint(read_varint(input).ok_or("truncated varint")?),
        )),
        2 => {
            let len = read_varint(input).ok_or("truncated length")?;
            let len = usize::try_from(len).map_err(|_| "length overflows")?;
            if len > input.len() {
                return Err(format!(
                    "field {field} claims {len} bytes, {} left",
                    input.len()
                ));
            }
            let (bytes, rest) = input.split_at(len);
            *input = rest;
            Ok((field, Field::Bytes(bytes)))
        }
        other => Err(format!("unsupported wire type {other} in field {field}")),
    }
}
