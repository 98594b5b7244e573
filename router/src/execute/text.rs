//! A string of the response tree: [`Text`].
//!
//! Most strings of a subgraph answer reach the client unchanged, and the
//! long ones (descriptions, review bodies) are most of an answer's bytes. A
//! string written without escapes in the answer's JSON text is already its
//! own JSON form, so it is kept as a slice of that text (the answer's text
//! is kept alive while a slice of it is): no allocation or copy when it is
//! read, merged or copied to several places, and no escape scan when it is
//! written out. Other strings are [`SmolStr`]s (up to 23 bytes inline).
//!
//! # Layout
//! - [`Text`]: the string, read as a `&str` through `Deref`.
//! - [`Text::from_source`]: a string borrowed from an answer's text, as the
//!   parser (`data::DataSeed`) hands it over.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use smol_str::SmolStr;

/// A string of the response tree.
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// A string of its own.
    Own(SmolStr),
    /// `source[start..start + len]`, which needs no escaping in JSON.
    Source {
        source: Arc<String>,
        start: u32,
        len: u32,
    },
}

impl Text {
    /// Strings at least this long are kept as slices of their source; a
    /// shorter one fits inline in a [`SmolStr`], which is as cheap.
    const SLICE_FROM: usize = 24;

    /// `text`, which must lie inside `source` (the JSON text being parsed)
    /// where it was written without escapes: a slice of `source` when long,
    /// else a copy. A `text` from elsewhere is copied.
    pub fn from_source(source: &Arc<String>, text: &str) -> Text {
        if text.len() >= Self::SLICE_FROM {
            let offset = (text.as_ptr() as usize).wrapping_sub(source.as_ptr() as usize);
            // In bounds, the offset can only be where `text` lies in `source`.
            // Inside `source`, a `&str`'s ends are always character
            // boundaries of it (UTF-8 synchronises), so no check for them.
            if let (Ok(start), Ok(len)) = (u32::try_from(offset), u32::try_from(text.len()))
                && offset
                    .checked_add(text.len())
                    .is_some_and(|end| end <= source.len())
            {
                return Text(Repr::Source {
                    source: source.clone(),
                    start,
                    len,
                });
            }
        }
        Text(Repr::Own(short(text)))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Own(text) => text.as_str(),
            Repr::Source { source, start, len } => {
                let start = *start as usize;
                source.get(start..start + *len as usize).unwrap_or_default()
            }
        }
    }

    /// Whether the string is known to need no escaping in JSON (it was
    /// written without escapes in a valid JSON text), so it can be written
    /// between quotes as it is.
    pub fn is_plain_json(&self) -> bool {
        matches!(self.0, Repr::Source { .. })
    }
}

/// `text` as a [`SmolStr`]; one that fits inline is copied there without
/// `SmolStr::new`'s other checks (a call per string of every answer).
pub(crate) fn short(text: &str) -> SmolStr {
    /// The most bytes a `SmolStr` holds inline.
    const INLINE: usize = 23;
    if text.len() <= INLINE {
        SmolStr::new_inline(text)
    } else {
        SmolStr::new(text)
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(Repr::Own(SmolStr::new(text)))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Repr::Own(text.into()))
    }
}

impl From<SmolStr> for Text {
    fn from(text: SmolStr) -> Text {
        Text(Repr::Own(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_the_smol_str_of_their_text() {
        let spaces = " ".repeat(40);
        for text in [
            "",
            "a",
            "ümlaut",
            &"x".repeat(23),
            &"y".repeat(24),
            &spaces,
            "\n\n  ",
        ] {
            let made = short(text);
            assert_eq!(made, SmolStr::new(text), "{text:?}");
            assert_eq!(made.is_heap_allocated(), text.len() > 23 && text != spaces);
        }
    }

    #[test]
    fn a_long_string_inside_its_source_is_a_slice_of_it() {
        let source =
            Arc::new(r#"{"body":"a review body longer than twenty-three bytes"}"#.to_owned());
        let inside = &source[9..source.len() - 2];
        let text = Text::from_source(&source, inside);
        assert!(text.is_plain_json());
        assert_eq!(
            text.as_str(),
            "a review body longer than twenty-three bytes"
        );
        assert_eq!(Arc::strong_count(&source), 2);
        assert_eq!(
            text,
            Text::from("a review body longer than twenty-three bytes")
        );
    }

    #[test]
    fn short_strings_and_strings_from_elsewhere_are_copied() {
        let source = Arc::new(
            r#"{"id":"1","body":"a review body longer than twenty-three bytes"}"#.to_owned(),
        );
        let short = Text::from_source(&source, &source[7..8]);
        assert_eq!(short.as_str(), "1");
        assert!(!short.is_plain_json());
        let elsewhere = "a review body longer than twenty-three bytes".to_owned();
        let copied = Text::from_source(&source, &elsewhere);
        assert_eq!(copied.as_str(), elsewhere);
        assert!(!copied.is_plain_json());
        assert_eq!(Arc::strong_count(&source), 1);
    }

    #[test]
    fn equal_strings_hash_alike_whatever_they_are_kept_as() {
        use std::hash::BuildHasher;
        let source = Arc::new("\"the same string, long enough to be a slice\"".to_owned());
        let sliced = Text::from_source(&source, &source[1..source.len() - 1]);
        let own = Text::from("the same string, long enough to be a slice");
        let hasher = std::collections::hash_map::RandomState::new();
        assert_eq!(hasher.hash_one(&sliced), hasher.hash_one(&own));
        assert_eq!(sliced, own);
    }
}
