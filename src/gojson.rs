//! JSON written the way Go's encoding/json writes it, so files we rewrite look like Go's: compact,
//! and `<`, `>`, `&`, U+2028 and U+2029 escaped as \u003c, \u003e, \u0026, \u2028, \u2029.

use serde::Serialize;
use serde_json::ser::Formatter;
use std::io::{self, Write};

/// Compact output (the trait's defaults) with Go's extra escapes.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Scan bytes: the characters to escape are '<', '>', '&' and the three-byte sequences
        // E2 80 A8 / E2 80 A9 (U+2028, U+2029); most strings contain none of them.
        let bytes = fragment.as_bytes();
        if !needs_go_escape(bytes) {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let (escape, len) = match bytes[i] {
                b'<' => ("\\u003c", 1),
                b'>' => ("\\u003e", 1),
                b'&' => ("\\u0026", 1),
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    ("\\u2028", 3)
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    ("\\u2029", 3)
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape.as_bytes())?;
            i += len;
            start = i;
        }
        writer.write_all(&bytes[start..])
    }
}

/// Whether `bytes` holds a character Go escapes and serde_json does not. Checked a chunk at a
/// time without an early exit inside the chunk, which the compiler turns into vector compares:
/// the byte-at-a-time scan was a quarter of encoding a 50,000-layer list.
fn needs_go_escape(bytes: &[u8]) -> bool {
    bytes.chunks(32).any(|chunk| {
        chunk.iter().fold(false, |found, &b| found | matches!(b, b'<' | b'>' | b'&' | 0xE2))
    })
}

/// Serialize `value` as Go would.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    to_writer(&mut out, value)?;
    Ok(out)
}

pub fn to_writer<W: Write, T: Serialize + ?Sized>(writer: W, value: &T) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoFormatter);
    value.serialize(&mut ser)
}

pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing our own records to memory cannot fail: no maps with non-string keys.
    String::from_utf8(to_vec(value).expect("serializing a record")).expect("JSON is UTF-8")
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_characters_are_escaped_like_go() {
        let s = super::to_string(&serde_json::json!({"k": "a<b>&c\u{2028}"}));
        assert_eq!(s, r#"{"k":"a\u003cb\u003e\u0026c\u2028"}"#);
    }

    #[test]
    fn escapes_are_found_past_the_first_chunk_and_other_e2_characters_pass() {
        let long = format!("{}&{}\u{2029}\u{2013}", "x".repeat(40), "y".repeat(70));
        let s = super::to_string(&serde_json::json!([long]));
        assert_eq!(s, format!("[\"{}\\u0026{}\\u2029\u{2013}\"]", "x".repeat(40), "y".repeat(70)));
    }
}
