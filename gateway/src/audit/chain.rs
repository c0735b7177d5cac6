//! The hash chain of one stream.
//!
//! Every stored event carries `hash = SHA-256(prev_hash ‖ canonical bytes)`,
//! where `prev_hash` is the hash of the stream's previous event (32 zero
//! bytes for the first) and the canonical bytes cover every column an
//! auditor relies on: stream, sequence, event type and version, event id,
//! the recording instant, the payload and the metadata. Personal data sits
//! in the payload as ciphertext, so destroying a person's key leaves every
//! hash intact.
//!
//! The canonical bytes are defined so that anybody can recompute them from a
//! database dump (see `docs/auditors.md`):
//!
//! ```text
//! "lianxi.event.v1" 0x00
//! str(aggregate_type) str(aggregate_id) u64(sequence)
//! str(event_type) str(event_version) event_id (16 bytes)
//! i64(recorded_at, microseconds since 1970-01-01T00:00:00Z)
//! str(canonical JSON of payload) str(canonical JSON of metadata)
//! ```
//!
//! `str(x)` is the UTF-8 length as a big-endian u32 followed by the bytes;
//! integers are big-endian. Canonical JSON has no insignificant whitespace,
//! object keys in byte order, strings escaped as JSON requires (`"` `\`
//! and control characters only), numbers written as integers when they are
//! whole and fit 64 bits, other numbers as the shortest exponent form that
//! reads back as the same double (`2.5e0`, `1e300`). A number thus survives
//! PostgreSQL's `jsonb`, which keeps decimals, unchanged.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of a stream's first event.
pub const GENESIS: Hash = [0; 32];

const DOMAIN_TAG: &[u8] = b"lianxi.event.v1\0";

/// The columns of a stored event that its hash covers.
#[derive(Clone, Copy, Debug)]
pub struct EventFields<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub sequence: i64,
    pub event_type: &'a str,
    pub event_version: &'a str,
    pub event_id: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub payload: &'a Value,
    pub metadata: &'a Value,
}

/// The hash of an event whose predecessor in the stream hashed to `prev`.
pub fn event_hash(prev: &Hash, event: &EventFields<'_>) -> Hash {
    let mut buf = Vec::with_capacity(512);
    canonical_bytes(event, &mut buf);
    hash_bytes(prev, &buf)
}

/// `SHA-256(prev ‖ canonical)`, for callers that reuse a buffer.
pub fn hash_bytes(prev: &Hash, canonical: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// Appends the canonical bytes of `event` to `out`.
pub fn canonical_bytes(event: &EventFields<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(DOMAIN_TAG);
    put_str(out, event.aggregate_type.as_bytes());
    put_str(out, event.aggregate_id.as_bytes());
    out.extend_from_slice(&(event.sequence as u64).to_be_bytes());
    put_str(out, event.event_type.as_bytes());
    put_str(out, event.event_version.as_bytes());
    out.extend_from_slice(event.event_id.as_bytes());
    out.extend_from_slice(&event.recorded_at.timestamp_micros().to_be_bytes());
    put_json(out, event.payload);
    put_json(out, event.metadata);
}

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn put_json(out: &mut Vec<u8>, value: &Value) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    write_canonical(value, out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// `value` as canonical JSON text.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    // Only JSON text was written: every byte came from valid UTF-8.
    String::from_utf8_lossy(&out).into_owned()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) {
    use std::io::Write as _;
    // Bounds of the whole numbers a u64/i64 holds exactly as f64 comparisons.
    const I64_MIN: f64 = -9_223_372_036_854_775_808.0;
    const U64_END: f64 = 18_446_744_073_709_551_616.0;
    let written = if let Some(i) = n.as_i64() {
        write!(out, "{i}")
    } else if let Some(u) = n.as_u64() {
        write!(out, "{u}")
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        if f.fract() == 0.0 && (I64_MIN..0.0).contains(&f) {
            write!(out, "{}", f as i64)
        } else if f.fract() == 0.0 && (0.0..U64_END).contains(&f) {
            write!(out, "{}", f as u64)
        } else {
            // The shortest text that reads back as the same f64, in
            // exponent form: fixed by the language, not by a JSON library.
            write!(out, "{f:e}")
        }
    };
    // Writing into a Vec cannot fail.
    debug_assert!(written.is_ok());
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields<'a>(payload: &'a Value, metadata: &'a Value) -> EventFields<'a> {
        EventFields {
            aggregate_type: "grievance",
            aggregate_id: "4f1c6a1e-0000-4000-8000-000000000001",
            sequence: 1,
            event_type: "GrievanceFiled",
            event_version: "1",
            event_id: Uuid::from_u128(7),
            recorded_at: DateTime::from_timestamp_micros(1_795_000_000_123_456).unwrap_or_default(),
            payload,
            metadata,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, 2.5, "x\ny"], "a": {"d": null, "c": true} }"#)
                .unwrap_or_default();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":true,"d":null},"b":[1,2.5e0,"x\ny"]}"#
        );
    }

    #[test]
    fn numbers_survive_a_decimal_store() {
        // jsonb keeps `1.0` and `10000000000000000000`; serde_json writes the
        // f64 1e19 as `1e19`. All must hash alike.
        for (a, b) in [
            ("1.0", "1"),
            ("1e19", "10000000000000000000"),
            ("-0.0", "0"),
            ("-2.0", "-2"),
        ] {
            let a: Value = serde_json::from_str(a).unwrap_or_default();
            let b: Value = serde_json::from_str(b).unwrap_or_default();
            assert_eq!(canonical_json(&a), canonical_json(&b));
        }
        let big: Value = serde_json::from_str("1e300").unwrap_or_default();
        assert_eq!(canonical_json(&big), "1e300");
    }

    #[test]
    fn strings_escape_exactly_as_json_requires() {
        let v = json!("a\"b\\c\u{1}é中");
        let text = canonical_json(&v);
        assert_eq!(text, "\"a\\\"b\\\\c\\u0001é中\"");
        let back: Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, v);
    }

    #[test]
    fn every_covered_column_changes_the_hash() {
        let payload = json!({"title": "Lift broken"});
        let metadata = json!({"actor": "a", "role": "resident"});
        let base = fields(&payload, &metadata);
        let h = event_hash(&GENESIS, &base);
        let other_payload = json!({"title": "Lift broken!"});
        let other_metadata = json!({"actor": "b", "role": "resident"});
        let variants = [
            EventFields {
                aggregate_id: "4f1c6a1e-0000-4000-8000-000000000002",
                ..base
            },
            EventFields {
                sequence: 2,
                ..base
            },
            EventFields {
                event_type: "GrievanceAccepted",
                ..base
            },
            EventFields {
                event_version: "2",
                ..base
            },
            EventFields {
                event_id: Uuid::from_u128(8),
                ..base
            },
            EventFields {
                recorded_at: base.recorded_at + chrono::Duration::microseconds(1),
                ..base
            },
            EventFields {
                payload: &other_payload,
                ..base
            },
            EventFields {
                metadata: &other_metadata,
                ..base
            },
        ];
        for v in &variants {
            assert_ne!(event_hash(&GENESIS, v), h, "{v:?}");
        }
        assert_ne!(event_hash(&[1; 32], &base), h);
        assert_eq!(event_hash(&GENESIS, &base), h);
    }

    #[test]
    fn key_order_and_spacing_do_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":{"b":2,"a":[3]}}"#).unwrap_or_default();
        let b: Value =
            serde_json::from_str(r#"{ "y": { "a": [3], "b": 2.0 }, "x": 1 }"#).unwrap_or_default();
        let m = json!({});
        assert_eq!(
            event_hash(&GENESIS, &fields(&a, &m)),
            event_hash(&GENESIS, &fields(&b, &m))
        );
    }
}
