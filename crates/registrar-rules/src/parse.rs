//! Value parsers: one function per kind of cell, each turning a [`Value`] as read into a typed
//! value or a [`ParseError`] (an [`IssueCode`] plus a message that says what to fix).
//!
//! Every parser treats a blank value (empty, or whitespace only) as `missing-value`; the row
//! rules check blanks first for optional columns. A spreadsheet error cell ([`Value::Error`],
//! e.g. `#N/A`) gives the column's natural code (`invalid-date`, `invalid-number`, ...) with a
//! message naming the error text.
//!
//! The parsers never panic, on any input, and allocate only for the value they return.
//!
//! ```
//! use registrar_model::Value;
//! use registrar_model::IssueCode;
//! use registrar_rules::parse;
//!
//! let e = parse::email(&Value::Text(" Carol@School.EDU ".into()))?;
//! assert_eq!(e.as_str(), "carol@school.edu");
//! let bad = parse::email(&Value::Text("carol@school".into())).unwrap_err();
//! assert_eq!(bad.code, IssueCode::InvalidEmail);
//! assert_eq!(parse::credits(&Value::Text("4.0".into()))?, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use chrono::{NaiveDate, NaiveTime};
use registrar_model::Value;
use registrar_model::{
    AttendanceStatus, CourseCode, CourseStatus, Email, IssueCode, LetterGrade, Role,
};
use std::borrow::Cow;
use std::fmt;
use validator::{ValidateLength, ValidateRange};

/// Why a value was refused: the issue code and a message for the operator.
///
/// The message does not name the column (the issue carries it); it may quote the offending
/// value (shortened), except for password columns, which are never parsed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The issue code.
    pub code: IssueCode,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl ParseError {
    /// A parse error.
    pub fn new(code: IssueCode, message: impl Into<String>) -> ParseError {
        ParseError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ParseError {}

/// `Result` of a parser.
pub type ParseResult<T> = Result<T, ParseError>;

/// Maximum length of an email address (RFC 5321), in characters.
pub const MAX_EMAIL_LEN: usize = 254;
/// Maximum length of an email's local part (RFC 5321), in characters.
pub const MAX_EMAIL_LOCAL_LEN: usize = 64;
/// Maximum length of a course code.
pub const MAX_COURSE_CODE_LEN: usize = 20;
/// Smallest and largest `credits`.
pub const CREDITS_RANGE: (i64, i64) = (0, 20);
/// Smallest and largest `score`.
pub const SCORE_RANGE: (f64, f64) = (0.0, 100.0);

/// Quotes a value for a message, shortened to 60 characters.
pub(crate) fn quote(s: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::with_capacity(s.len().min(MAX * 4) + 4);
    out.push('\'');
    for (n, c) in s.chars().enumerate() {
        if n == MAX {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out.push('\'');
    out
}

/// The value for a message: quoted, or "the value" when it must not be echoed (the users
/// file, where a value in the wrong column may be a password).
fn shown(s: &str, echo: bool) -> String {
    if echo {
        quote(s)
    } else {
        "the value".to_owned()
    }
}

fn missing() -> ParseError {
    ParseError::new(IssueCode::MissingValue, "the value is empty; fill it in")
}

fn error_cell(code: IssueCode, err: &str, expected: &str) -> ParseError {
    ParseError::new(
        code,
        format!(
            "the cell holds the spreadsheet error {}; replace it with {expected}",
            quote(err)
        ),
    )
}

/// The value as text, trimmed: text as written, numbers and dates as a person would type them.
/// `None` for a spreadsheet error cell.
pub fn text_of(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::Empty => Some(Cow::Borrowed("")),
        Value::Text(s) => Some(Cow::Borrowed(registrar_model::trim(s))),
        Value::Error(_) => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// The first character a stored value must not hold, as an `invalid-character` error: a
/// control character (NUL included; tab, line feed and carriage return are allowed when
/// `breaks` is true) and, when `invisible` is true, an invisible format character
/// ([`registrar_model::is_invisible`]: zero-width space, bidi controls, BOM). The message
/// names the character by its code point and position, never the value.
fn bad_character(s: &str, breaks: bool, invisible: bool) -> ParseResult<()> {
    let found = s.chars().enumerate().find(|&(_, c)| {
        (c.is_control() && !(breaks && matches!(c, '\t' | '\n' | '\r')))
            || (invisible && registrar_model::is_invisible(c))
    });
    match found {
        None => Ok(()),
        Some((i, c)) => {
            let kind = if c.is_control() {
                "a control character"
            } else {
                "an invisible character"
            };
            Err(ParseError::new(
                IssueCode::InvalidCharacter,
                format!(
                    "the value holds {kind} (U+{:04X}) at character {}; delete it (retype the value if you cannot see it)",
                    c as u32,
                    i + 1
                ),
            ))
        }
    }
}

/// Optional free text: trimmed; at most `max_chars` characters (`too-long` otherwise); no
/// control characters other than tab and line breaks (`invalid-character`); stored in Unicode
/// NFC, so `é` typed as `e` + combining accent is stored as the one character `é`.
/// Blank is `missing-value`; a spreadsheet error cell is `missing-value` naming the error.
pub fn text(v: &Value, max_chars: usize) -> ParseResult<String> {
    if let Value::Error(e) = v {
        return Err(error_cell(IssueCode::MissingValue, e, "the text"));
    }
    let t = text_of(v).unwrap_or_default();
    if t.is_empty() {
        return Err(missing());
    }
    bad_character(&t, true, false)?;
    let t: Cow<'_, str> = if t.is_ascii() {
        t
    } else {
        use unicode_normalization::UnicodeNormalization;
        Cow::Owned(t.nfc().collect())
    };
    // The length rule is the `validator` crate's (it counts characters, as SPEC §2 does); the
    // count is taken again only for the message.
    if !t
        .as_ref()
        .validate_length(None, Some(max_chars as u64), None)
    {
        let n = t.chars().count();
        return Err(ParseError::new(
            IssueCode::TooLong,
            format!("the text has {n} characters; at most {max_chars} are allowed"),
        ));
    }
    Ok(t.into_owned())
}

// ---------------------------------------------------------------------------------------------
// Emails

/// An email address: trimmed and lower-cased; exactly one `@`; a non-empty local part (at most
/// 64 characters, no leading, trailing or double dot); a domain with at least one dot and no
/// empty labels, made of letters, digits and hyphens (labels do not start or end with a
/// hyphen); no spaces, control characters or `"(),:;<>[\]`; at most 254 characters.
pub fn email(v: &Value) -> ParseResult<Email> {
    email_with(v, true)
}

/// [`email`], with the value left out of messages when `echo` is false.
pub(crate) fn email_with(v: &Value, echo: bool) -> ParseResult<Email> {
    match v {
        Value::Text(s) => email_str_with(s, echo),
        Value::Empty => Err(missing()),
        Value::Error(e) => Err(error_cell(
            IssueCode::InvalidEmail,
            e,
            "an email address such as name@school.edu",
        )),
        other => Err(ParseError::new(
            IssueCode::InvalidEmail,
            format!(
                "{} is not an email address; expected something like name@school.edu",
                shown(&other.to_string(), echo)
            ),
        )),
    }
}

/// [`email`] on text.
pub fn email_str(s: &str) -> ParseResult<Email> {
    email_str_with(s, true)
}

fn email_str_with(s: &str, echo: bool) -> ParseResult<Email> {
    let t = registrar_model::trim(s);
    if t.is_empty() {
        return Err(missing());
    }
    // Control characters are `invalid-email` below; invisible ones get their own code.
    if t.chars().any(registrar_model::is_invisible) {
        bad_character(t, true, true)?;
    }
    if let Err(why) = check_email(t) {
        return Err(ParseError::new(
            IssueCode::InvalidEmail,
            format!("{} is not a valid email address: {why}", shown(t, echo)),
        ));
    }
    let lower = if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        t.to_lowercase()
    };
    Ok(Email::new_unchecked(lower))
}

fn check_email(t: &str) -> Result<(), &'static str> {
    match check_email_ascii(t.as_bytes()) {
        Some(r) => r,
        None => check_email_chars(t),
    }
}

/// [`check_email`] for any text, by characters.
fn check_email_chars(t: &str) -> Result<(), &'static str> {
    if t.chars().count() > MAX_EMAIL_LEN {
        return Err("it is longer than 254 characters");
    }
    let mut at = None;
    for (i, c) in t.char_indices() {
        if c.is_whitespace() {
            return Err("it contains a space");
        }
        if c.is_control() {
            return Err("it contains a control character");
        }
        if matches!(
            c,
            '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | '\\' | ']'
        ) {
            return Err("it contains a character not allowed in an address (\"(),:;<>[\\])");
        }
        if c == '@' {
            if at.is_some() {
                return Err("it has more than one @");
            }
            at = Some(i);
        }
    }
    let Some(at) = at else {
        return Err("it has no @");
    };
    let (local, domain) = (&t[..at], &t[at + 1..]);
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if local.chars().count() > MAX_EMAIL_LOCAL_LEN {
        return Err("the part before the @ is longer than 64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before the @ has a misplaced dot");
    }
    if domain.is_empty() {
        return Err("nothing after the @");
    }
    if !domain.contains('.') {
        return Err("the domain needs a dot (e.g. school.edu)");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err("the domain has an empty part (two dots in a row, or a dot at an end)");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part of the domain starts or ends with a hyphen");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err("the domain may hold only letters, digits, hyphens and dots");
        }
    }
    Ok(())
}

/// Byte classes for the ASCII email check: 0 ordinary, 1 space, 2 control, 3 not allowed,
/// 4 `@`, 5 non-ASCII. A table instead of a `match` keeps the hot loop free of jumps.
const fn email_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => 1,
            0..=0x1f | 0x7f => 2,
            b'"' | b'(' | b')' | b',' | b':' | b';' | b'<' | b'>' | b'[' | b'\\' | b']' => 3,
            b'@' => 4,
            0x80..=0xff => 5,
            _ => 0,
        };
        i += 1;
    }
    t
}

static EMAIL_CLASS: [u8; 256] = email_classes();

/// [`check_email`] for ASCII text (the common case), on bytes: same rules, same messages.
/// Returns `None` when the text is not ASCII.
fn check_email_ascii(b: &[u8]) -> Option<Result<(), &'static str>> {
    let mut at = None;
    let mut problem: Option<&'static str> = None;
    for (i, &c) in b.iter().enumerate() {
        let k = EMAIL_CLASS[c as usize];
        if k == 0 {
            continue;
        }
        match k {
            5 => return None,
            1 => problem = problem.or(Some("it contains a space")),
            2 => problem = problem.or(Some("it contains a control character")),
            3 => {
                problem = problem.or(Some(
                    "it contains a character not allowed in an address (\"(),:;<>[\\])",
                ))
            }
            _ => {
                if at.is_some() {
                    problem = problem.or(Some("it has more than one @"));
                }
                at = Some(i);
            }
        }
    }
    Some(check_email_ascii_parts(b, at, problem))
}

fn check_email_ascii_parts(
    b: &[u8],
    at: Option<usize>,
    problem: Option<&'static str>,
) -> Result<(), &'static str> {
    if b.len() > MAX_EMAIL_LEN {
        return Err("it is longer than 254 characters");
    }
    if let Some(p) = problem {
        return Err(p);
    }
    let Some(at) = at else {
        return Err("it has no @");
    };
    let (local, domain) = (&b[..at], &b[at + 1..]);
    if local.is_empty() {
        return Err("nothing before the @");
    }
    if local.len() > MAX_EMAIL_LOCAL_LEN {
        return Err("the part before the @ is longer than 64 characters");
    }
    if local[0] == b'.' || local[local.len() - 1] == b'.' || local.windows(2).any(|w| w == b"..") {
        return Err("the part before the @ has a misplaced dot");
    }
    if domain.is_empty() {
        return Err("nothing after the @");
    }
    if !domain.contains(&b'.') {
        return Err("the domain needs a dot (e.g. school.edu)");
    }
    for label in domain.split(|&c| c == b'.') {
        let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
            return Err("the domain has an empty part (two dots in a row, or a dot at an end)");
        };
        if first == b'-' || last == b'-' {
            return Err("a part of the domain starts or ends with a hyphen");
        }
        if !label
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        {
            return Err("the domain may hold only letters, digits, hyphens and dots");
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Booleans and numbers

/// A boolean: `true/false`, `yes/no`, `y/n`, `1/0` (case-insensitive, trimmed), a boolean cell,
/// or the number 0 or 1.
pub fn boolean(v: &Value) -> ParseResult<bool> {
    boolean_with(v, true)
}

/// [`boolean`], with the value left out of messages when `echo` is false.
pub(crate) fn boolean_with(v: &Value, echo: bool) -> ParseResult<bool> {
    let bad = |value: &str| {
        ParseError::new(
            IssueCode::InvalidBoolean,
            format!(
                "{} is not a yes/no value; use true/false, yes/no, y/n or 1/0",
                shown(value, echo)
            ),
        )
    };
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Int(0) => Ok(false),
        Value::Int(1) => Ok(true),
        Value::Float(f) if *f == 0.0 => Ok(false),
        Value::Float(f) if *f == 1.0 => Ok(true),
        Value::Empty => Err(missing()),
        Value::Error(e) => Err(error_cell(IssueCode::InvalidBoolean, e, "true or false")),
        Value::Text(s) => {
            let t = registrar_model::trim(s);
            if t.is_empty() {
                return Err(missing());
            }
            const TRUE: [&str; 4] = ["true", "yes", "y", "1"];
            const FALSE: [&str; 4] = ["false", "no", "n", "0"];
            if TRUE.iter().any(|w| w.eq_ignore_ascii_case(t)) {
                Ok(true)
            } else if FALSE.iter().any(|w| w.eq_ignore_ascii_case(t)) {
                Ok(false)
            } else {
                Err(bad(t))
            }
        }
        other => Err(bad(&other.to_string())),
    }
}

/// The words [`is_active`] takes besides [`boolean`]'s (case-insensitive): how SIS exports
/// write an account's state.
pub const ACTIVE_WORDS: [(&str, bool); 4] = [
    ("active", true),
    ("inactive", false),
    ("enabled", true),
    ("disabled", false),
];

/// The users file's `is_active`: what [`boolean`] takes, plus `active`/`inactive` and
/// `enabled`/`disabled` (case-insensitive, trimmed), as SIS exports write an account's state.
pub fn is_active(v: &Value) -> ParseResult<bool> {
    is_active_with(v, true)
}

/// [`is_active`], with the value left out of messages when `echo` is false.
pub(crate) fn is_active_with(v: &Value, echo: bool) -> ParseResult<bool> {
    if let Value::Text(s) = v {
        let t = registrar_model::trim(s);
        if let Some((_, b)) = ACTIVE_WORDS.iter().find(|(w, _)| w.eq_ignore_ascii_case(t)) {
            return Ok(*b);
        }
    }
    boolean_with(v, echo).map_err(|e| {
        if e.code == IssueCode::InvalidBoolean && !matches!(v, Value::Error(_)) {
            let shown = match v {
                Value::Text(s) => shown(s.trim(), echo),
                other => shown(&other.to_string(), echo),
            };
            ParseError::new(
                IssueCode::InvalidBoolean,
                format!(
                    "{shown} is not a yes/no value; use true/false, yes/no, y/n, 1/0, active/inactive or enabled/disabled"
                ),
            )
        } else {
            e
        }
    })
}

/// What to write instead of a number written the way a person might: `92%` (write `92`),
/// `92,5` (write `92.5`). Empty when there is no better suggestion.
fn number_hint(shown: &str) -> String {
    let t = shown.trim();
    let plain = |s: &str| !s.is_empty() && s.parse::<f64>().is_ok_and(f64::is_finite);
    if let Some(n) = t.strip_suffix('%') {
        let n = n.trim_end();
        if plain(n) {
            return format!("; write the number without the percent sign: {n}");
        }
        if n.matches(',').count() == 1 && plain(&n.replace(',', ".")) {
            return format!(
                "; write the number without the percent sign, with a dot for decimals: {}",
                n.replace(',', ".")
            );
        }
    }
    if t.matches(',').count() == 1 && !t.contains('.') && plain(&t.replace(',', ".")) {
        return format!(
            "; use a dot for decimals: {} (a decimal comma is not read as one)",
            t.replace(',', ".")
        );
    }
    String::new()
}

/// A finite number from a numeric cell or text (`85`, `85.5`, ` 1e2 `), in `min..=max`
/// (`out-of-range` otherwise).
pub fn number(v: &Value, min: f64, max: f64) -> ParseResult<f64> {
    let x = raw_number(v)?;
    // `x` is finite here (`raw_number` refuses NaN and infinities), so the `validator` crate's
    // range rule is exactly `min <= x <= max`.
    if !x.validate_range(Some(min), Some(max), None, None) {
        return Err(ParseError::new(
            IssueCode::OutOfRange,
            format!("{x} is out of range; it must be between {min} and {max}"),
        ));
    }
    Ok(x)
}

fn raw_number(v: &Value) -> ParseResult<f64> {
    let not_a_number = |shown: &str| {
        ParseError::new(
            IssueCode::InvalidNumber,
            format!("{} is not a number{}", quote(shown), number_hint(shown)),
        )
    };
    let x = match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Empty => return Err(missing()),
        Value::Error(e) => return Err(error_cell(IssueCode::InvalidNumber, e, "a number")),
        Value::Text(s) => {
            let t = registrar_model::trim(s);
            if t.is_empty() {
                return Err(missing());
            }
            // Only plain decimal notation: digits, sign, one dot, exponent. Rejects "inf", "NaN".
            if !t
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
                || !t.bytes().any(|b| b.is_ascii_digit())
            {
                return Err(not_a_number(t));
            }
            t.parse::<f64>().map_err(|_| not_a_number(t))?
        }
        other => return Err(not_a_number(&other.to_string())),
    };
    if !x.is_finite() {
        return Err(not_a_number(&x.to_string()));
    }
    // `-0` is stored as 0 (adding +0.0 turns -0.0 into 0.0 and changes nothing else).
    Ok(x + 0.0)
}

/// A whole number in `min..=max`: `4`, `4.0`, ` 4 ` and a numeric cell holding 4.0 are all 4;
/// `4.5` is `invalid-number`; outside the range is `out-of-range`.
pub fn integer(v: &Value, min: i64, max: i64) -> ParseResult<i64> {
    let plain = match v {
        Value::Int(i) => Some(*i),
        Value::Text(s) => registrar_model::trim(s).parse::<i64>().ok(),
        _ => None,
    };
    let i = match plain {
        Some(i) => i,
        None => {
            let x = raw_number(v)?;
            if x.fract() != 0.0 {
                return Err(ParseError::new(
                    IssueCode::InvalidNumber,
                    format!("{x} is not a whole number"),
                ));
            }
            if x < i64::MIN as f64 || x > i64::MAX as f64 {
                return Err(ParseError::new(
                    IssueCode::OutOfRange,
                    format!("{x} is out of range; it must be between {min} and {max}"),
                ));
            }
            x as i64
        }
    };
    if !i.validate_range(Some(min), Some(max), None, None) {
        return Err(ParseError::new(
            IssueCode::OutOfRange,
            format!("{i} is out of range; it must be between {min} and {max}"),
        ));
    }
    Ok(i)
}

/// Course credits: a whole number from 0 to 20. Half credits (`0.5`, `1.5`) are
/// `invalid-number` with a message saying why: the SMS's `courses.credits` column is an
/// `INTEGER` (SPEC §4; an adopted SMS's table is never altered), so it cannot hold them.
pub fn credits(v: &Value) -> ParseResult<i32> {
    // The range fits in i32, so the conversion cannot fail.
    integer(v, CREDITS_RANGE.0, CREDITS_RANGE.1)
        .map(|i| i as i32)
        .map_err(|e| {
            if e.code == IssueCode::InvalidNumber && e.message.ends_with("is not a whole number") {
                ParseError::new(
                    e.code,
                    format!(
                        "{}: the SMS stores credits as a whole number (its courses.credits column is an INTEGER), so fractional credits such as half credits cannot be held; round it to a whole number",
                        e.message
                    ),
                )
            } else {
                e
            }
        })
}

/// A score: a number from 0 to 100.
pub fn score(v: &Value) -> ParseResult<f64> {
    number(v, SCORE_RANGE.0, SCORE_RANGE.1)
}

// ---------------------------------------------------------------------------------------------
// Dates

const DATE_HINT: &str = "use the form YYYY-MM-DD, e.g. 2024-09-01";

/// How a date written with slashes (`9/1/2026`) is read (`--date-order`): never guessed, since
/// `9/1/2026` is 1 September in the US and 9 January in Europe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// Month, day, year (`9/1/2026` is 2026-09-01): the US order.
    Mdy,
    /// Day, month, year (`9/1/2026` is 2026-01-09): the European order.
    Dmy,
}

impl DateOrder {
    /// `"mdy"` or `"dmy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::Mdy => "mdy",
            DateOrder::Dmy => "dmy",
        }
    }

    /// The order named `s` (`mdy` or `dmy`, case-insensitive).
    pub fn parse(s: &str) -> Option<DateOrder> {
        if s.eq_ignore_ascii_case("mdy") {
            Some(DateOrder::Mdy)
        } else if s.eq_ignore_ascii_case("dmy") {
            Some(DateOrder::Dmy)
        } else {
            None
        }
    }
}

/// A date: ISO text `YYYY-MM-DD`, an ISO date-time (see [`date_str`]), a date cell, or a
/// date-time cell at midnight. Slash dates are refused (see [`date_in`]).
pub fn date(v: &Value) -> ParseResult<NaiveDate> {
    date_in(v, None)
}

/// [`date`], reading slash dates (`9/1/2026`, `09.01.2026`, `9-1-2026`) in `order` when given
/// (`--date-order`); without it they are `invalid-date` with a message naming the option.
///
/// A date-time *cell* with a time of day stays `invalid-date`: in a spreadsheet it is
/// usually a computed serial with a fraction, not an export's timestamp.
pub fn date_in(v: &Value, order: Option<DateOrder>) -> ParseResult<NaiveDate> {
    match v {
        Value::Date(d) => Ok(*d),
        Value::DateTime(dt) => {
            if dt.time() == NaiveTime::MIN {
                Ok(dt.date())
            } else {
                Err(ParseError::new(
                    IssueCode::InvalidDate,
                    format!(
                        "'{}' has a time of day; give a date only ({DATE_HINT})",
                        dt.format("%Y-%m-%d %H:%M:%S")
                    ),
                ))
            }
        }
        Value::Text(s) => date_str_in(s, order),
        Value::Empty => Err(missing()),
        Value::Error(e) => Err(error_cell(
            IssueCode::InvalidDate,
            e,
            "a date like 2024-09-01",
        )),
        other => Err(ParseError::new(
            IssueCode::InvalidDate,
            format!("{} is not a date; {DATE_HINT}", quote(&other.to_string())),
        )),
    }
}

/// [`date`] on text: `YYYY-MM-DD`, or an ISO 8601 date-time whose date is taken **as
/// written**: `2026-09-01T00:00:00Z`, `2026-09-01T08:30:00+02:00`, `2026-09-01 00:00:00`,
/// `2026-09-01T08:30`, with optional fractions of a second and an offset (`Z`, `+02:00`,
/// `+0200`, `+02`). The time and the offset are dropped, never converted: an export's
/// `2026-09-01T00:00:00+02:00` is 1 September where it was written, and converting it to UTC
/// would make it 31 August. The time must still be a valid time of day.
pub fn date_str(s: &str) -> ParseResult<NaiveDate> {
    date_str_in(s, None)
}

/// [`date_str`] with slash dates read in `order` (see [`date_in`]).
pub fn date_str_in(s: &str, order: Option<DateOrder>) -> ParseResult<NaiveDate> {
    let t = registrar_model::trim(s);
    if t.is_empty() {
        return Err(missing());
    }
    let b = t.as_bytes();
    if b.len() < 10 {
        return match slash_date(t, order) {
            Some(r) => r,
            None => Err(bad_date(t)),
        };
    }
    let day_part = &b[..10];
    if b.len() > 10 && !(matches!(b[10], b'T' | b't' | b' ') && iso_time_ok(&t[11..])) {
        return match slash_date(t, order) {
            Some(r) => r,
            None => Err(bad_date(t)),
        };
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut n = 0u32;
        for &c in &day_part[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    };
    if day_part[4] != b'-' || day_part[7] != b'-' {
        return match slash_date(t, order) {
            Some(r) => r,
            None => Err(bad_date(t)),
        };
    }
    let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(bad_date(t));
    };
    // y < 10_000, so the cast is exact.
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(|| not_a_day(t))
}

fn not_a_day(t: &str) -> ParseError {
    ParseError::new(
        IssueCode::InvalidDate,
        format!(
            "{} is not a day of the calendar (check month and day)",
            quote(t)
        ),
    )
}

/// True when `s` is the time part of an ISO 8601 date-time: `HH:MM`, `HH:MM:SS`,
/// `HH:MM:SS.fff` (up to 9 digits), then nothing, `Z` or an offset `±HH:MM`, `±HHMM`, `±HH`.
fn iso_time_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let two = |i: usize, max: u32| -> bool {
        b.len() >= i + 2
            && b[i].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0') <= max
    };
    if !(two(0, 23) && b.get(2) == Some(&b':') && two(3, 59)) {
        return false;
    }
    let mut i = 5;
    if b.get(i) == Some(&b':') {
        // 60: a leap second, as ISO 8601 allows.
        if !two(i + 1, 60) {
            return false;
        }
        i += 3;
        if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
            let n = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 || n > 9 {
                return false;
            }
            i += 1 + n;
        }
    }
    let rest = &b[i..];
    match rest {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] => {
            let o = &rest[1..];
            let hh = |j: usize| {
                o.len() >= j + 2
                    && o[j].is_ascii_digit()
                    && o[j + 1].is_ascii_digit()
                    && u32::from(o[j] - b'0') * 10 + u32::from(o[j + 1] - b'0') <= 23
            };
            let mm = |j: usize| {
                o.len() == j + 2
                    && o[j].is_ascii_digit()
                    && o[j + 1].is_ascii_digit()
                    && u32::from(o[j] - b'0') * 10 + u32::from(o[j + 1] - b'0') <= 59
            };
            hh(0) && (o.len() == 2 || (o.get(2) == Some(&b':') && mm(3)) || mm(2))
        }
        _ => false,
    }
}

/// A date written `A/B/YYYY` (also with `.` or `-`, the same separator twice; `A` and `B` of
/// one or two digits, a four-digit year). `None` when `t` has no such shape; otherwise the
/// date in `order`, or (without an order) an error naming `--date-order`.
fn slash_date(t: &str, order: Option<DateOrder>) -> Option<ParseResult<NaiveDate>> {
    let sep = t.bytes().find(|c| matches!(c, b'/' | b'.' | b'-'))?;
    let parts: Vec<&str> = t.split(sep as char).collect();
    let [a, b, y] = parts.as_slice() else {
        return None;
    };
    let small = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
    if !(small(a) && small(b) && y.len() == 4 && y.bytes().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let (a, b, y): (u32, u32, i32) = (a.parse().ok()?, b.parse().ok()?, y.parse().ok()?);
    let Some(order) = order else {
        return Some(Err(ParseError::new(
            IssueCode::InvalidDate,
            format!(
                "{} is ambiguous: month/day/year (US) or day/month/year (Europe)? Say which with --date-order mdy or --date-order dmy, or {DATE_HINT}",
                quote(t)
            ),
        )));
    };
    let (m, d) = match order {
        DateOrder::Mdy => (a, b),
        DateOrder::Dmy => (b, a),
    };
    Some(NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
        ParseError::new(
            IssueCode::InvalidDate,
            format!(
                "{} is not a day of the calendar read as {} (--date-order {}); check month and day",
                quote(t),
                match order {
                    DateOrder::Mdy => "month/day/year",
                    DateOrder::Dmy => "day/month/year",
                },
                order.as_str()
            ),
        )
    }))
}

fn bad_date(t: &str) -> ParseError {
    ParseError::new(
        IssueCode::InvalidDate,
        format!("{} is not a date; {DATE_HINT}", quote(t)),
    )
}

// ---------------------------------------------------------------------------------------------
// Codes and enumerations

/// A course code: trimmed, upper-cased, `^[A-Z][A-Z0-9_.-]{0,19}$`.
pub fn course_code(v: &Value) -> ParseResult<CourseCode> {
    if let Value::Error(e) = v {
        return Err(error_cell(
            IssueCode::InvalidCode,
            e,
            "a course code such as MATH101",
        ));
    }
    let t = text_of(v).unwrap_or_default();
    course_code_str(&t)
}

/// [`course_code`] on text.
pub fn course_code_str(s: &str) -> ParseResult<CourseCode> {
    let t = registrar_model::trim(s);
    if t.is_empty() {
        return Err(missing());
    }
    let b = t.as_bytes();
    let why = if !t.is_ascii() {
        Some("it may hold only letters A-Z, digits and _ . -")
    } else if b.len() > MAX_COURSE_CODE_LEN {
        Some("it is longer than 20 characters")
    } else if !b[0].is_ascii_alphabetic() {
        Some("it must start with a letter")
    } else if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        Some("it may hold only letters A-Z, digits and _ . -")
    } else {
        None
    };
    match why {
        Some(why) => Err(ParseError::new(
            IssueCode::InvalidCode,
            format!(
                "{} is not a valid course code: {why} (e.g. MATH101)",
                quote(t)
            ),
        )),
        None => Ok(CourseCode::new_unchecked(t.to_ascii_uppercase())),
    }
}

/// A course code as an SIS writes it, normalised by Registrar's one rule, so that `Phys 100 - 1`
/// and `MATH 101` are accepted, with the same result in every file that names a course:
///
/// 1. trim, and upper-case (ASCII), as SPEC §2 already does;
/// 2. every run of spaces and hyphens that holds at least one space becomes one `-`
///    (`PHYS 100 - 1` → `PHYS-100-1`, `MATH 101` → `MATH-101`); a section suffix is kept as a
///    part of the code;
/// 3. nothing else changes: a code without a space is left as it is (`CS--101` stays, it is
///    valid already), and any other character is still checked by [`course_code_str`]
///    (`^[A-Z][A-Z0-9_.-]{0,19}$`, after normalisation).
///
/// Returns the code as text; it is not checked here. The validation pass warns
/// (`course-code-normalized`, naming the original and the result) whenever step 2 changed
/// something, so a rewrite is never silent.
///
/// ```
/// use registrar_rules::parse::normalize_course_code;
/// assert_eq!(normalize_course_code(" Phys 100 - 1 "), "PHYS-100-1");
/// assert_eq!(normalize_course_code("MATH 101"), "MATH-101");
/// assert_eq!(normalize_course_code("cs--101"), "CS--101");
/// ```
pub fn normalize_course_code(s: &str) -> String {
    let t = registrar_model::trim(s);
    let mut out = String::with_capacity(t.len());
    let mut run = String::new();
    for c in t.chars() {
        if c == ' ' || c == '-' {
            run.push(c);
            continue;
        }
        if !run.is_empty() {
            if run.contains(' ') {
                out.push('-');
            } else {
                out.push_str(&run);
            }
            run.clear();
        }
        out.push(c.to_ascii_uppercase());
    }
    // `t` is trimmed, so a run left at the end ends with a hyphen (`MATH 101 -`).
    if run.contains(' ') {
        out.push('-');
    } else {
        out.push_str(&run);
    }
    out
}

/// True when [`normalize_course_code`] changes `s` beyond trimming and upper-casing (the
/// trimmed text holds a space).
pub fn course_code_needs_normalizing(s: &str) -> bool {
    registrar_model::trim(s).contains(' ')
}

/// [`course_code`] after [`normalize_course_code`]: the code, and the original text when
/// the normalisation changed it (beyond trimming and upper-casing).
pub fn course_code_normalized(v: &Value) -> ParseResult<(CourseCode, Option<String>)> {
    if let Value::Error(e) = v {
        return Err(error_cell(
            IssueCode::InvalidCode,
            e,
            "a course code such as MATH101",
        ));
    }
    let t = text_of(v).unwrap_or_default();
    if !course_code_needs_normalizing(&t) {
        return course_code_str(&t).map(|c| (c, None));
    }
    let n = normalize_course_code(&t);
    match course_code_str(&n) {
        Ok(c) => Ok((c, Some(t.into_owned()))),
        Err(e) if e.code == IssueCode::InvalidCode => Err(ParseError::new(
            IssueCode::InvalidCode,
            format!(
                "{} is not a valid course code, even written as {} (runs of spaces and hyphens become one -): {}",
                quote(&t),
                quote(&n),
                e.message
                    .split_once(": ")
                    .map(|(_, why)| why)
                    .unwrap_or(&e.message)
            ),
        )),
        Err(e) => Err(e),
    }
}

fn enumerated<T>(
    v: &Value,
    echo: bool,
    code: IssueCode,
    what: &str,
    allowed: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> ParseResult<T> {
    if let Value::Error(e) = v {
        return Err(error_cell(code, e, &format!("one of {allowed}")));
    }
    let t = text_of(v).unwrap_or_default();
    if t.is_empty() {
        return Err(missing());
    }
    parse(&t).ok_or_else(|| {
        ParseError::new(
            code,
            format!("{} is not {what}; use one of {allowed}", shown(&t, echo)),
        )
    })
}

/// A role: admin, teacher, student, viewer (case-insensitive).
pub fn role(v: &Value) -> ParseResult<Role> {
    role_with(v, true)
}

/// [`role`], with the value left out of messages when `echo` is false.
pub(crate) fn role_with(v: &Value, echo: bool) -> ParseResult<Role> {
    enumerated(
        v,
        echo,
        IssueCode::InvalidRole,
        "a role",
        "admin, teacher, student, viewer",
        Role::parse,
    )
}

/// A course status: active, inactive, archived (case-insensitive).
pub fn course_status(v: &Value) -> ParseResult<CourseStatus> {
    enumerated(
        v,
        true,
        IssueCode::InvalidStatus,
        "a course status",
        "active, inactive, archived",
        CourseStatus::parse,
    )
}

/// An attendance status: present, absent, late, excused (case-insensitive); `tardy` is read
/// as late (the word US SIS exports use).
pub fn attendance_status(v: &Value) -> ParseResult<AttendanceStatus> {
    enumerated(
        v,
        true,
        IssueCode::InvalidStatus,
        "an attendance status",
        "present, absent, late (or tardy), excused",
        |t| {
            AttendanceStatus::parse(t).or_else(|| {
                t.eq_ignore_ascii_case("tardy")
                    .then_some(AttendanceStatus::Late)
            })
        },
    )
}

/// A letter grade: A+ A A- B+ B B- C+ C C- D+ D D- F P NP I W (case-insensitive).
pub fn letter_grade(v: &Value) -> ParseResult<LetterGrade> {
    enumerated(
        v,
        true,
        IssueCode::InvalidGrade,
        "a letter grade",
        "A+ A A- B+ B B- C+ C C- D+ D D- F P NP I W",
        LetterGrade::parse,
    )
}

#[cfg(test)]
mod value_rules_tests {
    use super::*;

    #[test]
    fn minus_zero_is_stored_as_zero() {
        for v in [
            Value::Text("-0".into()),
            Value::Float(-0.0),
            Value::Text("-0.0".into()),
        ] {
            let x = score(&v).unwrap();
            assert_eq!(x, 0.0);
            assert!(x.is_sign_positive(), "{v:?}");
        }
    }

    #[test]
    fn nul_and_control_characters_in_text_are_refused() {
        for s in ["Ann\u{0}", "A\u{1}nn", "Ann\u{7f}x", "Ann\u{85}x"] {
            let e = text(&Value::Text(s.into()), 100).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidCharacter, "{s:?}");
            assert!(!e.message.contains("Ann"), "{}", e.message);
        }
        // Line breaks and tabs in free text are kept.
        assert_eq!(
            text(&Value::Text("a\nb\tc".into()), 100).unwrap(),
            "a\nb\tc"
        );
    }

    #[test]
    fn invisible_and_control_characters_in_emails_are_refused() {
        for s in [
            "ann\u{200b}@school.edu",
            "ann@school.edu\u{202e}",
            "\u{feff}ann@school.edu",
        ] {
            let e = email(&Value::Text(s.into())).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidCharacter, "{s:?}");
        }
        assert!(email(&Value::Text(" ann@school.edu ".into())).is_ok());
        // Control characters stay `invalid-email`, as before.
        let e = email(&Value::Text("a\u{0}nn@school.edu".into())).unwrap_err();
        assert_eq!(e.code, IssueCode::InvalidEmail);
    }

    #[test]
    fn names_are_stored_in_nfc() {
        let nfd = "Jose\u{301}";
        assert_eq!(text(&Value::Text(nfd.into()), 100).unwrap(), "Jos\u{e9}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    fn t(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn emails() {
        assert_eq!(
            email(&t(" Ann.Lee@School.EDU ")).unwrap().as_str(),
            "ann.lee@school.edu"
        );
        assert_eq!(
            email(&t("a+b@x-y.example.org")).unwrap().as_str(),
            "a+b@x-y.example.org"
        );
        for bad in [
            "carol@school",
            "carol",
            "@school.edu",
            "a@@school.edu",
            "a@b@school.edu",
            "a b@school.edu",
            "a@school..edu",
            "a@.school.edu",
            "a@school.edu.",
            "a@-school.edu",
            "a.@school.edu",
            "a@school_x.edu",
            "a\u{7}@school.edu",
            "<a>@school.edu",
        ] {
            let e = email(&t(bad)).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidEmail, "{bad}");
        }
        let e = email(&t("carol@school")).unwrap_err();
        assert!(e.message.contains("'carol@school'"), "{}", e.message);
        assert!(e.message.contains("dot"), "{}", e.message);
        assert_eq!(email(&t("  ")).unwrap_err().code, IssueCode::MissingValue);
        assert_eq!(
            email(&Value::Empty).unwrap_err().code,
            IssueCode::MissingValue
        );
        assert_eq!(
            email(&Value::Int(3)).unwrap_err().code,
            IssueCode::InvalidEmail
        );
        let e = email(&Value::Error("#N/A".into())).unwrap_err();
        assert_eq!(e.code, IssueCode::InvalidEmail);
        assert!(e.message.contains("#N/A"));
        let long = format!("{}@school.edu", "a".repeat(65));
        assert_eq!(email(&t(&long)).unwrap_err().code, IssueCode::InvalidEmail);
    }

    #[test]
    fn ascii_fast_path_agrees_with_general_path() {
        for s in [
            "a@b.cd",
            "carol@school",
            "a b@c.de",
            "a\u{1}@c.de",
            "a@@c.de",
            "@c.de",
            ".a@c.de",
            "a..b@c.de",
            "a@",
            "a@c..de",
            "a@-c.de",
            "a@c_d.ef",
            "a,b@c.de",
            "no-at-sign",
        ] {
            assert_eq!(
                check_email_ascii(s.as_bytes()),
                Some(check_email_chars(s)),
                "{s}"
            );
        }
        assert!(check_email("jos\u{e9}@\u{e9}cole.fr").is_ok());
        assert_eq!(
            check_email("jos\u{e9}@\u{e9}cole").unwrap_err(),
            "the domain needs a dot (e.g. school.edu)"
        );
    }

    proptest::proptest! {
        #[test]
        fn ascii_fast_path_agrees_on_any_ascii(s in "[ -~\t]{0,40}", t in "[a-z.@-]{0,20}") {
            proptest::prop_assert_eq!(check_email_ascii(s.as_bytes()), Some(check_email_chars(&s)));
            proptest::prop_assert_eq!(check_email_ascii(t.as_bytes()), Some(check_email_chars(&t)));
        }
    }

    #[test]
    fn booleans() {
        for (s, b) in [
            ("true", true),
            ("FALSE", false),
            (" Yes ", true),
            ("no", false),
            ("Y", true),
            ("n", false),
            ("1", true),
            ("0", false),
        ] {
            assert_eq!(boolean(&t(s)).unwrap(), b, "{s}");
        }
        assert!(boolean(&Value::Bool(true)).unwrap());
        assert!(!boolean(&Value::Int(0)).unwrap());
        assert!(boolean(&Value::Float(1.0)).unwrap());
        assert_eq!(
            boolean(&t("maybe")).unwrap_err().code,
            IssueCode::InvalidBoolean
        );
        assert!(boolean(&t("maybe"))
            .unwrap_err()
            .message
            .contains("'maybe'"));
        assert_eq!(
            boolean(&Value::Int(2)).unwrap_err().code,
            IssueCode::InvalidBoolean
        );
        assert_eq!(
            boolean(&Value::Empty).unwrap_err().code,
            IssueCode::MissingValue
        );
        assert_eq!(
            boolean(&Value::Error("#REF!".into())).unwrap_err().code,
            IssueCode::InvalidBoolean
        );
    }

    #[test]
    fn integers_and_credits() {
        assert_eq!(credits(&t("4")).unwrap(), 4);
        assert_eq!(credits(&t(" 4.0 ")).unwrap(), 4);
        assert_eq!(credits(&Value::Float(4.0)).unwrap(), 4);
        assert_eq!(credits(&Value::Int(0)).unwrap(), 0);
        assert_eq!(credits(&Value::Int(20)).unwrap(), 20);
        assert_eq!(
            credits(&t("4.5")).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(
            credits(&Value::Float(4.5)).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(credits(&t("21")).unwrap_err().code, IssueCode::OutOfRange);
        assert_eq!(credits(&t("-1")).unwrap_err().code, IssueCode::OutOfRange);
        assert_eq!(credits(&t("1e30")).unwrap_err().code, IssueCode::OutOfRange);
        assert_eq!(
            credits(&t("four")).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(
            credits(&t("inf")).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(
            credits(&t("NaN")).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(
            credits(&Value::Bool(true)).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        let e = credits(&Value::Error("#DIV/0!".into())).unwrap_err();
        assert_eq!(e.code, IssueCode::InvalidNumber);
        assert!(e.message.contains("#DIV/0!"));
    }

    #[test]
    fn percent_and_decimal_comma_say_what_to_write() {
        let msg = |t: &str| score(&Value::Text(t.into())).unwrap_err().message;
        assert!(
            msg("92%").contains("write the number without the percent sign: 92"),
            "{}",
            msg("92%")
        );
        assert!(
            msg("92,5").contains("use a dot for decimals: 92.5"),
            "{}",
            msg("92,5")
        );
        assert!(msg("92,5 %").contains(": 92.5"), "{}", msg("92,5 %"));
        assert!(msg("abc").ends_with("is not a number"), "{}", msg("abc"));
        assert_eq!(
            score(&Value::Text("92%".into())).unwrap_err().code,
            IssueCode::InvalidNumber
        );
    }

    #[test]
    fn scores() {
        assert_eq!(score(&t("85.5")).unwrap(), 85.5);
        assert_eq!(score(&Value::Int(100)).unwrap(), 100.0);
        assert_eq!(score(&Value::Float(0.0)).unwrap(), 0.0);
        assert_eq!(score(&t("100.01")).unwrap_err().code, IssueCode::OutOfRange);
        assert_eq!(score(&t("-3")).unwrap_err().code, IssueCode::OutOfRange);
        assert_eq!(score(&t("A")).unwrap_err().code, IssueCode::InvalidNumber);
        assert_eq!(
            score(&t("85,5")).unwrap_err().code,
            IssueCode::InvalidNumber
        );
        assert_eq!(
            score(&Value::Float(f64::NAN)).unwrap_err().code,
            IssueCode::InvalidNumber
        );
    }

    #[test]
    fn dates() {
        let d = NaiveDate::from_ymd_opt(2024, 9, 1).unwrap();
        assert_eq!(date(&t("2024-09-01")).unwrap(), d);
        assert_eq!(date(&t(" 2024-09-01 ")).unwrap(), d);
        assert_eq!(date(&t("2024-09-01T00:00:00")).unwrap(), d);
        assert_eq!(date(&t("2024-09-01 00:00:00")).unwrap(), d);
        assert_eq!(date(&Value::Date(d)).unwrap(), d);
        let midnight = NaiveDateTime::new(d, NaiveTime::MIN);
        assert_eq!(date(&Value::DateTime(midnight)).unwrap(), d);
        let later = NaiveDateTime::new(d, NaiveTime::from_hms_opt(10, 30, 0).unwrap());
        assert_eq!(
            date(&Value::DateTime(later)).unwrap_err().code,
            IssueCode::InvalidDate
        );
        for bad in [
            "2024-02-30",
            "09/01/2024",
            "2024-9-1",
            "20240901",
            "2024-13-01",
            "yesterday",
        ] {
            let e = date(&t(bad)).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidDate, "{bad}");
        }
        assert!(date(&t("09/01/2024"))
            .unwrap_err()
            .message
            .contains("YYYY-MM-DD"));
        assert_eq!(
            date(&Value::Int(45000)).unwrap_err().code,
            IssueCode::InvalidDate
        );
        let e = date(&Value::Error("#N/A".into())).unwrap_err();
        assert_eq!(e.code, IssueCode::InvalidDate);
        assert!(e.message.contains("#N/A"));
        assert_eq!(
            date(&Value::Empty).unwrap_err().code,
            IssueCode::MissingValue
        );
    }

    #[test]
    fn course_codes() {
        assert_eq!(course_code(&t(" math101 ")).unwrap().as_str(), "MATH101");
        assert_eq!(course_code(&t("cs-1.a_b")).unwrap().as_str(), "CS-1.A_B");
        assert_eq!(course_code(&t("A")).unwrap().as_str(), "A");
        assert_eq!(
            course_code(&t(&"A".repeat(20))).unwrap().as_str(),
            "A".repeat(20)
        );
        for bad in [
            "101MATH",
            "MATH 101",
            "MATH#1",
            "ÉCOLE1",
            &"A".repeat(21),
            "-X",
        ] {
            assert_eq!(
                course_code(&t(bad)).unwrap_err().code,
                IssueCode::InvalidCode,
                "{bad}"
            );
        }
        assert_eq!(
            course_code(&Value::Int(101)).unwrap_err().code,
            IssueCode::InvalidCode
        );
        assert_eq!(
            course_code(&t("")).unwrap_err().code,
            IssueCode::MissingValue
        );
    }

    #[test]
    fn enumerations() {
        assert_eq!(role(&t(" Teacher")).unwrap(), Role::Teacher);
        assert_eq!(
            role(&t("janitor")).unwrap_err().code,
            IssueCode::InvalidRole
        );
        assert!(role(&t("janitor"))
            .unwrap_err()
            .message
            .contains("'janitor'"));
        assert_eq!(
            course_status(&t("ARCHIVED")).unwrap(),
            CourseStatus::Archived
        );
        assert_eq!(
            course_status(&t("closed")).unwrap_err().code,
            IssueCode::InvalidStatus
        );
        assert_eq!(
            attendance_status(&t("Late")).unwrap(),
            AttendanceStatus::Late
        );
        assert_eq!(
            attendance_status(&t("sick")).unwrap_err().code,
            IssueCode::InvalidStatus
        );
        assert_eq!(letter_grade(&t("b+")).unwrap().as_str(), "B+");
        assert_eq!(
            letter_grade(&t("E")).unwrap_err().code,
            IssueCode::InvalidGrade
        );
        assert_eq!(
            letter_grade(&Value::Error("#N/A".into())).unwrap_err().code,
            IssueCode::InvalidGrade
        );
        assert_eq!(
            role(&Value::Empty).unwrap_err().code,
            IssueCode::MissingValue
        );
    }

    #[test]
    fn free_text() {
        assert_eq!(text(&t("  Ann "), 100).unwrap(), "Ann");
        assert_eq!(text(&Value::Int(2024), 100).unwrap(), "2024");
        assert_eq!(
            text(&t(&"é".repeat(100)), 100).unwrap().chars().count(),
            100
        );
        assert_eq!(
            text(&t(&"é".repeat(101)), 100).unwrap_err().code,
            IssueCode::TooLong
        );
        assert_eq!(
            text(&t(" "), 100).unwrap_err().code,
            IssueCode::MissingValue
        );
        assert_eq!(
            text(&Value::Error("#NAME?".into()), 100).unwrap_err().code,
            IssueCode::MissingValue
        );
    }

    #[test]
    fn quote_shortens_and_hides_controls() {
        assert_eq!(quote("ab"), "'ab'");
        assert_eq!(quote("a\nb"), "'a?b'");
        assert_eq!(quote(&"x".repeat(100)).chars().count(), 63);
    }
}

/// What the `validator` crate's rules accept next to ours, on the inputs where they could
/// differ. The issue codes and messages are pinned byte for byte: using the crate must not
/// change a single report. See the crate docs ("Which rules use the `validator` crate").
#[cfg(test)]
mod validator_crate_tests {
    use super::*;
    use validator::ValidateEmail;

    /// Our verdict: `Ok(stored)` or `Err((code, message))`.
    type Ours = Result<String, (IssueCode, String)>;

    fn ours(s: &str) -> Ours {
        email(&Value::Text(s.to_owned()))
            .map(|e| e.as_str().to_owned())
            .map_err(|e| (e.code, e.message))
    }

    fn bad(s: &str, why: &str) -> Ours {
        Err((
            IssueCode::InvalidEmail,
            format!("{} is not a valid email address: {why}", quote(s.trim())),
        ))
    }

    const NOT_ALLOWED: &str = "it contains a character not allowed in an address (\"(),:;<>[\\])";
    const DOT: &str = "the part before the @ has a misplaced dot";

    #[test]
    fn email_rule_against_the_validator_crate() {
        let label = |c: &str, n: usize| c.repeat(n);
        let local64 = label("a", 64);
        // 64 + 1 + 189 = 254 characters, every domain label at most 63.
        let len254 = format!(
            "{local64}@{}.{}.{}.edu",
            label("b", 63),
            label("c", 63),
            label("d", 57)
        );
        let len255 = format!(
            "{local64}@{}.{}.{}.edu",
            label("b", 63),
            label("c", 63),
            label("d", 58)
        );
        let local65 = format!("{}@school.edu", label("a", 65));
        let label64 = format!("ann@{}.edu", label("b", 64));
        // (input, our verdict, the validator crate's `validate_email` on the same text)
        let table: Vec<(&str, Ours, bool)> = vec![
            ("ann@school.edu", Ok("ann@school.edu".into()), true),
            (
                "Ann.Lee+tag@School.EDU",
                Ok("ann.lee+tag@school.edu".into()),
                true,
            ),
            // Ours trims first; the crate takes the text as given.
            (" ann@school.edu ", Ok("ann@school.edu".into()), false),
            (
                "ann lee@school.edu",
                bad("ann lee@school.edu", "it contains a space"),
                false,
            ),
            (
                "\"ann\"@school.edu",
                bad("\"ann\"@school.edu", NOT_ALLOWED),
                false,
            ),
            (
                "\"ann@x\"@school.edu",
                bad("\"ann@x\"@school.edu", NOT_ALLOWED),
                false,
            ),
            // IP literals: the crate accepts them, SPEC §2 does not.
            ("ann@[127.0.0.1]", bad("ann@[127.0.0.1]", NOT_ALLOWED), true),
            (
                "ann@[2001:db8::1]",
                bad("ann@[2001:db8::1]", NOT_ALLOWED),
                true,
            ),
            // No dot in the domain: the crate accepts it, SPEC §2 does not.
            (
                "ann@localhost",
                bad("ann@localhost", "the domain needs a dot (e.g. school.edu)"),
                true,
            ),
            (
                "ann@sch\u{f6}ol",
                bad(
                    "ann@sch\u{f6}ol",
                    "the domain needs a dot (e.g. school.edu)",
                ),
                true,
            ),
            (
                "ann@school.edu.",
                bad(
                    "ann@school.edu.",
                    "the domain has an empty part (two dots in a row, or a dot at an end)",
                ),
                false,
            ),
            // Misplaced dots in the local part: the crate accepts them.
            (".ann@school.edu", bad(".ann@school.edu", DOT), true),
            ("ann.@school.edu", bad("ann.@school.edu", DOT), true),
            ("ann..lee@school.edu", bad("ann..lee@school.edu", DOT), true),
            (
                "ann@@school.edu",
                bad("ann@@school.edu", "it has more than one @"),
                false,
            ),
            (
                "@school.edu",
                bad("@school.edu", "nothing before the @"),
                false,
            ),
            ("ann@", bad("ann@", "nothing after the @"), false),
            ("ann", bad("ann", "it has no @"), false),
            (
                "ann@-school.edu",
                bad(
                    "ann@-school.edu",
                    "a part of the domain starts or ends with a hyphen",
                ),
                false,
            ),
            (
                "ann@school_x.edu",
                bad(
                    "ann@school_x.edu",
                    "the domain may hold only letters, digits, hyphens and dots",
                ),
                false,
            ),
            (
                "a\u{7}nn@school.edu",
                bad("a\u{7}nn@school.edu", "it contains a control character"),
                false,
            ),
            ("ann@123.45.67.89", Ok("ann@123.45.67.89".into()), true),
            // Unicode: ours takes any letters; the crate wants an ASCII local part and maps
            // the domain through IDNA.
            (
                "jos\u{e9}@\u{e9}cole.fr",
                Ok("jos\u{e9}@\u{e9}cole.fr".into()),
                false,
            ),
            ("ann@\u{e9}cole.fr", Ok("ann@\u{e9}cole.fr".into()), true),
            ("ANN@\u{c9}COLE.FR", Ok("ann@\u{e9}cole.fr".into()), true),
            (
                "jos\u{e9} lee@\u{e9}cole.fr",
                bad("jos\u{e9} lee@\u{e9}cole.fr", "it contains a space"),
                false,
            ),
            // An invisible character has its own code; IDNA drops a zero-width space, so the
            // crate accepts the address.
            (
                "ann@schoo\u{200b}l.edu",
                Err((
                    IssueCode::InvalidCharacter,
                    "the value holds an invisible character (U+200B) at character 10; delete it (retype the value if you cannot see it)".into(),
                )),
                true,
            ),
            // Lengths: 254 characters is the limit (the crate allows a 255-character domain).
            (&len254, Ok(len254.clone()), true),
            (
                &len255,
                bad(&len255, "it is longer than 254 characters"),
                true,
            ),
            (
                &local65,
                bad(
                    &local65,
                    "the part before the @ is longer than 64 characters",
                ),
                false,
            ),
            // A domain label of 64 characters: ours accepts it, the crate does not (RFC 1035
            // caps a label at 63). This is why the crate cannot even be the first check.
            (&label64, Ok(label64.clone()), false),
            (
                "",
                Err((
                    IssueCode::MissingValue,
                    "the value is empty; fill it in".into(),
                )),
                false,
            ),
        ];
        assert_eq!(len254.chars().count(), 254);
        assert_eq!(len255.chars().count(), 255);
        for (input, want, crate_accepts) in &table {
            assert_eq!(&ours(input), want, "ours on {input:?}");
            assert_eq!(
                input.validate_email(),
                *crate_accepts,
                "the validator crate on {input:?}"
            );
        }
        // Both ways round: the crate accepts some addresses ours refuses and refuses some that
        // ours accepts, so it can be neither the rule nor its first check.
        assert!(table.iter().any(|(_, o, v)| o.is_err() && *v));
        assert!(table
            .iter()
            .any(|(i, o, v)| o.is_ok() && !*v && i.trim() == *i));
    }

    #[test]
    fn lengths_and_ranges_keep_their_codes_and_messages() {
        let t = |s: &str| Value::Text(s.to_owned());
        let too_long = |n: usize, max: usize| {
            Err::<String, _>(ParseError::new(
                IssueCode::TooLong,
                format!("the text has {n} characters; at most {max} are allowed"),
            ))
        };
        // Characters, not bytes, and counted after NFC.
        assert_eq!(
            text(&t(&"\u{e9}".repeat(100)), 100),
            Ok("\u{e9}".repeat(100))
        );
        assert_eq!(text(&t(&"\u{e9}".repeat(101)), 100), too_long(101, 100));
        assert_eq!(
            text(&t(&"e\u{301}".repeat(100)), 100),
            Ok("\u{e9}".repeat(100))
        );
        assert_eq!(text(&t(&"x".repeat(201)), 200), too_long(201, 200));
        assert_eq!(
            text(&t(&format!("  {}  ", "x".repeat(50))), 50),
            Ok("x".repeat(50))
        );

        let out_of_range = |m: &str| ParseError::new(IssueCode::OutOfRange, m);
        assert_eq!(credits(&t("0")), Ok(0));
        assert_eq!(credits(&t("20")), Ok(20));
        assert_eq!(credits(&Value::Float(20.0)), Ok(20));
        assert_eq!(
            credits(&t("21")),
            Err(out_of_range(
                "21 is out of range; it must be between 0 and 20"
            ))
        );
        assert_eq!(
            credits(&t("-1")),
            Err(out_of_range(
                "-1 is out of range; it must be between 0 and 20"
            ))
        );
        assert_eq!(
            credits(&t("1e30")),
            Err(out_of_range(
                "1000000000000000000000000000000 is out of range; it must be between 0 and 20"
            ))
        );
        assert_eq!(
            credits(&Value::Float(20.5)).map_err(|e| e.code),
            Err(IssueCode::InvalidNumber)
        );
        assert_eq!(score(&t("0")), Ok(0.0));
        assert_eq!(score(&t("100")), Ok(100.0));
        assert_eq!(score(&t("-0")), Ok(0.0));
        assert_eq!(
            score(&t("100.01")),
            Err(out_of_range(
                "100.01 is out of range; it must be between 0 and 100"
            ))
        );
        assert_eq!(
            score(&t("-0.5")),
            Err(out_of_range(
                "-0.5 is out of range; it must be between 0 and 100"
            ))
        );
        assert_eq!(
            score(&Value::Float(f64::INFINITY)).map_err(|e| e.code),
            Err(IssueCode::InvalidNumber)
        );
        assert_eq!(
            number(&Value::Int(5), 5.0, 5.0),
            Ok(5.0),
            "both ends are inclusive"
        );
    }
}

/// The values real exports hold (issue 12, item 6): accepted where they are unambiguous.
#[cfg(test)]
mod real_values_tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn is_active_takes_the_words_sis_exports_use() {
        for (s, b) in [
            ("active", true),
            ("Inactive", false),
            (" ENABLED ", true),
            ("disabled", false),
            ("yes", true),
            ("0", false),
        ] {
            assert_eq!(is_active(&t(s)), Ok(b), "{s}");
        }
        let e = is_active(&t("suspended")).unwrap_err();
        assert_eq!(e.code, IssueCode::InvalidBoolean);
        assert!(
            e.message.contains("active/inactive or enabled/disabled"),
            "{}",
            e.message
        );
        // Not echoed in the users file.
        let e = is_active_with(&t("suspended"), false).unwrap_err();
        assert!(!e.message.contains("suspended"), "{}", e.message);
        // `boolean` itself is unchanged.
        assert_eq!(
            boolean(&t("active")).unwrap_err().code,
            IssueCode::InvalidBoolean
        );
        assert_eq!(
            is_active(&Value::Empty).unwrap_err().code,
            IssueCode::MissingValue
        );
    }

    #[test]
    fn tardy_is_late() {
        assert_eq!(attendance_status(&t("Tardy")), Ok(AttendanceStatus::Late));
        assert_eq!(attendance_status(&t("TARDY")), Ok(AttendanceStatus::Late));
        let e = attendance_status(&t("tardyish")).unwrap_err();
        assert!(e.message.contains("late (or tardy)"), "{}", e.message);
    }

    #[test]
    fn half_credits_say_why_they_are_refused() {
        for v in [t("0.5"), t("1.5"), Value::Float(2.5)] {
            let e = credits(&v).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidNumber);
            assert!(e.message.contains("is not a whole number"), "{}", e.message);
            assert!(e.message.contains("INTEGER"), "{}", e.message);
        }
        assert_eq!(credits(&t("1.0")), Ok(1));
        // Other credit errors keep their messages.
        assert!(!credits(&t("x")).unwrap_err().message.contains("INTEGER"));
    }

    #[test]
    fn iso_date_times_are_their_date_as_written() {
        let d = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        for s in [
            "2026-09-01T00:00:00Z",
            "2026-09-01T08:30:00+02:00",
            "2026-09-01T23:30:00-05:00",
            "2026-09-01 00:00:00",
            "2026-09-01T08:30",
            "2026-09-01T08:30:00.123456Z",
            "2026-09-01T08:30:00+0200",
            "2026-09-01T08:30:00+02",
            "2026-09-01t08:30:00z",
            "2026-09-01T23:59:60Z",
        ] {
            assert_eq!(date(&t(s)), Ok(d), "{s}");
        }
        for s in [
            "2026-09-01T",
            "2026-09-01T24:00:00",
            "2026-09-01T08:60",
            "2026-09-01T8:30",
            "2026-09-01T08:30:00+25:00",
            "2026-09-01T08:30:00+02:60",
            "2026-09-01T08:30:00.Z",
            "2026-09-01T08:30:00 UTC",
            "2026-09-01X08:30",
            "2026-02-30T00:00:00Z",
        ] {
            assert_eq!(date(&t(s)).unwrap_err().code, IssueCode::InvalidDate, "{s}");
        }
    }

    #[test]
    fn slash_dates_need_a_date_order() {
        let sept = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let jan = NaiveDate::from_ymd_opt(2026, 1, 9).unwrap();
        for s in ["9/1/2026", "09/01/2026", "9.1.2026", "9-1-2026"] {
            let e = date(&t(s)).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidDate, "{s}");
            assert!(e.message.contains("--date-order mdy"), "{}", e.message);
            assert!(e.message.contains("YYYY-MM-DD"), "{}", e.message);
            assert_eq!(date_in(&t(s), Some(DateOrder::Mdy)), Ok(sept), "{s}");
            assert_eq!(date_in(&t(s), Some(DateOrder::Dmy)), Ok(jan), "{s}");
        }
        // Calendar checks in the chosen order, and shapes that are no slash date.
        let e = date_in(&t("13/1/2026"), Some(DateOrder::Mdy)).unwrap_err();
        assert!(e.message.contains("month/day/year"), "{}", e.message);
        assert_eq!(
            date_in(&t("13/1/2026"), Some(DateOrder::Dmy)),
            Ok(NaiveDate::from_ymd_opt(2026, 1, 13).unwrap())
        );
        for s in [
            "9/1/26",
            "9/1",
            "9/1/2026/1",
            "9/1.2026",
            "123/1/2026",
            "a/b/2026",
        ] {
            let e = date_in(&t(s), Some(DateOrder::Mdy)).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidDate, "{s}");
        }
        // ISO stays ISO whatever the order.
        assert_eq!(date_in(&t("2026-09-01"), Some(DateOrder::Dmy)), Ok(sept));
        assert_eq!(DateOrder::parse("DMY"), Some(DateOrder::Dmy));
        assert_eq!(DateOrder::parse("ymd"), None);
    }

    #[test]
    fn course_codes_as_sis_write_them() {
        for (s, want) in [
            ("Phys 100 - 1", "PHYS-100-1"),
            ("MATH 101", "MATH-101"),
            ("  math   101  ", "MATH-101"),
            ("Bio 2 -A", "BIO-2-A"),
            ("cs--101", "CS--101"),
            ("MATH101", "MATH101"),
            ("a_b. c", "A_B.-C"),
        ] {
            assert_eq!(normalize_course_code(s), want, "{s}");
        }
        let (c, original) = course_code_normalized(&t("Phys 100 - 1")).unwrap();
        assert_eq!(c.as_str(), "PHYS-100-1");
        assert_eq!(original.as_deref(), Some("Phys 100 - 1"));
        // Trimming and upper-casing alone are not a normalisation worth a warning.
        let (c, original) = course_code_normalized(&t(" math101 ")).unwrap();
        assert_eq!((c.as_str(), original), ("MATH101", None));
        // Still the SPEC pattern after normalisation, with a message naming both.
        for s in ["Phys # 1", "101 MATH", "A VERY LONG COURSE NAME 1"] {
            let e = course_code_normalized(&t(s)).unwrap_err();
            assert_eq!(e.code, IssueCode::InvalidCode, "{s}");
            assert!(e.message.contains("even written as"), "{}", e.message);
        }
        assert_eq!(
            course_code_normalized(&t("")).unwrap_err().code,
            IssueCode::MissingValue
        );
        // The strict parser is unchanged.
        assert_eq!(
            course_code(&t("MATH 101")).unwrap_err().code,
            IssueCode::InvalidCode
        );
    }

    proptest::proptest! {
        #[test]
        fn normalisation_is_idempotent_and_never_panics(s in "[ a-zA-Z0-9_.#-]{0,30}") {
            let once = normalize_course_code(&s);
            proptest::prop_assert_eq!(normalize_course_code(&once), once.clone());
            proptest::prop_assert!(!once.contains(' '));
            let _ = course_code_normalized(&Value::Text(s.clone()));
            let _ = date_in(&Value::Text(s), Some(DateOrder::Dmy));
        }
    }
}
