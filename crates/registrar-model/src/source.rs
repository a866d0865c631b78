//! What a reader yields, independent of the file format: [`Value`]s in [`Row`]s, as
//! [`Event`]s of a [`RowSource`], with the [`Format`] they came from.
//!
//! The readers live in `registrar-formats`; the validation pass in `registrar-rules` reads
//! through [`RowSource`] alone, so it never depends on how a file is read.

use crate::Issue;
use chrono::{NaiveDate, NaiveDateTime};
use std::fmt;
use std::path::{Path, PathBuf};

/// One value as read: text from CSV/JSON strings, typed values from spreadsheet cells and
/// JSON numbers/booleans.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// An empty cell, an empty CSV field, or JSON `null`.
    #[default]
    Empty,
    /// Text, as written (not trimmed).
    Text(String),
    /// An integer (JSON integer).
    Int(i64),
    /// A number (spreadsheet numeric cell, JSON float). `3.0` is a float here; the rules
    /// accept it where an integer is expected.
    Float(f64),
    /// A boolean cell or JSON boolean.
    Bool(bool),
    /// A spreadsheet date cell (no time part).
    Date(NaiveDate),
    /// A spreadsheet date-time cell.
    DateTime(NaiveDateTime),
    /// A spreadsheet error cell (`#N/A`, `#DIV/0!`, ...) with its text.
    Error(String),
}

impl Value {
    /// True for [`Value::Empty`] and for text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Empty => true,
            Value::Text(s) => crate::text::trim(s).is_empty(),
            _ => false,
        }
    }

    /// The text, when this is [`Value::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// The value as a person would type it (used for rejects files): dates as `YYYY-MM-DD`,
    /// whole floats without a fraction, errors as their text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Empty => Ok(()),
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{}", *x as i64)
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(dt) => write!(f, "{}", dt.format("%Y-%m-%d %H:%M:%S")),
            Value::Error(e) => f.write_str(e),
        }
    }
}

/// A file format Registrar reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma/semicolon/tab separated, `.csv`.
    Csv,
    /// Tab separated, `.tsv`.
    Tsv,
    /// Excel 2007+ workbook.
    Xlsx,
    /// Excel 97-2003 workbook.
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
    /// A JSON array of objects, or `{"data": [...]}`.
    Json,
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    Ndjson,
}

impl Format {
    /// The format for a file extension (case-insensitive, without the dot).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" => Some(Format::Tsv),
            "xlsx" => Some(Format::Xlsx),
            "xls" => Some(Format::Xls),
            "ods" => Some(Format::Ods),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The format for a path's extension.
    pub fn from_path(path: &Path) -> Option<Format> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::from_extension)
    }

    /// The short name used in reports (`"csv"`, `"xlsx"`, `"ndjson"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Xlsx => "xlsx",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One data row: its values in header order and the row number a person sees.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// CSV: the physical line where the record starts (header = 1); spreadsheets: the sheet's
    /// row number; JSON array: the 1-based position; NDJSON: the line.
    pub row: u64,
    /// One value per header column (missing trailing cells are [`Value::Empty`]).
    pub values: Vec<Value>,
}

impl Row {
    /// True when every value is empty (or whitespace only).
    pub fn is_blank(&self) -> bool {
        self.values.iter().all(Value::is_blank)
    }
}

/// What a reader yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A data row (blank rows are skipped by the readers).
    Row(Row),
    /// A problem found while reading (the row it names is not yielded).
    Issue(Issue),
}

/// A stream of rows from one file.
pub trait RowSource: Iterator<Item = Result<Event, ReadError>> + Send {
    /// The header names as written ([`header_name`]: trimmed, BOMs and invisible characters
    /// removed, case kept), in column order.
    fn headers(&self) -> &[String];
    /// The row number of the header (1 for CSV; the first non-blank row for spreadsheets).
    fn header_row(&self) -> u64;
    /// The format being read.
    fn format(&self) -> Format;
    /// The file name as given (no folder), used in issues.
    fn file_name(&self) -> &str;
    /// The cells of the row the last `malformed-row` issue was about, as read, so that a
    /// rejects file can hold the row as it was:
    /// - CSV: every field of a record whose field count differs from the header's;
    /// - spreadsheets: the row's cells, each at its own column, including the values in
    ///   columns without a header that made it malformed;
    /// - JSON and NDJSON: an object with a nested array or object gives its values in header
    ///   order, the nested value as its compact JSON text; an item (or NDJSON line) that is
    ///   valid JSON but not an object gives its elements in order when it is an array, else
    ///   its one value.
    ///
    /// `None` when the reader has nothing to give: a CSV record too long to keep or with an
    /// unbalanced quote, an NDJSON line that is not JSON at all or too long (it cannot be
    /// split into fields, so the rejects file holds blank cells and the error naming its
    /// line).
    fn take_malformed_values(&mut self) -> Option<Vec<Value>> {
        None
    }
    /// The names issues give the columns, when they differ from [`RowSource::headers`]: a
    /// source that converts another format (a OneRoster bundle) gives Registrar's columns as
    /// its headers and the bundle file's own column names here, one per header.
    fn column_labels(&self) -> Option<&[String]> {
        None
    }
    /// Bytes of the file read so far (at most its length; the reader may read ahead of the
    /// rows it has returned), for a progress bar; `None` when the reader cannot tell
    /// (spreadsheets, which are decompressed and parsed before the first row).
    fn bytes_read(&self) -> Option<u64> {
        None
    }
    /// Gives back a row this source yielded, once the caller is done with it, so that a later
    /// row can reuse its allocations (the CSV reader keeps a few thousand; the default drops
    /// it). Reading a large file then allocates nothing per row.
    fn recycle(&mut self, row: Row) {
        drop(row);
    }
}

/// Why a file could not be read: I/O, or a file that cannot be read as data at all
/// (`registrar_formats::Error` is this type).
#[derive(Debug)]
pub enum ReadError {
    /// The file or folder could not be opened or read.
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file cannot be read as data; the issue says why and what to do.
    File(Box<Issue>),
}

impl ReadError {
    /// An [`ReadError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> ReadError {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            ReadError::File(issue) => write!(f, "{issue}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::File(_) => None,
        }
    }
}

/// A header cell as Registrar shows it: without surrounding whitespace, byte order marks and
/// other invisible characters ([`crate::trim_invisible`]), case kept. Every reader
/// uses it for [`RowSource::headers`], so ` \u{feff}password` is `password`.
pub fn header_name(h: &str) -> &str {
    crate::trim_invisible(h)
}

/// The key a header cell is recognised by: [`header_name`], case-folded, with spaces, hyphens,
/// dots, slashes and camelCase boundaries read as underscores (runs of them as one, none at
/// either end). The validation pass, the rejects writer (which blanks the `password` and
/// `password_hash` cells) and `verify-logins` all find their columns by this one key.
///
/// ```
/// use registrar_model::header_key;
/// assert_eq!(header_key(" \u{feff}Password "), "password");
/// assert_eq!(header_key("First Name"), "first_name");
/// assert_eq!(header_key("first-name"), "first_name");
/// assert_eq!(header_key("firstName"), "first_name");
/// assert_eq!(header_key("sourcedId"), "sourced_id");
/// assert_eq!(header_key("SIS ID"), "sis_id");
/// assert_eq!(header_key("password_hash"), "password_hash");
/// ```
pub fn header_key(h: &str) -> String {
    let name = header_name(h);
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<char> = None;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() || matches!(c, '_' | '-' | '.' | '/' | '\\') {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev = Some('_');
            continue;
        }
        if c.is_uppercase() {
            // A boundary before an upper-case letter that follows a lower-case letter or a
            // digit (`firstName`), or that starts a word after an acronym (`SISId` → `sis_id`).
            let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
            let acronym_end = prev.is_some_and(char::is_uppercase)
                && chars.peek().is_some_and(|n| n.is_lowercase());
            if (after_lower || acronym_end) && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
        prev = Some(c);
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// A [`RowSource`] over rows held in memory (rows an embedding program already has, tests,
/// examples). Row numbers are as given.
///
/// ```
/// use registrar_model::{Event, MemorySource, RowSource, Value};
/// let mut source = MemorySource::new("courses.csv", ["course_code", "course_name"])
///     .row(2, [Value::Text("MATH101".into()), Value::Text("Calculus I".into())]);
/// assert_eq!(source.headers(), ["course_code", "course_name"]);
/// assert!(matches!(source.next(), Some(Ok(Event::Row(r))) if r.row == 2));
/// assert!(source.next().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct MemorySource {
    file_name: String,
    headers: Vec<String>,
    header_row: u64,
    rows: std::collections::VecDeque<Row>,
    format: Format,
}

impl MemorySource {
    /// An empty source named `file_name` (used in issues) with these headers (row 1),
    /// reported as [`Format::Csv`].
    pub fn new<H: Into<String>>(
        file_name: impl Into<String>,
        headers: impl IntoIterator<Item = H>,
    ) -> MemorySource {
        MemorySource {
            file_name: file_name.into(),
            headers: headers
                .into_iter()
                .map(|h| header_name(&h.into()).to_owned())
                .collect(),
            header_row: 1,
            rows: std::collections::VecDeque::new(),
            format: Format::Csv,
        }
    }

    /// Sets the row number of the headers (1 by default; 0 for records that have no header
    /// row, numbered from 1).
    pub fn with_header_row(mut self, row: u64) -> MemorySource {
        self.header_row = row;
        self
    }

    /// Adds a row with the row number a person would see.
    pub fn row(mut self, row: u64, values: impl IntoIterator<Item = Value>) -> MemorySource {
        self.push(row, values);
        self
    }

    /// Adds a row (see [`MemorySource::row`]).
    pub fn push(&mut self, row: u64, values: impl IntoIterator<Item = Value>) {
        self.rows.push_back(Row {
            row,
            values: values.into_iter().collect(),
        });
    }
}

impl Iterator for MemorySource {
    type Item = Result<Event, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rows.pop_front().map(|r| Ok(Event::Row(r)))
    }
}

impl RowSource for MemorySource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn header_row(&self) -> u64 {
        self.header_row
    }
    fn format(&self) -> Format {
        self.format
    }
    fn file_name(&self) -> &str {
        &self.file_name
    }
}
