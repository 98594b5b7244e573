//! What free text clients store (user and product names, product
//! descriptions) may contain: no control characters (NUL, the C0 and C1
//! controls, DEL), no line or paragraph separators, and none of the
//! invisible formatting characters used to disguise text — bidirectional
//! overrides, embeddings, isolates and marks (`U+202E` shows the rest of a
//! name backwards), zero-width spaces, word joiners, the byte order mark,
//! soft hyphens, interlinear annotations and tag characters.
//!
//! Allowed on purpose: the zero-width joiner and non-joiner (`U+200D`,
//! `U+200C`), which emoji sequences and scripts such as Persian and the
//! Indic ones need; variation selectors; and, in multi-line text only, tab,
//! line feed and the carriage return of a `\r\n` line break.

use std::fmt;

/// A character that text of its kind may not contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forbidden {
    /// The character.
    pub character: char,
    /// Its position in the text, in characters from 1.
    pub position: usize,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.character.is_control() {
            "a control character"
        } else {
            "an invisible formatting character"
        };
        write!(
            f,
            "{kind} (U+{:04X} at character {})",
            u32::from(self.character),
            self.position
        )
    }
}

/// The first character that single-line text (a name) may not contain.
pub fn check_line(text: &str) -> Result<(), Forbidden> {
    check(text, false)
}

/// The first character that multi-line text (a description) may not
/// contain: as [`check_line`], but tab, line feed and `\r\n` are allowed.
pub fn check_multiline(text: &str) -> Result<(), Forbidden> {
    check(text, true)
}

fn check(text: &str, multiline: bool) -> Result<(), Forbidden> {
    let mut chars = text.chars().peekable();
    let mut position = 0;
    while let Some(character) = chars.next() {
        position += 1;
        let allowed = match character {
            '\t' | '\n' => multiline,
            '\r' => multiline && chars.peek() == Some(&'\n'),
            c => !is_forbidden(c),
        };
        if !allowed {
            return Err(Forbidden {
                character,
                position,
            });
        }
    }
    Ok(())
}

/// Control characters (Unicode's `Cc`), the line and paragraph separators,
/// and the invisible formatting characters listed in the module doc.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'                      // soft hyphen
            | '\u{061C}'                    // Arabic letter mark
            | '\u{180E}'                    // Mongolian vowel separator
            | '\u{200B}'                    // zero-width space
            | '\u{200E}'..='\u{200F}'       // left-to-right and right-to-left marks
            | '\u{2028}'..='\u{2029}'       // line and paragraph separators
            | '\u{202A}'..='\u{202E}'       // bidirectional embeddings and overrides
            | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}'       // bidirectional isolates, deprecated format characters
            | '\u{FEFF}'                    // byte order mark (zero-width no-break space)
            | '\u{FFF9}'..='\u{FFFB}'       // interlinear annotation
            | '\u{E0001}'                   // language tag
            | '\u{E0020}'..='\u{E007F}' // tag characters
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_in_any_script_passes() {
        for text in [
            "Ada Lovelace",
            "Zoë O'Brien-Müller",
            "山田 太郎",
            "محمد",
            "मेहता",
            "می‌خواهم",   // with a zero-width non-joiner
            "👩‍👩‍👧 family", // with zero-width joiners
            "❤️ mug",    // with a variation selector
        ] {
            assert_eq!(check_line(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn controls_and_invisible_formatting_are_refused() {
        for c in [
            '\0',
            '\u{1}',
            '\u{1B}',
            '\u{7F}',
            '\u{85}',
            '\u{9F}',
            '\t',
            '\n',
            '\r',
            '\u{AD}',
            '\u{200B}',
            '\u{200E}',
            '\u{200F}',
            '\u{2028}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{E0041}',
        ] {
            let text = format!("ab{c}cd");
            assert_eq!(
                check_line(&text),
                Err(Forbidden {
                    character: c,
                    position: 3
                }),
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn multiline_text_may_break_lines_and_indent() {
        assert_eq!(check_multiline("one\ntwo\r\n\tthree"), Ok(()));
        assert!(check_multiline("one\rtwo").is_err());
        assert!(check_multiline("one\u{0}two").is_err());
        assert!(check_multiline("evil\u{202E}txt.exe").is_err());
    }

    #[test]
    fn the_error_names_the_character_and_where_it_is() {
        let error = check_line("gpj.\u{202E}exe").expect_err("an override");
        assert_eq!(
            error.to_string(),
            "an invisible formatting character (U+202E at character 5)"
        );
        let error = check_line("a\0").expect_err("NUL");
        assert_eq!(
            error.to_string(),
            "a control character (U+0000 at character 2)"
        );
    }
}
