//! ClickHouse's RowBinary format, both ways: inserts are encoded with [`RowWriter`], query
//! results decoded with [`RowReader`]. Binary blobs (the zstd `detail`/`payload` columns) travel
//! as they are, with no escaping. SQL literals for queries are quoted here too.

use crate::StoreError;

/// Appends values in RowBinary: little-endian numbers, LEB128-prefixed strings, a null flag
/// byte before each `Nullable` value.
#[derive(Default)]
pub struct RowWriter {
    pub buf: Vec<u8>,
}

impl RowWriter {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A `FixedString(N)`: exactly the bytes given.
    pub fn fixed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    pub fn bytes(&mut self, v: &[u8]) {
        let mut n = v.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.buf.push(byte);
                break;
            }
            self.buf.push(byte | 0x80);
        }
        self.buf.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    /// An `Array(String)`: the element count (LEB128), then each string.
    pub fn str_array<S: AsRef<str>>(&mut self, items: &[S]) {
        let mut n = items.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.buf.push(byte);
                break;
            }
            self.buf.push(byte | 0x80);
        }
        for s in items {
            self.str(s.as_ref());
        }
    }
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.u8(0);
                self.str(s);
            }
            None => self.u8(1),
        }
    }
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(n) => {
                self.u8(0);
                self.i64(n);
            }
            None => self.u8(1),
        }
    }
    pub fn opt_fixed(&mut self, v: Option<&[u8]>) {
        match v {
            Some(b) => {
                self.u8(0);
                self.fixed(b);
            }
            None => self.u8(1),
        }
    }
}

/// Reads values from a RowBinary result in the order the query selected them.
pub struct RowReader<'a> {
    data: &'a [u8],
    pos: usize,
}

fn truncated() -> StoreError {
    StoreError::Engine("truncated RowBinary answer from ClickHouse".into())
}

impl<'a> RowReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        RowReader { data, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let out = self.data.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn i32(&mut self) -> Result<i32, StoreError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    pub fn u16(&mut self) -> Result<u16, StoreError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64, StoreError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn fixed(&mut self, n: usize) -> Result<Vec<u8>, StoreError> {
        Ok(self.take(n)?.to_vec())
    }
    pub fn bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = self.varint()?;
        Ok(self.take(n)?.to_vec())
    }
    /// The element count of an `Array` (LEB128), before its elements.
    pub fn varint(&mut self) -> Result<usize, StoreError> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let byte = self.u8()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return Err(StoreError::Engine(
                    "bad string length in ClickHouse's answer".into(),
                ));
            }
        }
        usize::try_from(n).map_err(|_| truncated())
    }
    pub fn string(&mut self) -> Result<String, StoreError> {
        String::from_utf8(self.bytes()?).map_err(|_| {
            StoreError::Engine("ClickHouse returned a string that is not UTF-8".into())
        })
    }
    fn is_null(&mut self) -> Result<bool, StoreError> {
        Ok(self.u8()? != 0)
    }
    pub fn opt_string(&mut self) -> Result<Option<String>, StoreError> {
        if self.is_null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }
    pub fn opt_i64(&mut self) -> Result<Option<i64>, StoreError> {
        if self.is_null()? {
            return Ok(None);
        }
        self.i64().map(Some)
    }
    pub fn opt_fixed(&mut self, n: usize) -> Result<Option<Vec<u8>>, StoreError> {
        if self.is_null()? {
            return Ok(None);
        }
        self.fixed(n).map(Some)
    }
}

/// A string literal for ClickHouse SQL: quoted, with backslashes and quotes escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A binary literal (ids): `unhex('…')`.
pub fn bin(bytes: &[u8]) -> String {
    format!("unhex('{}')", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let mut w = RowWriter::default();
        w.u8(7);
        w.i64(-5);
        w.u64(u64::MAX);
        w.i32(-3);
        w.str(&"x".repeat(300));
        w.opt_str(None);
        w.opt_str(Some("é"));
        w.opt_i64(Some(9));
        w.opt_fixed(Some(&[1, 2]));
        w.opt_fixed(None);
        let mut r = RowReader::new(&w.buf);
        assert_eq!(r.u8().unwrap(), 7);
        assert_eq!(r.i64().unwrap(), -5);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.i32().unwrap(), -3);
        assert_eq!(r.string().unwrap(), "x".repeat(300));
        assert_eq!(r.opt_string().unwrap(), None);
        assert_eq!(r.opt_string().unwrap().as_deref(), Some("é"));
        assert_eq!(r.opt_i64().unwrap(), Some(9));
        assert_eq!(r.opt_fixed(2).unwrap(), Some(vec![1, 2]));
        assert_eq!(r.opt_fixed(2).unwrap(), None);
        assert!(r.is_empty());
        assert!(r.u8().is_err(), "reading past the end is an error");
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r"a'b\c"), r"'a\'b\\c'");
    }
}
