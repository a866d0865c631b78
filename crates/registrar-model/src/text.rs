//! Text rules shared by every crate: which characters are invisible, how an email is matched
//! against a pattern, and the training-account pattern of SPEC §2 (one definition for the
//! validation pass, `clean`, `migrate --clean-training-data` and `check`).

use std::sync::OnceLock;

/// True for an invisible *format* character: soft hyphen, Arabic letter mark, Mongolian vowel
/// separator, zero-width space / non-joiner / joiner, left-to-right and right-to-left marks,
/// the bidi embeddings, overrides and isolates, word joiner and invisible operators, the byte
/// order mark (zero-width no-break space) and the interlinear annotation controls.
///
/// These print as nothing, so two strings that differ only by them look the same to a person.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// `s.trim()`, the same result, with a fast path for the usual cell: text that starts and ends
/// with a visible ASCII character comes back as it is without a scan.
#[inline]
pub fn trim(s: &str) -> &str {
    /// The ASCII characters `char::is_whitespace` accepts: tab to carriage return, and space.
    fn ascii_space(b: u8) -> bool {
        b == b' ' || (b'\t'..=b'\r').contains(&b)
    }
    match s.as_bytes() {
        [first, .., last] | [first @ last]
            if first.is_ascii()
                && last.is_ascii()
                && !ascii_space(*first)
                && !ascii_space(*last) =>
        {
            s
        }
        _ => s.trim(),
    }
}

/// `s` without leading and trailing whitespace and invisible characters ([`is_invisible`]).
pub fn trim_invisible(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || is_invisible(c))
}

/// The training-account pattern of SPEC §2, matched by [`EmailPattern`] (trimmed,
/// case-insensitively).
pub const TRAINING_EMAIL_PATTERN: &str = r"^(admin|teacher|student)\d+@school\.edu$";

/// A regex over email addresses, matched the way a person reads an address: surrounding
/// whitespace and invisible characters are ignored and letters match in any case (Unicode
/// simple case folding), so `Admin1@School.edu` and ` admin1@school.edu` match
/// [`TRAINING_EMAIL_PATTERN`] as `admin1@school.edu` does.
///
/// ```
/// use registrar_model::EmailPattern;
/// let p = EmailPattern::training();
/// assert!(p.is_match(" ADMIN1@School.EDU\u{200b}"));
/// assert!(!p.is_match("admin@school.edu"));
/// ```
#[derive(Debug, Clone)]
pub struct EmailPattern {
    re: regex::Regex,
}

impl EmailPattern {
    /// Compiles `pattern` (a Rust regex), case-insensitively.
    pub fn new(pattern: &str) -> Result<EmailPattern, regex::Error> {
        Ok(EmailPattern {
            re: regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()?,
        })
    }

    /// The training-account pattern ([`TRAINING_EMAIL_PATTERN`]).
    pub fn training() -> &'static EmailPattern {
        static P: OnceLock<EmailPattern> = OnceLock::new();
        P.get_or_init(|| {
            // A constant pattern: it compiles (the unit tests exercise it).
            EmailPattern::new(TRAINING_EMAIL_PATTERN).expect("the training pattern compiles")
        })
    }

    /// True when the trimmed email matches, ignoring case.
    pub fn is_match(&self, email: &str) -> bool {
        self.re.is_match(trim_invisible(email))
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        self.re.as_str()
    }
}

/// True when `email` is a training account ([`EmailPattern::training`]).
pub fn is_training_email(email: &str) -> bool {
    EmailPattern::training().is_match(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_accounts_in_another_case_or_with_spaces_match() {
        for e in [
            "admin1@school.edu",
            "Admin1@School.edu",
            "ADMIN1@SCHOOL.EDU",
            " admin1@school.edu",
            "teacher12@school.edu \t",
            "\u{feff}student3@school.edu\u{200b}",
        ] {
            assert!(is_training_email(e), "{e:?}");
        }
        for e in [
            "admin@school.edu",
            "john.doe@school.edu",
            "student1@school.edu.evil",
            "admin1@school.edu x",
            "xadmin1@school.edu",
        ] {
            assert!(!is_training_email(e), "{e:?}");
        }
    }

    #[test]
    fn custom_patterns_ignore_case_too() {
        let p = EmailPattern::new(r"^Demo\d+@x\.org$").unwrap();
        assert!(p.is_match("demo7@X.ORG "));
        assert!(EmailPattern::new("(").is_err());
    }

    #[test]
    fn invisible_characters() {
        assert!(is_invisible('\u{200b}') && is_invisible('\u{202e}') && is_invisible('\u{feff}'));
        assert!(!is_invisible('a') && !is_invisible(' ') && !is_invisible('é'));
        assert_eq!(trim_invisible("\u{feff} x y\u{200d} "), "x y");
    }
}

#[cfg(test)]
mod trim_tests {
    use super::trim;

    #[test]
    fn trim_matches_str_trim_on_every_edge() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "\u{b}x\u{b}",
            "\u{a0}x",
            "x\u{3000}",
            "é",
            " é ",
            "ab",
            "a b",
            "\r\n",
            "\u{85}z",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }
}
