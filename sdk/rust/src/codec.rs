//! The protobuf envelope (`abi/proto/wafer/v1/envelope.proto`), coded by hand.
//!
//! Only two messages cross the ABI: the guest decodes a `Request` and encodes a
//! `Response`. A ~200-line codec keeps guests small and builds fast, where prost would
//! add a proc-macro and a runtime crate. Decoding skips unknown fields of every wire
//! type (ABI.md, compatibility rule 2), so a guest built today keeps working on every
//! 1.x host.

use crate::{Request, Response};
use std::fmt;

/// Why the request bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(&'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid wafer.v1.Request: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const GROUP_START: u8 = 3;
const GROUP_END: u8 = 4;
const FIXED32: u8 = 5;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or(DecodeError("truncated varint"))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.buf.len());
        let end = end.ok_or(DecodeError("truncated field"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// Reads a tag: (field number, wire type).
    fn tag(&mut self) -> Result<(u64, u8), DecodeError> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 {
            return Err(DecodeError("field number 0"));
        }
        Ok((field, (key & 7) as u8))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| DecodeError("length too large"))?;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError("string is not UTF-8"))
    }

    /// Skips the value of a field we do not know, whatever its wire type.
    fn skip(&mut self, field: u64, wire: u8) -> Result<(), DecodeError> {
        match wire {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            FIXED32 => self.take(4).map(drop),
            GROUP_START => loop {
                // A (deprecated) group runs until the matching end tag; groups nest.
                let (inner, inner_wire) = self.tag()?;
                if inner_wire == GROUP_END {
                    if inner != field {
                        return Err(DecodeError("mismatched group end"));
                    }
                    return Ok(());
                }
                self.skip(inner, inner_wire)?;
            },
            GROUP_END => Err(DecodeError("unexpected group end")),
            _ => Err(DecodeError("unknown wire type")),
        }
    }
}

fn expect(wire: u8, want: u8) -> Result<(), DecodeError> {
    if wire == want {
        Ok(())
    } else {
        Err(DecodeError("known field with the wrong wire type"))
    }
}

impl Reader<'_> {
    fn string_field(&mut self, wire: u8) -> Result<String, DecodeError> {
        expect(wire, LEN)?;
        self.string()
    }

    fn bytes_field(&mut self, wire: u8) -> Result<Vec<u8>, DecodeError> {
        expect(wire, LEN)?;
        Ok(self.bytes()?.to_vec())
    }
}

/// Decodes a `wafer.v1.Request`.
pub fn decode_request(buf: &[u8]) -> Result<Request, DecodeError> {
    let mut req = Request::default();
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => req.method = r.string_field(wire)?,
            2 => req.path = r.string_field(wire)?,
            3 => req.query = r.string_field(wire)?,
            4 => {
                expect(wire, LEN)?;
                req.headers.push(decode_header(r.bytes()?)?);
            }
            5 => req.body = r.bytes_field(wire)?,
            6 => req.invocation_id = r.string_field(wire)?,
            7 => {
                expect(wire, VARINT)?;
                req.deadline_ms = r.varint()?;
            }
            _ => r.skip(field, wire)?,
        }
    }
    Ok(req)
}

fn decode_header(buf: &[u8]) -> Result<(String, String), DecodeError> {
    let (mut name, mut value) = (String::new(), String::new());
    let mut r = Reader::new(buf);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => name = r.string_field(wire)?,
            2 => value = r.string_field(wire)?,
            _ => r.skip(field, wire)?,
        }
    }
    Ok((name, value))
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field << 3 | u64::from(LEN));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn header_len(name: &str, value: &str) -> usize {
    let field = |n: usize| {
        if n == 0 {
            0
        } else {
            1 + varint_len(n as u64) + n
        }
    };
    field(name.len()) + field(value.len())
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Encodes a `wafer.v1.Response`; zero values are omitted, as proto3 does.
pub fn encode_response(res: &Response) -> Vec<u8> {
    let mut out = Vec::with_capacity(res.body.len() + 16 + res.headers.len() * 48);
    if res.status != 0 {
        put_varint(&mut out, 1 << 3 | u64::from(VARINT));
        put_varint(&mut out, u64::from(res.status));
    }
    for (name, value) in &res.headers {
        put_varint(&mut out, 2 << 3 | u64::from(LEN));
        put_varint(&mut out, header_len(name, value) as u64);
        if !name.is_empty() {
            put_len(&mut out, 1, name.as_bytes());
        }
        if !value.is_empty() {
            put_len(&mut out, 2, value.as_bytes());
        }
    }
    if !res.body.is_empty() {
        put_len(&mut out, 3, &res.body);
    }
    out
}

/// Encodes a `wafer.v1.Request`; the host's job, kept here for tests and tools.
pub fn encode_request(req: &Request) -> Vec<u8> {
    let mut out = Vec::with_capacity(req.body.len() + 64);
    for (field, s) in [(1, &req.method), (2, &req.path), (3, &req.query)] {
        if !s.is_empty() {
            put_len(&mut out, field, s.as_bytes());
        }
    }
    for (name, value) in &req.headers {
        let mut h = Vec::with_capacity(header_len(name, value));
        if !name.is_empty() {
            put_len(&mut h, 1, name.as_bytes());
        }
        if !value.is_empty() {
            put_len(&mut h, 2, value.as_bytes());
        }
        put_len(&mut out, 4, &h);
    }
    if !req.body.is_empty() {
        put_len(&mut out, 5, &req.body);
    }
    if !req.invocation_id.is_empty() {
        put_len(&mut out, 6, req.invocation_id.as_bytes());
    }
    if req.deadline_ms != 0 {
        put_varint(&mut out, 7 << 3 | u64::from(VARINT));
        put_varint(&mut out, req.deadline_ms);
    }
    out
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
