//! A cheap lexical pre-pass over a GraphQL document, before the real parser
//! sees it: counts tokens and tracks how deeply brackets (`{`, `(`, `[`)
//! nest, stopping at the first limit broken. async-graphql's parser (pest)
//! builds its whole parse tree first and recurses once per nesting level, so
//! a document must be bounded before it reaches it.
//!
//! It follows GraphQL's lexical grammar closely enough to count: ignored
//! tokens (white space, line terminators, commas, comments, a byte order
//! mark) are skipped, strings and block strings are one token each, a
//! punctuator, name or number is one token, and any other character counts
//! as one token (the parser refuses it later).

/// Why a document was refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LexLimit {
    /// More tokens than allowed.
    #[error("the document has more than {limit} tokens; the limit is {limit}")]
    Tokens {
        /// The limit.
        limit: usize,
    },
    /// Brackets nest deeper than allowed.
    #[error("the document nests brackets more than {limit} levels deep; the limit is {limit}")]
    Nesting {
        /// The limit.
        limit: usize,
    },
}

/// Checks `source` against `max_tokens` and `max_nesting`, in one pass that
/// stops at the first limit broken.
pub fn check(source: &str, max_tokens: usize, max_nesting: usize) -> Result<(), LexLimit> {
    let bytes = source.as_bytes();
    let mut at = 0;
    let mut tokens = 0usize;
    let mut nesting = 0usize;
    while let Some(&byte) = bytes.get(at) {
        at = match byte {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                at += 1;
                continue;
            }
            b'#' => {
                at = skip_while(bytes, at, |b| b != b'\n' && b != b'\r');
                continue;
            }
            0xEF if bytes.get(at..at + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) => {
                at += 3;
                continue;
            }
            b'"' => skip_string(bytes, at),
            b'{' | b'(' | b'[' => {
                nesting += 1;
                if nesting > max_nesting {
                    return Err(LexLimit::Nesting { limit: max_nesting });
                }
                at + 1
            }
            b'}' | b')' | b']' => {
                nesting = nesting.saturating_sub(1);
                at + 1
            }
            b'.' if bytes.get(at..at + 3) == Some(&b"..."[..]) => at + 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                skip_while(bytes, at, |b| b == b'_' || b.is_ascii_alphanumeric())
            }
            b'-' | b'0'..=b'9' => skip_while(bytes, at + 1, |b| {
                b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
            }),
            _ => at + 1,
        };
        tokens += 1;
        if tokens > max_tokens {
            return Err(LexLimit::Tokens { limit: max_tokens });
        }
    }
    Ok(())
}

/// The index of the first byte at or after `at` that `keep` refuses.
fn skip_while(bytes: &[u8], mut at: usize, keep: impl Fn(u8) -> bool) -> usize {
    while bytes.get(at).is_some_and(|&b| keep(b)) {
        at += 1;
    }
    at
}

/// The index just after the string or block string that starts at `at` (or
/// the end of the line / document when it is not terminated).
fn skip_string(bytes: &[u8], at: usize) -> usize {
    const QUOTES: &[u8] = b"\"\"\"";
    let starts = |i: usize, what: &[u8]| bytes.get(i..i + what.len()) == Some(what);
    if starts(at, QUOTES) {
        let mut i = at + 3;
        while i < bytes.len() {
            if bytes.get(i) == Some(&b'\\') && starts(i + 1, QUOTES) {
                i += 4;
            } else if starts(i, QUOTES) {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(source: &str) -> usize {
        // The smallest limit that passes is the token count.
        (0..=source.len())
            .find(|&limit| check(source, limit, usize::MAX).is_ok())
            .expect("a limit of the source's length always passes")
    }

    #[test]
    fn counts_graphql_tokens_and_skips_ignored_ones() {
        assert_eq!(count(""), 0);
        assert_eq!(count("{ a }"), 3);
        assert_eq!(count("query Q($v: Int = -12.5e3) { a(x: $v) }"), 19);
        assert_eq!(count("{ a, b, c } # a comment { with } tokens"), 5);
        assert_eq!(count("\u{feff}{ ...F }"), 4);
        assert_eq!(count(r#"{ a(s: "x { \" y") }"#), 8);
        assert_eq!(count("{ a(s: \"\"\" block \\\"\"\" { } \"\"\") }"), 8);
    }

    #[test]
    fn stops_at_the_token_limit() {
        let source = "{ a b c d }";
        assert_eq!(check(source, 6, 10), Ok(()));
        assert_eq!(check(source, 5, 10), Err(LexLimit::Tokens { limit: 5 }));
    }

    #[test]
    fn stops_at_the_nesting_limit() {
        let nested = format!("{}{}", "{a".repeat(10), "}".repeat(10));
        assert_eq!(check(&nested, 1000, 10), Ok(()));
        assert_eq!(check(&nested, 1000, 9), Err(LexLimit::Nesting { limit: 9 }));
        // Siblings do not add up; brackets inside strings do not count.
        assert_eq!(check("{a{b}} {c{d}} { e(s: \"[[[[\") }", 1000, 2), Ok(()));
    }

    #[test]
    fn unterminated_strings_and_odd_bytes_end_without_panicking() {
        for source in ["\"abc", "\"\"\"abc", "\"\\", "é ü", "\u{0}"] {
            assert!(check(source, 100, 100).is_ok(), "{source:?}");
        }
    }
}
