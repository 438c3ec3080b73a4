//! The scanner: one record's JSON text → its shape and column values.
//!
//! It walks the text once, byte by byte, keeping the dotted path of the
//! value it is in; it never builds a tree. It trusts nothing: text that
//! does not scan as JSON is an error here and kept whole by the caller.

use std::collections::HashMap;

use super::{put_varint, MARKER, TIMESTAMP};

/// The values of every column of a block being encoded.
#[derive(Default)]
pub(super) struct Columns {
    pub names: Vec<String>,
    ids: HashMap<String, usize>,
    pub values: Vec<ColumnValues>,
    /// Values added by the record being split, to undo if it fails.
    pending: Vec<(usize, usize, usize)>,
}

#[derive(Default)]
pub(super) struct ColumnValues {
    pub count: u64,
    pub lens: Vec<u8>,
    pub bytes: Vec<u8>,
}

impl Columns {
    /// Adds `value` to the column `path` and its marker to `shape`.
    pub(super) fn put(&mut self, path: &str, value: &[u8], shape: &mut Vec<u8>) {
        let id = match self.ids.get(path) {
            Some(&id) => id,
            None => {
                let id = self.names.len();
                self.names.push(path.to_owned());
                self.ids.insert(path.to_owned(), id);
                self.values.push(ColumnValues::default());
                id
            }
        };
        let column = &mut self.values[id];
        self.pending
            .push((id, column.lens.len(), column.bytes.len()));
        column.count += 1;
        put_varint(&mut column.lens, value.len() as u64);
        column.bytes.extend_from_slice(value);
        shape.push(MARKER);
        put_varint(shape, id as u64);
    }

    /// Values in the column `path` so far.
    pub(super) fn count(&self, path: &str) -> u64 {
        self.ids.get(path).map_or(0, |&id| self.values[id].count)
    }

    pub(super) fn commit(&mut self) {
        self.pending.clear();
    }

    /// Removes the values of the current record (its text did not scan).
    pub(super) fn rollback(&mut self) {
        while let Some((id, lens, bytes)) = self.pending.pop() {
            let column = &mut self.values[id];
            column.count -= 1;
            column.lens.truncate(lens);
            column.bytes.truncate(bytes);
        }
    }
}

/// A container the scanner is inside.
struct Level {
    /// In an object: whether the next string is a key (else a value).
    /// Always false in an array.
    expects_key: bool,
    is_array: bool,
    /// Length of `path` inside the container (its own path).
    base: usize,
    /// Length of `path` to restore when the container ends.
    restore: usize,
}

/// Splits one record's JSON text into its shape and column values.
///
/// A top-level `timestamp` value equal to `derived` (the record's time as
/// [`super::time::time_text`] writes it) is stored as an empty value: the decoder writes
/// it again from the record's time.
pub(super) fn split(
    text: &[u8],
    columns: &mut Columns,
    shape: &mut Vec<u8>,
    derived: &[u8],
) -> Result<(), ()> {
    let mut levels: Vec<Level> = Vec::with_capacity(8);
    // The dotted path of the value being read.
    let mut path = String::with_capacity(64);
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                shape.push(b);
                i += 1;
            }
            b':' | b',' => {
                let level = levels.last_mut().ok_or(())?;
                if !level.is_array {
                    level.expects_key = b == b',';
                }
                shape.push(b);
                i += 1;
            }
            b'{' | b'[' => {
                let restore = path.len();
                if levels.last().is_some_and(|l| l.is_array) {
                    path.push_str("[]");
                }
                levels.push(Level {
                    expects_key: b == b'{',
                    is_array: b == b'[',
                    base: path.len(),
                    restore,
                });
                shape.push(b);
                i += 1;
            }
            b'}' | b']' => {
                let level = levels.pop().ok_or(())?;
                path.truncate(level.restore);
                shape.push(b);
                i += 1;
            }
            b'"' if levels.last().is_some_and(|l| l.expects_key) => {
                let end = string_end(text, i)?;
                let key = std::str::from_utf8(&text[i + 1..end - 1]).map_err(|_| ())?;
                let base = levels.last().map_or(0, |l| l.base);
                path.truncate(base);
                if base > 0 {
                    path.push('.');
                }
                // A key spelled with escapes names the column of the key it
                // means (`"mess\u0061ge"` is `message`); the shape keeps
                // the spelling.
                if key.contains('\\') {
                    let key: String = serde_json::from_slice(&text[i..end]).map_err(|_| ())?;
                    path.push_str(&key);
                } else {
                    path.push_str(key);
                }
                shape.extend_from_slice(&text[i..end]);
                i = end;
            }
            _ => {
                let end = if b == b'"' {
                    string_end(text, i)?
                } else {
                    scalar_end(text, i)
                };
                let Some(level) = levels.last() else {
                    return Err(());
                };
                if end == i {
                    return Err(());
                }
                if level.is_array {
                    let at = path.len();
                    path.push_str("[]");
                    columns.put(&path, &text[i..end], shape);
                    path.truncate(at);
                } else if levels.len() == 1 && path == TIMESTAMP && &text[i..end] == derived {
                    columns.put(&path, b"", shape);
                } else {
                    columns.put(&path, &text[i..end], shape);
                }
                i = end;
            }
        }
    }
    if levels.is_empty() {
        Ok(())
    } else {
        Err(())
    }
}

/// The index just past the string that starts at `start` (a `"`).
fn string_end(text: &[u8], start: usize) -> Result<usize, ()> {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'"' => return Ok(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    Err(())
}

/// The index just past the number or literal that starts at `start`.
fn scalar_end(text: &[u8], start: usize) -> usize {
    text[start..]
        .iter()
        .position(|&b| {
            matches!(
                b,
                b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b':' | b'"' | b'{' | b'['
            )
        })
        .map_or(text.len(), |p| start + p)
}
