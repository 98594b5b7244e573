//! Reading a subgraph answer's JSON text straight into the response tree.
//!
//! Parsing answers was the router's largest cost: through serde, every
//! value passed a visitor and several `Result` layers on its way into a
//! [`Data`], and each move of it stalled on store forwarding. This parser
//! builds the tree in one recursive descent over the bytes. A string is
//! found with a vectorised search for its closing quote; a long one written
//! without escapes becomes a slice of the answer ([`Text::from_source`]),
//! and keys come from a [`KeyCache`]. It accepts exactly RFC 8259 JSON
//! (tested against `serde_json`): control characters in strings, bad
//! escapes, lone surrogates, malformed numbers and trailing text are
//! refused, and nesting deeper than [`MAX_DEPTH`] is refused rather than
//! exhausting the stack. A key given twice keeps its last value.
//!
//! # Layout
//! - [`parse_answer`]: a GraphQL response (`data`, `errors`, anything else
//!   skipped).
//! - [`parse`]: any JSON text into a [`Data`].
//! - `Parser`: the descent; [`SyntaxError`] says what was wrong and where.

use std::sync::Arc;

use serde_json::{Map, Number, Value};
use smol_str::SmolStr;

use super::data::{Data, Object, same_key};
use super::text::{Text, short};

/// Nesting deeper than this is refused (`serde_json`'s limit too).
pub const MAX_DEPTH: usize = 128;

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct SyntaxError {
    /// What was wrong.
    pub message: &'static str,
    /// Where, in bytes from the start of the text.
    pub offset: usize,
}

/// A GraphQL response's members, as read from its JSON text.
#[derive(Debug, Default)]
pub struct Answer {
    /// `data`, unless absent or null.
    pub data: Option<Data>,
    /// `errors`, as written (each an object).
    pub errors: Vec<Map<String, Value>>,
}

/// Reads a GraphQL response: an object whose `data` becomes a [`Data`]
/// (long plain strings as slices of `source`), whose `errors` are read as
/// `serde_json` objects, and whose other members are checked and dropped.
pub fn parse_answer(source: &Arc<String>) -> Result<Answer, SyntaxError> {
    let mut parser = Parser::new(source);
    parser.skip_whitespace();
    if parser.peek() != Some(b'{') {
        return Err(parser.error("expected a GraphQL response object"));
    }
    let mut answer = Answer::default();
    parser.members(|parser, key| {
        match key {
            "data" => {
                answer.data = match parser.value()? {
                    Data::Null => None,
                    data => Some(data),
                }
            }
            "errors" => {
                let start = parser.pos;
                parser.value()?;
                let text = parser.text.get(start..parser.pos).unwrap_or_default();
                answer.errors = serde_json::from_str::<Option<Vec<Map<String, Value>>>>(text)
                    .map_err(|_| SyntaxError {
                        message: "expected `errors` to be a list of objects",
                        offset: start,
                    })?
                    .unwrap_or_default();
            }
            _ => {
                parser.value()?;
            }
        }
        Ok(())
    })?;
    parser.end()?;
    Ok(answer)
}

/// Reads any JSON text into a [`Data`], long plain strings as slices of it.
pub fn parse(source: &Arc<String>) -> Result<Data, SyntaxError> {
    let mut parser = Parser::new(source);
    let data = parser.value()?;
    parser.end()?;
    Ok(data)
}

/// A string as read: a slice of the text, or decoded from escapes.
enum Str<'s> {
    Plain(&'s str),
    Decoded(String),
}

struct Parser<'s> {
    source: &'s Arc<String>,
    text: &'s str,
    bytes: &'s [u8],
    pos: usize,
    depth: usize,
    keys: KeyCache,
}

impl<'s> Parser<'s> {
    /// How many bytes of a string are scanned one by one before the rest
    /// is searched with vector instructions.
    const SHORT: usize = 16;

    fn new(source: &'s Arc<String>) -> Self {
        Parser {
            source,
            text: source.as_str(),
            bytes: source.as_bytes(),
            pos: 0,
            depth: 0,
            keys: KeyCache::new(),
        }
    }

    fn error(&self, message: &'static str) -> SyntaxError {
        SyntaxError {
            message,
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Only whitespace may follow the value.
    fn end(&mut self) -> Result<(), SyntaxError> {
        self.skip_whitespace();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.error("trailing characters")),
        }
    }

    fn value(&mut self) -> Result<Data, SyntaxError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'{') => {
                let mut object = Object::new();
                // The cache slots of the keys so far: a key whose slot is
                // not among them is new, with no scan of the others.
                let mut slots = 0u64;
                self.members(|parser, key| {
                    let (slot, key) = parser.keys.get(key);
                    let value = parser.value()?;
                    if slots & slot == 0 {
                        object.push_new(key, value);
                    } else {
                        // A key given twice keeps the last value.
                        object.insert(key, value);
                    }
                    slots |= slot;
                    Ok(())
                })?;
                Ok(Data::Object(object))
            }
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Data::String(match self.string()? {
                Str::Plain(text) => Text::from_source(self.source, text),
                Str::Decoded(text) => text.into(),
            })),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Data::Bool(true)),
            Some(b'f') => self.literal("false", Data::Bool(false)),
            Some(b'n') => self.literal("null", Data::Null),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of text")),
        }
    }

    /// An object's members, at its `{`: `member` reads each value (the
    /// parser is just past the `:`), given the key.
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, &str) -> Result<(), SyntaxError>,
    ) -> Result<(), SyntaxError> {
        if self.open(b'}')? {
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key"));
            }
            match self.string()? {
                Str::Plain(key) => {
                    self.colon()?;
                    member(self, key)?;
                }
                Str::Decoded(key) => {
                    self.colon()?;
                    member(self, &key)?;
                }
            }
            if self.next_or_close(b'}', "expected `,` or `}`")? {
                return Ok(());
            }
        }
    }

    /// At a `[` or `{`: enters it; `true` when it closes at once (the
    /// closing `close` read too).
    fn open(&mut self, close: u8) -> Result<bool, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        self.pos += 1;
        self.skip_whitespace();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// After an item of a list or an object: `false` at a comma, `true` at
    /// its closing `close` (either read).
    fn next_or_close(&mut self, close: u8, expected: &'static str) -> Result<bool, SyntaxError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(byte) if byte == close => {
                self.pos += 1;
                self.depth -= 1;
                Ok(true)
            }
            _ => Err(self.error(expected)),
        }
    }

    fn colon(&mut self) -> Result<(), SyntaxError> {
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error("expected `:`"));
        }
        self.pos += 1;
        Ok(())
    }

    fn array(&mut self) -> Result<Data, SyntaxError> {
        let mut items = Vec::new();
        if self.open(b']')? {
            return Ok(Data::Array(items));
        }
        loop {
            items.push(self.value()?);
            if self.next_or_close(b']', "expected `,` or `]`")? {
                return Ok(Data::Array(items));
            }
        }
    }

    fn literal(&mut self, word: &'static str, value: Data) -> Result<Data, SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> Result<Str<'s>, SyntaxError> {
        let start = self.pos + 1;
        self.pos = start;
        let end = self.plain_run()?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            // Both ends are at ASCII bytes, so always character boundaries.
            let text = self.text.get(start..end).unwrap_or_default();
            return Ok(Str::Plain(text));
        }
        self.escaped_string(end).map(Str::Decoded)
    }

    /// Where the run of plain characters from here ends: at the next quote
    /// or backslash. A control character or the end of the text before it
    /// is an error.
    fn plain_run(&mut self) -> Result<usize, SyntaxError> {
        let rest = &self.bytes[self.pos..];
        // Keys and most values are short: their first bytes are checked one
        // by one, which costs less than setting up the vector search.
        for (index, &byte) in rest.iter().take(Self::SHORT).enumerate() {
            match byte {
                b'"' | b'\\' => return Ok(self.pos + index),
                0..0x20 => {
                    self.pos += index;
                    return Err(self.error("control character in a string"));
                }
                _ => {}
            }
        }
        let Some(found) = memchr::memchr2(b'"', b'\\', rest) else {
            self.pos = self.bytes.len();
            return Err(self.error("unterminated string"));
        };
        if has_control(&rest[..found]) {
            self.pos += rest.iter().position(|&b| b < 0x20).unwrap_or_default();
            return Err(self.error("control character in a string"));
        }
        Ok(self.pos + found)
    }

    /// The rest of a string that has escapes, from just past its opening
    /// quote, whose first plain run ends at `end` (a backslash), decoded.
    fn escaped_string(&mut self, mut end: usize) -> Result<String, SyntaxError> {
        let mut decoded = String::new();
        loop {
            decoded.push_str(self.text.get(self.pos..end).unwrap_or_default());
            self.pos = end + 1;
            if self.bytes[end] == b'"' {
                return Ok(decoded);
            }
            let escaped = match self.peek() {
                Some(b'u') => {
                    self.pos += 1;
                    self.unicode_escape()?
                }
                Some(letter) => {
                    let escaped = match letter {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.pos += 1;
                    escaped
                }
                None => return Err(self.error("invalid escape")),
            };
            decoded.push(escaped);
            end = self.plain_run()?;
        }
    }

    /// The character of a `\u` escape (two, for a surrogate pair), from
    /// just past the `u`.
    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.pos..].starts_with(b"\\u") {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone surrogate in a \\u escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in a \\u escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error("invalid \\u escape"))
    }

    /// A number: an integer that fits 64 bits stays one (`u64`, or `i64`
    /// when negative), anything else is an `f64`, as `serde_json` reads them.
    fn number(&mut self) -> Result<Data, SyntaxError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let mut magnitude: Option<u64> = Some(0);
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    magnitude = magnitude
                        .and_then(|m| m.checked_mul(10))
                        .and_then(|m| m.checked_add(u64::from(digit - b'0')));
                    self.pos += 1;
                }
            }
            _ => return Err(self.error("invalid number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
            integer = false;
        }
        if integer && let Some(magnitude) = magnitude {
            if !negative {
                return Ok(Data::Number(magnitude.into()));
            }
            if let Some(value) = 0i64.checked_sub_unsigned(magnitude)
                && value != 0
            {
                return Ok(Data::Number(value.into()));
            }
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        let value: f64 = text.parse().map_err(|_| SyntaxError {
            message: "invalid number",
            offset: start,
        })?;
        Number::from_f64(value)
            .map(Data::Number)
            .ok_or(SyntaxError {
                message: "number out of range",
                offset: start,
            })
    }

    /// One or more digits.
    fn digits(&mut self) -> Result<(), SyntaxError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("invalid number"));
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        Ok(())
    }
}

/// Whether `bytes` has a control character (not allowed raw in a JSON
/// string).
fn has_control(bytes: &[u8]) -> bool {
    any_byte(bytes, |b| b < 0x20)
}

/// Whether any of `bytes` is `special`. Checked 32 bytes at a time without
/// an early exit inside a chunk, so the compiler turns it into vector
/// compares: long strings (review texts, descriptions) are most of an
/// answer's and a response's bytes.
pub(crate) fn any_byte(bytes: &[u8], special: impl Fn(u8) -> bool) -> bool {
    const CHUNK: usize = 32;
    let mut chunks = bytes.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        if chunk.iter().fold(false, |found, &b| found | special(b)) {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| special(b))
}

/// The keys one JSON text has shown so far, by a cheap hash of their bytes.
/// A GraphQL answer repeats a few keys in every object, and copying a key
/// built before is cheaper than building it again from its bytes.
struct KeyCache([SmolStr; KeyCache::SLOTS]);

impl KeyCache {
    const SLOTS: usize = 64;

    fn new() -> Self {
        KeyCache(std::array::from_fn(|_| SmolStr::default()))
    }

    /// `key` as a [`SmolStr`] (the cached copy when there is one), and its
    /// slot as a bit: equal keys have the same.
    fn get(&mut self, key: &str) -> (u64, SmolStr) {
        let bytes = key.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return (1, SmolStr::default());
        };
        let slot = (bytes.len() * 31 + usize::from(first) * 7 + usize::from(last)) % Self::SLOTS;
        let cached = &mut self.0[slot];
        if !same_key(cached, key) {
            *cached = short(key);
        }
        (1 << slot, cached.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Data, SyntaxError> {
        parse(&Arc::new(text.to_owned()))
    }

    #[test]
    fn valid_json_reads_as_serde_json_reads_it() {
        let documents = [
            r#"{"a":[1,-2,3.5,"x",true,false,null,{"b":{}}],"c":[],"d":{}}"#,
            " \t\n\r{ \"spaced\" : [ 1 , { \"k\" : null } ] } \n",
            r#""escapes \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \ud83d\ude00 end""#,
            r#"{"k\u0065y":"raw é and 😀, long enough to be kept as a slice of the text"}"#,
            r#"[0,-0,1,-1,1.5,-1.5e+10,1E-3,2e3,10.25e-2]"#,
            "[18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809]",
            r#"{"a":1,"b":2,"a":3}"#,
            r#""""#,
            "123",
            "null",
        ];
        for text in documents {
            let expected: Value = serde_json::from_str(text).expect("valid JSON");
            let data = read(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(data.to_value(), expected, "{text}");
        }
    }

    #[test]
    fn text_that_is_not_json_is_refused_as_serde_json_refuses_it() {
        let documents = [
            "",
            "   ",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "{1:2}",
            "[1 2]",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "1e400",
            "tru",
            "nul",
            "\"abc",
            "\"a\u{1}b\"",
            "\"tab\tinside\"",
            r#""\x""#,
            r#""\u12""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            "1 2",
            "{} x",
        ];
        for text in documents {
            assert!(
                serde_json::from_str::<Value>(text).is_err(),
                "serde_json accepts {text:?}"
            );
            assert!(read(text).is_err(), "accepted {text:?}");
        }
    }

    #[test]
    fn errors_say_what_was_wrong_and_where() {
        assert_eq!(
            read(r#"{"a":[1,2}"#),
            Err(SyntaxError {
                message: "expected `,` or `]`",
                offset: 9
            })
        );
        assert_eq!(
            read("\"a\u{1}\"").map_err(|e| e.to_string()),
            Err("control character in a string at byte 2".to_owned())
        );
    }

    #[test]
    fn nesting_is_refused_past_the_depth_limit() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(read(&nested(MAX_DEPTH)).is_ok());
        let error = read(&nested(MAX_DEPTH + 1)).expect_err("too deep");
        assert_eq!(error.message, "nested too deep");
        let objects = format!(
            "{}1{}",
            r#"{"a":"#.repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert!(read(&objects).is_err());
    }

    #[test]
    fn long_plain_strings_are_slices_and_escaped_ones_are_decoded() {
        let text = r#"["a plain string, long enough to be a slice","an escaped string,\nlong enough to be a slice","short"]"#;
        let Data::Array(items) = read(text).expect("parses") else {
            panic!("a list")
        };
        let plain: Vec<bool> = items
            .iter()
            .map(|item| match item {
                Data::String(text) => text.is_plain_json(),
                _ => panic!("strings"),
            })
            .collect();
        assert_eq!(plain, [true, false, false]);
        assert_eq!(
            items[1].as_str(),
            Some("an escaped string,\nlong enough to be a slice")
        );
    }

    #[test]
    fn an_answer_keeps_data_and_errors_and_skips_other_members() {
        let text = r#"{"extensions":{"cost":[1,{"x":null}]},"errors":[{"message":"m","path":["a",0]}],"data":{"a":[{"b":"c"}]}}"#;
        let answer = parse_answer(&Arc::new(text.to_owned())).expect("parses");
        let expected: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(
            answer.data.map(|d| d.to_value()),
            Some(expected["data"].clone())
        );
        assert_eq!(
            Value::Object(answer.errors[0].clone()),
            expected["errors"][0]
        );
        let refused = |text: &str| {
            parse_answer(&Arc::new(text.to_owned()))
                .expect_err(text)
                .message
        };
        assert_eq!(refused("[]"), "expected a GraphQL response object");
        assert_eq!(
            refused(r#"{"errors":{"message":"m"}}"#),
            "expected `errors` to be a list of objects"
        );
        assert_eq!(
            refused(r#"{"data":{"extensions":1},"x":[}"#),
            "expected a value"
        );
    }

    #[test]
    fn a_key_given_twice_is_found_among_keys_that_share_its_cache_slot() {
        // "id" and "cN" share a cache slot; "x" does not.
        let text = r#"{"id":1,"cN":2,"x":3,"cN":4,"id":5}"#;
        let data = read(text).expect("parses");
        assert_eq!(
            sonic_rs::to_string(&data).expect("writes"),
            r#"{"id":5,"cN":4,"x":3}"#
        );
    }

    #[test]
    fn keys_repeated_across_objects_read_alike() {
        let text = r#"[{"id":1,"name":"a"},{"name":"b","id":2},{"idx":3,"nome":"c"}]"#;
        let expected: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(read(text).expect("parses").to_value(), expected);
    }
}
