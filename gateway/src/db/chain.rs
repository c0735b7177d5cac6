//! The hash chain of one stream.
//!
//! Every stored event carries
//! `hash = SHA-256(prev_hash ‖ SHA-256(canonical bytes))`, where `prev_hash`
//! is the hash of the stream's previous event (32 zero bytes for the first)
//! and the canonical bytes cover every column an
//! auditor relies on: stream, sequence, event type and version, event id,
//! the recording instant, the payload and the metadata. Personal data sits
//! in the payload as ciphertext, so destroying a person's key leaves every
//! hash intact.
//!
//! The canonical bytes are defined so that anybody can recompute them from a
//! database dump, without parsing JSON (see `docs/auditors.md`):
//!
//! ```text
//! "lianxi.event.v1" 0x00
//! str(aggregate_type) str(aggregate_id) u64(sequence)
//! str(event_type) str(event_version) event_id (16 bytes)
//! i64(recorded_at, microseconds since 1970-01-01T00:00:00Z)
//! str(payload text) str(metadata text)
//! ```
//!
//! `str(x)` is the UTF-8 length as a big-endian u32 followed by the bytes;
//! integers are big-endian. The payload and metadata text is the JSON text
//! exactly as stored (`payload::text`), which the service writes in one
//! canonical form ([`canonical_json`]) on both stores: the form PostgreSQL's
//! `jsonb` prints (object keys shortest first, then in byte order; `", "`
//! and `": "` as separators; numbers as plain decimals).
//!
//! Hashing the content first makes the digest of an event independent of its
//! place in the chain: PostgreSQL can recompute it alone
//! ([`CONTENT_DIGEST_SQL`], as the auditors' guide shows).

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
    /// The payload's JSON text as stored.
    pub payload: &'a str,
    /// The metadata's JSON text as stored.
    pub metadata: &'a str,
}

/// The hash of an event whose predecessor in the stream hashed to `prev`.
pub fn event_hash(prev: &Hash, event: &EventFields<'_>) -> Hash {
    let mut buf = Vec::with_capacity(512);
    link(prev, &content_digest(event, &mut buf))
}

/// `SHA-256(canonical bytes)` of `event`, using `buf` as scratch space.
pub fn content_digest(event: &EventFields<'_>, buf: &mut Vec<u8>) -> Hash {
    buf.clear();
    canonical_bytes(event, buf);
    Sha256::digest(&buf[..]).into()
}

/// The SQL expression that PostgreSQL evaluates to the same value as
/// [`content_digest`], over a row of `events` and `p`, `m`: the UTF-8 bytes of
/// `payload::text` and `metadata::text` (computed once, in a lateral subquery).
pub const CONTENT_DIGEST_SQL: &str = "sha256(
    '\\x6c69616e78692e6576656e742e763100'::bytea
    || int4send(octet_length(convert_to(aggregate_type, 'UTF8'))) || convert_to(aggregate_type, 'UTF8')
    || int4send(octet_length(convert_to(aggregate_id, 'UTF8'))) || convert_to(aggregate_id, 'UTF8')
    || int8send(sequence)
    || int4send(octet_length(convert_to(event_type, 'UTF8'))) || convert_to(event_type, 'UTF8')
    || int4send(octet_length(convert_to(event_version, 'UTF8'))) || convert_to(event_version, 'UTF8')
    || uuid_send(event_id)
    || int8send((extract(epoch FROM recorded_at) * 1000000)::bigint)
    || int4send(octet_length(p)) || p
    || int4send(octet_length(m)) || m)";

/// The chain link: `SHA-256(prev ‖ content digest)`.
pub fn link(prev: &Hash, content: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(content);
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
    put_str(out, event.payload.as_bytes());
    put_str(out, event.metadata.as_bytes());
}

fn put_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// `value` in canonical form, the text PostgreSQL prints for it as `jsonb`:
/// object keys
/// shortest first and then in byte order, `", "` between items, `": "`
/// after keys, strings escaped as `jsonb` escapes them, and numbers as plain
/// decimals with the scale their text gave (`1.0`, `100` for `1e2`).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&numeric_text(&n.to_string())),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| {
                (a.0.len(), a.0.as_bytes()).cmp(&(b.0.len(), b.0.as_bytes()))
            });
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(key, out);
                out.push_str(": ");
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON number's text as PostgreSQL's `numeric` prints it: no exponent,
/// the scale the text implies (`1.5e-7` → `0.00000015`, `2.50` → `2.50`),
/// no negative zero.
fn numeric_text(text: &str) -> String {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int_digits, frac_digits) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: Vec<u8> = int_digits.bytes().chain(frac_digits.bytes()).collect();
    // Where the decimal point falls within `digits`.
    let point = int_digits.len() as i64 + exponent;
    let len = digits.len() as i64;
    let mut integer = String::new();
    let mut fraction = String::new();
    if point <= 0 {
        integer.push('0');
        fraction.extend(std::iter::repeat_n('0', (-point) as usize));
        fraction.extend(digits.iter().map(|&d| d as char));
    } else if point >= len {
        integer.extend(digits.iter().map(|&d| d as char));
        integer.extend(std::iter::repeat_n('0', (point - len) as usize));
    } else {
        integer.extend(digits[..point as usize].iter().map(|&d| d as char));
        fraction.extend(digits[point as usize..].iter().map(|&d| d as char));
    }
    let integer = integer.trim_start_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    let zero = integer == "0" && fraction.bytes().all(|d| d == b'0');
    let mut out = String::with_capacity(integer.len() + fraction.len() + 2);
    if negative && !zero {
        out.push('-');
    }
    out.push_str(integer);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(&fraction);
    }
    out
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => {
                out.push_str(&s[start..i]);
                out.push_str(&format!("\\u{b:04x}"));
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(escape);
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields<'a>(payload: &'a str, metadata: &'a str) -> EventFields<'a> {
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

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_default()
    }

    #[test]
    fn canonical_json_is_what_postgresql_prints() {
        // What PostgreSQL 15 prints for this value as serde_json sends it
        // (`1e2` and `-0` arrive as the doubles `100.0` and `-0.0`).
        let v = parse(
            r#"{"bb":1,"a":[1,2.50,1e2,1.5e-7,-0.0,-0,"x\u0001y\"é\t"],"c":{},"d":[],"e":1e30}"#,
        );
        assert_eq!(
            canonical_json(&v),
            r#"{"a": [1, 2.5, 100.0, 0.00000015, 0.0, 0.0, "x\u0001y\"é\t"], "c": {}, "d": [], "e": 1000000000000000000000000000000, "bb": 1}"#
        );
    }

    #[test]
    fn numbers_are_plain_decimals_with_their_scale() {
        for (text, printed) in [
            ("0", "0"),
            ("-12", "-12"),
            ("2.50", "2.50"),
            ("1.0", "1.0"),
            ("1e2", "100"),
            ("1.50e1", "15.0"),
            ("1.5e-7", "0.00000015"),
            ("-0.0", "0.0"),
            ("-1.5E+3", "-1500"),
            ("18446744073709551615", "18446744073709551615"),
        ] {
            assert_eq!(numeric_text(text), printed, "{text}");
        }
        // serde_json writes the f64 1e300 as `1e300`; PostgreSQL expands it.
        let big = canonical_json(&json!(1e300));
        assert_eq!(big.len(), 301);
        assert!(big.starts_with('1') && big[1..].bytes().all(|b| b == b'0'));
    }

    #[test]
    fn strings_escape_exactly_as_jsonb_does() {
        let v = json!("a\"b\\c\u{1}\u{8}\u{c}\n\r\té中\u{7f}");
        let text = canonical_json(&v);
        assert_eq!(text, "\"a\\\"b\\\\c\\u0001\\b\\f\\n\\r\\té中\u{7f}\"");
        assert_eq!(parse(&text), v);
    }

    #[test]
    fn every_covered_column_changes_the_hash() {
        let (payload, metadata) = (r#"{"title": "Lift broken"}"#, r#"{"actor": "a"}"#);
        let base = fields(payload, metadata);
        let h = event_hash(&GENESIS, &base);
        let variants = [
            EventFields {
                aggregate_type: "mediation_case",
                ..base
            },
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
                payload: r#"{"title": "Lift brokem"}"#,
                ..base
            },
            EventFields {
                metadata: r#"{"actor": "b"}"#,
                ..base
            },
            // Moving bytes between adjacent fields changes the length prefixes.
            EventFields {
                payload: r#"{"title": "Lift broken"}{"#,
                metadata: r#""actor": "a"}"#,
                ..base
            },
        ];
        for v in &variants {
            assert_ne!(event_hash(&GENESIS, v), h, "{v:?}");
        }
        assert_ne!(event_hash(&[1; 32], &base), h);
        assert_eq!(event_hash(&GENESIS, &base), h);
    }
}
