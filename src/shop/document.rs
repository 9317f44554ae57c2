//! The data file's JSON document: finds the two numbers this program owns (`ticket_num` and
//! `seq`) in the bytes as the user wrote them, and writes them back changing no other byte (a
//! teacher's notes, the field order, the spacing, numbers no float can hold). Knows no files.

use crate::safe_text::OneLine;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::exit::{Error, Result};
use crate::lang::tr;
use crate::settings::MAX_TICKETS;

/// Largest `seq` accepted: half of u64, so `seq + 1` for the next order can never overflow,
/// however many changes a long-lived file has seen (2^63 is out of reach of any real run).
pub(crate) const MAX_SEQ: u64 = u64::MAX / 2;

/// The seq after `seq`, or None past [`MAX_SEQ`]: the one place a next seq is made, so no
/// store and no mode writes one that every later reader refuses (or that a bigint wraps).
pub(crate) fn seq_after(seq: u64) -> Option<u64> {
    seq.checked_add(1).filter(|next| *next <= MAX_SEQ)
}

/// The contents of the data file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stock {
    pub ticket_num: u64,
    /// Number of the last change recorded in the order log (0 for a hand-written file).
    pub seq: u64,
    /// Whether the file carried a `seq` at all: a hand-written file starts a new log.
    pub has_seq: bool,
    /// The file as it was read, so a write keeps everything but the two numbers (a teacher's
    /// notes, the field order, the spacing, numbers no float can hold). `None` for a stock
    /// rebuilt from the order log alone.
    pub(crate) document: Option<Arc<Document>>,
}

/// A data file's bytes, and where in them the two numbers this program owns are.
#[derive(Debug, PartialEq)]
pub(crate) struct Document {
    bytes: Vec<u8>,
    ticket_num: Range<usize>,
    seq: SeqPlace,
}

#[derive(Debug, PartialEq)]
enum SeqPlace {
    /// The value's bytes.
    At(Range<usize>),
    /// A hand-written file has none: `"seq"` goes right after `ticket_num`'s value, written
    /// as `prefix` (a comma and the file's own spacing) plus the number.
    After { at: usize, prefix: String },
}

impl Stock {
    /// What a data file that does not exist yet starts from: no tickets, no history.
    pub(crate) fn new_file() -> Stock {
        Stock {
            has_seq: false,
            ..Stock::at(0, 0)
        }
    }

    /// A stock as grab-tickets writes it, with no other fields.
    pub(crate) fn at(ticket_num: u64, seq: u64) -> Stock {
        Stock {
            ticket_num,
            seq,
            has_seq: true,
            document: None,
        }
    }

    /// How long the document can grow while its two numbers grow: its length with both at
    /// their widest (and `seq` added, if the file has none yet).
    pub(crate) fn widest_len(&self) -> usize {
        let widest = Stock {
            ticket_num: MAX_TICKETS,
            seq: MAX_SEQ,
            ..self.clone()
        };
        widest.to_json().len()
    }

    /// The document with the two numbers written in, every other byte as it was read.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let (ticket_num, seq) = (self.ticket_num.to_string(), self.seq.to_string());
        let Some(doc) = &self.document else {
            return format!("{{\"ticket_num\":{ticket_num},\"seq\":{seq}}}\n").into_bytes();
        };
        let mut edits = [
            (doc.ticket_num.clone(), ticket_num),
            match &doc.seq {
                SeqPlace::At(range) => (range.clone(), seq),
                SeqPlace::After { at, prefix } => (*at..*at, format!("{prefix}{seq}")),
            },
        ];
        edits.sort_by_key(|(range, _)| range.start);
        let mut out = Vec::with_capacity(doc.bytes.len() + 24);
        let mut from = 0;
        for (range, text) in edits {
            out.extend_from_slice(&doc.bytes[from..range.start]);
            out.extend_from_slice(text.as_bytes());
            from = range.end;
        }
        out.extend_from_slice(&doc.bytes[from..]);
        out
    }
}

/// One top-level field as written: its key, where the key's text starts (when it has no
/// escapes, so it lies in the file as is) and its value's exact text.
struct Field<'a> {
    key: Cow<'a, str>,
    key_at: Option<usize>,
    value: &'a RawValue,
}

/// The top-level object's fields, in order, duplicates included (they are refused later,
/// by name).
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(Key(key)) = map.next_key()? {
                    fields.push((key, map.next_value()?));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A key, borrowed from the file when it can be (so its place in the file is known).
#[derive(serde::Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

/// Parses and validates a data file's bytes; every failure names `path` and says how to fix it.
pub(crate) fn parse(path: &Path, bytes: Vec<u8>) -> Result<Stock> {
    // Only a failure says it: a buyer reads this file at every attempt, and the first
    // sentence of a process parses the whole catalog (~400 KB of heap in every buyer).
    let shape = || tr!("error-data-shape");
    let fields: Vec<Field> = match serde_json::from_slice::<Fields>(&bytes) {
        Ok(Fields(fields)) => fields
            .into_iter()
            .map(|(key, value)| Field {
                key_at: match &key {
                    Cow::Borrowed(text) => Some(offset_in(&bytes, text)),
                    Cow::Owned(_) => None,
                },
                key,
                value,
            })
            .collect(),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err(Error::bad_data(tr!(
                "error-data-not-object",
                path = path.one_line(),
                shape = shape()
            )));
        }
        Err(e) => {
            return Err(Error::bad_data(tr!(
                "error-data-unparsed",
                path = path.one_line(),
                error = json_problem(&e),
                shape = shape()
            )));
        }
    };
    let mut seen = HashSet::with_capacity(fields.len());
    for field in &fields {
        if !seen.insert(field.key.as_ref()) {
            return Err(Error::bad_data(tr!(
                "error-data-duplicate-key",
                path = path.one_line(),
                key = field.key.to_string()
            )));
        }
    }
    let Some(ticket) = fields.iter().find(|f| f.key == "ticket_num") else {
        return Err(Error::bad_data(tr!(
            "error-data-no-ticket-num",
            path = path.one_line(),
            shape = shape()
        )));
    };
    let ticket_num = count_field(path, "ticket_num", ticket.value.get(), MAX_TICKETS)?;
    let ticket_range = value_range(&bytes, ticket.value);
    let (seq, seq_place) = match fields.iter().find(|f| f.key == "seq") {
        Some(field) => (
            Some(count_field(path, "seq", field.value.get(), MAX_SEQ)?),
            SeqPlace::At(value_range(&bytes, field.value)),
        ),
        None => (
            None,
            SeqPlace::After {
                at: ticket_range.end,
                prefix: seq_prefix(&bytes, ticket, ticket_range.start),
            },
        ),
    };
    drop(fields);
    Ok(Stock {
        ticket_num,
        seq: seq.unwrap_or(0),
        has_seq: seq.is_some(),
        document: Some(Arc::new(Document {
            bytes,
            ticket_num: ticket_range,
            seq: seq_place,
        })),
    })
}

/// Where `text`, a slice of `bytes`, starts in it.
fn offset_in(bytes: &[u8], text: &str) -> usize {
    text.as_ptr() as usize - bytes.as_ptr() as usize
}

fn value_range(bytes: &[u8], value: &RawValue) -> Range<usize> {
    let start = offset_in(bytes, value.get());
    start..start + value.get().len()
}

/// How `"seq"` is written into a file that has none, in the file's own style: after a comma,
/// on a new line with the same indent if `ticket_num` has its own line, and with the same
/// spacing around the colon.
fn seq_prefix(bytes: &[u8], ticket: &Field, value_start: usize) -> String {
    let Some(key_text) = ticket.key_at else {
        return ", \"seq\": ".to_string();
    };
    let key_start = key_text - 1; // the opening quote
    let key_end = key_text + ticket.key.len() + 1;
    let indent_from = bytes[..key_start]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let indent = String::from_utf8_lossy(&bytes[indent_from..key_start]);
    let colon = String::from_utf8_lossy(&bytes[key_end..value_start]);
    let space = if indent.contains('\n') {
        indent.as_ref()
    } else if colon.contains(' ') {
        " "
    } else {
        ""
    };
    format!(",{space}\"seq\"{colon}")
}

/// What the JSON parser found wrong, in the chosen language. serde_json words it in English
/// only ("expected value at line 1 column 1"), which English keeps as it is; another language
/// says the same from its category and place.
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    if crate::lang::current() == crate::lang::Lang::En {
        return e.to_string();
    }
    let kind = match e.classify() {
        Category::Eof => "eof",
        Category::Data => "data",
        Category::Syntax | Category::Io => "syntax",
    };
    tr!(
        "json-problem",
        kind = kind,
        line = e.line().to_string(),
        column = e.column().to_string()
    )
}

/// A count field's value from its exact text: a whole number from 0 to `max`.
fn count_field(path: &Path, name: &str, text: &str, max: u64) -> Result<u64> {
    let number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    let problem = if !number || text.contains(['.', 'e', 'E']) {
        let shown: String = text.chars().take(40).collect();
        let more = if shown.len() < text.len() { "..." } else { "" };
        tr!("count-not-whole", text = format!("{shown}{more}"))
    } else if text.len() > 1 && text.starts_with('-') && text[1..].bytes().all(|b| b == b'0') {
        tr!("count-signed-zero", text = text)
    } else if text.starts_with('-') {
        tr!("count-negative", text = text)
    } else {
        match text.parse::<u64>() {
            Ok(v) if v <= max => return Ok(v),
            _ => tr!("count-too-large", text = text, max = max.to_string()),
        }
    };
    Err(Error::bad_data(tr!(
        "error-count-field",
        name = name,
        path = path.one_line(),
        problem = problem,
        max = max.to_string()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_seq_stops_at_the_largest_and_never_wraps() {
        assert_eq!(seq_after(0), Some(1));
        assert_eq!(seq_after(MAX_SEQ - 1), Some(MAX_SEQ));
        assert_eq!(seq_after(MAX_SEQ), None);
        // A bigint of -1 read back as u64 by `as`.
        assert_eq!(seq_after(u64::MAX), None);
    }

    fn parse_str(text: &str) -> Result<Stock> {
        parse(Path::new("d.json"), text.as_bytes().to_vec())
    }

    fn rewritten(text: &str, ticket_num: u64, seq: u64) -> String {
        let stock = Stock {
            ticket_num,
            seq,
            ..parse_str(text).unwrap()
        };
        String::from_utf8(stock.to_json()).unwrap()
    }

    #[test]
    fn parses_the_lesson_format_and_keeps_unknown_fields() {
        let stock = parse_str(r#"{"ticket_num": 3, "show": "Hamlet"}"#).unwrap();
        assert_eq!(stock.ticket_num, 3);
        assert!(!stock.has_seq);
        assert_eq!(
            String::from_utf8(stock.to_json()).unwrap(),
            r#"{"ticket_num": 3, "seq": 0, "show": "Hamlet"}"#
        );
    }

    #[test]
    fn a_write_changes_the_two_numbers_and_no_other_byte() {
        let text = "{\"show\" : \"Hamlet\",\n \"ticket_num\" : 3 ,\"seq\":7,\n \"id\": 123456789012345678901234567890, \"price\": 1.50}\n";
        assert_eq!(
            rewritten(text, 2, 8),
            "{\"show\" : \"Hamlet\",\n \"ticket_num\" : 2 ,\"seq\":8,\n \"id\": 123456789012345678901234567890, \"price\": 1.50}\n"
        );
    }

    #[test]
    fn a_missing_seq_is_added_in_the_files_own_style() {
        assert_eq!(
            rewritten("{\"ticket_num\":3}", 2, 1),
            "{\"ticket_num\":2,\"seq\":1}"
        );
        assert_eq!(
            rewritten("{\n  \"ticket_num\": 3,\n  \"show\": \"x\"\n}\n", 2, 1),
            "{\n  \"ticket_num\": 2,\n  \"seq\": 1,\n  \"show\": \"x\"\n}\n"
        );
        // An escaped key is not in the file as is; the plain style is used.
        assert_eq!(
            rewritten("{\"ticket\\u005fnum\":3}", 2, 1),
            "{\"ticket\\u005fnum\":2, \"seq\": 1}"
        );
    }

    #[test]
    fn a_stock_rebuilt_from_the_log_is_written_plainly() {
        assert_eq!(
            Stock::at(5, 9).to_json(),
            b"{\"ticket_num\":5,\"seq\":9}\n".to_vec()
        );
    }

    #[test]
    fn rejects_bad_counts_with_the_reason() {
        let cases = [
            (r#"{"ticket_num": -1}"#, "cannot be negative"),
            (r#"{"ticket_num": 1.5}"#, "whole number"),
            (r#"{"ticket_num": 3e0}"#, "whole number"),
            (
                r#"{"ticket_num": "3"}"#,
                "is \"3\", but it must be a whole number",
            ),
            (r#"{"ticket_num": 99999999999999}"#, "more than the maximum"),
            (
                r#"{"ticket_num": 123456789012345678901234567890}"#,
                "is 123456789012345678901234567890, more than",
            ),
            (r#"{"tickets": 3}"#, "no \"ticket_num\""),
            (r#"[3]"#, "not a JSON object"),
            (r#"{"ticket_num": 3"#, "line 1 column"),
            (r#"{"ticket_num": 3} x"#, "trailing characters"),
        ];
        for (text, expected) in cases {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains("d.json"), "{message}");
        }
    }

    #[test]
    fn duplicate_keys_are_refused_as_ambiguous() {
        for text in [
            r#"{"ticket_num":-1,"ticket_num":3}"#,
            r#"{"ticket_num":3,"seq":1,"seq":2}"#,
            r#"{"ticket_num":3,"ticket\u005fnum":2}"#,
            r#"{"ticket_num":3,"note":1,"note":2}"#,
        ] {
            let message = parse_str(text).unwrap_err().to_string();
            assert!(message.contains("more than once"), "{text}: {message}");
        }
    }
}
