//! Streaming readers for Registrar's data files: CSV/TSV, Excel (`.xlsx`, `.xls`, `.ods`) and
//! JSON (array, `{"data": [...]}`, NDJSON).
//!
//! # Brief overview
//! - [`open`] picks a reader from the file's extension and returns a [`RowSource`]: the header
//!   plus an iterator of [`Event`]s, each a [`Row`] (values with the row number a person sees)
//!   or an [`Issue`] (a data problem found while reading, e.g. `malformed-row`).
//! - [`discover()`] finds the data files of a folder by stem (`users`, `courses`, ...).
//! - [`ReaderOptions`] carries `--encoding`, `--delimiter`, `--sheet` and the size limits.
//!
//! Data problems are [`Issue`]s, never panics; [`Error`] is for I/O failures and for files
//! that cannot be read at all ([`Error::File`] carries the issue to report).
//!
//! # Example
//! ```
//! use registrar_formats::{open, Event, ReaderOptions};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("courses.csv");
//! std::fs::write(&path, "course_code;course_name\nMATH101;Calculus I\n")?;
//! let mut source = open(&path, &ReaderOptions::default())?;
//! assert_eq!(source.headers(), ["course_code", "course_name"]);
//! let Some(Ok(Event::Row(row))) = source.next() else { panic!("expected a row") };
//! assert_eq!(row.row, 2);
//! assert_eq!(row.values[0].to_string(), "MATH101");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

use registrar_model::{Entity, Issue};
use std::fmt;
use std::path::{Path, PathBuf};

mod channel;
pub mod csv;
pub mod discover;
pub mod excel;
pub mod json;
mod text;
mod value;

pub use discover::{discover, DataFile};
pub use value::Value;

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

/// Options shared by every reader (the READER OPTIONS of SPEC §5 plus limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// A WHATWG encoding label (`windows-1252`, `latin1`, `utf-16le`, ...); `None` means UTF-8
    /// (with or without BOM) or UTF-16 with a BOM.
    pub encoding: Option<String>,
    /// The CSV delimiter; `None` detects `,` `;` or tab from the header line.
    pub delimiter: Option<u8>,
    /// The sheet to read; `None` reads the first sheet.
    pub sheet: Option<String>,
    /// Files larger than this many bytes are refused (`malformed-file`). Default 2 GiB.
    pub max_file_size: u64,
    /// A field longer than this many bytes makes the row `malformed-row`. Default 1 MiB.
    pub max_field_size: usize,
    /// More data rows than this are refused (`malformed-file`). Default 50,000,000.
    pub max_rows: u64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            encoding: None,
            delimiter: None,
            sheet: None,
            max_file_size: 2 * 1024 * 1024 * 1024,
            max_field_size: 1024 * 1024,
            max_rows: 50_000_000,
        }
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
pub trait RowSource: Iterator<Item = Result<Event, Error>> + Send {
    /// The header names as written ([`header_name`]: trimmed, BOMs and invisible characters
    /// removed, case kept), in column order.
    fn headers(&self) -> &[String];
    /// The row number of the header (1 for CSV; the first non-blank row for spreadsheets).
    fn header_row(&self) -> u64;
    /// The format being read.
    fn format(&self) -> Format;
    /// The file name as given (no folder), used in issues.
    fn file_name(&self) -> &str;
    /// The cells of the row the last `malformed-row` issue was about, as read (CSV: every
    /// field of a record whose field count differs from the header's), so that a rejects
    /// file can hold the row as it was; `None` when the reader has none to give (a record too
    /// long to keep, an unbalanced quote, other formats).
    fn take_malformed_values(&mut self) -> Option<Vec<Value>> {
        None
    }
}

/// Opens a data file, picking the reader from its extension.
///
/// Returns [`Error::File`] (with an issue such as `unsupported-format`, `invalid-encoding`,
/// `malformed-file`) when the file cannot be read as data at all, and [`Error::Io`] when it
/// cannot be opened.
pub fn open(path: &Path, options: &ReaderOptions) -> Result<Box<dyn RowSource>, Error> {
    let format = Format::from_path(path).ok_or_else(|| {
        Error::File(Box::new(Issue::error(
            registrar_model::IssueCode::UnsupportedFormat,
            file_name_of(path),
            None,
            None,
            "this file type is not supported; use .csv, .tsv, .xlsx, .xls, .ods, .json, .jsonl or .ndjson",
        )))
    })?;
    open_as(path, format, options)
}

/// Opens a data file as the given format.
///
/// Anything that is not a regular file (a directory, a FIFO, a device such as a link to
/// `/dev/zero`, a socket, a dangling symbolic link) is [`Error::File`] with `unreadable-file`,
/// at once: nothing ever waits for a writer or reads forever.
pub fn open_as(
    path: &Path,
    format: Format,
    options: &ReaderOptions,
) -> Result<Box<dyn RowSource>, Error> {
    check_regular(path)?;
    match format {
        Format::Csv | Format::Tsv => Ok(Box::new(csv::CsvSource::open(path, format, options)?)),
        Format::Xlsx | Format::Xls | Format::Ods => {
            Ok(Box::new(excel::SheetSource::open(path, format, options)?))
        }
        Format::Json | Format::Ndjson => {
            Ok(Box::new(json::JsonSource::open(path, format, options)?))
        }
    }
}

/// What a path that is not a regular file is, for messages (`None`: a regular file, or
/// nothing there at all). Follows symbolic links; a dangling link is named as such.
pub fn not_regular(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => None,
        Ok(meta) => Some(kind_of(&meta.file_type()).to_owned()),
        Err(_) => match std::fs::symlink_metadata(path) {
            Ok(link) if link.file_type().is_symlink() => {
                let target = std::fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                Some(format!(
                    "a symbolic link to {target:?}, which does not exist"
                ))
            }
            _ => None,
        },
    }
}

fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

/// The `unreadable-file` issue for a path that is not a regular file.
pub fn not_regular_issue(path: &Path, what: &str) -> Issue {
    Issue::error(
        registrar_model::IssueCode::UnreadableFile,
        file_name_of(path),
        None,
        None,
        format!(
            "this is {what}, not a regular file, so it is not read; put the data file itself here"
        ),
    )
}

/// [`Error::File`] (`unreadable-file`) unless `path` is a regular file (symbolic links
/// followed).
pub(crate) fn check_regular(path: &Path) -> Result<(), Error> {
    match not_regular(path) {
        Some(what) => Err(Error::File(Box::new(not_regular_issue(path, &what)))),
        None => Ok(()),
    }
}

/// Opens `path` for reading only if it is a regular file, without ever blocking: on Unix the
/// open is non-blocking (a FIFO without a writer would otherwise wait forever) and the type
/// is checked on the opened file, so a file swapped for a FIFO after the first check is
/// refused too.
pub fn open_regular(path: &Path) -> Result<std::fs::File, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    check_regular(path)?;
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    let f = o.open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::File(Box::new(not_regular_issue(
            path,
            kind_of(&meta.file_type()),
        ))));
    }
    Ok(f)
}

/// A header cell as Registrar shows it: without surrounding whitespace, byte order marks and
/// other invisible characters ([`registrar_model::trim_invisible`]), case kept. Every reader
/// uses it for [`RowSource::headers`], so ` \u{feff}password` is `password`.
pub fn header_name(h: &str) -> &str {
    registrar_model::trim_invisible(h)
}

/// The key a header cell is recognised by: [`header_name`], lower-cased. The validation pass,
/// the rejects writer (which blanks the `password` and `password_hash` cells) and
/// `verify-logins` all find their columns by this one key.
///
/// ```
/// assert_eq!(registrar_formats::header_key(" \u{feff}Password "), "password");
/// ```
pub fn header_key(h: &str) -> String {
    header_name(h).to_lowercase()
}

/// The file name of a path (no folder), as used in issues.
pub fn file_name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// The entity a path's stem names (`users.csv` → users).
///
/// A rejects file written by `import --skip-invalid` (`users.csv.rejects.csv`) names the
/// entity of the file it came from.
pub fn entity_of(path: &Path) -> Option<Entity> {
    let stem = path.file_stem()?.to_str()?;
    let stem = match stem.strip_suffix(".rejects") {
        Some(original) => Path::new(original).file_stem()?.to_str()?,
        None => stem,
    };
    Entity::from_stem(stem)
}

#[cfg(test)]
mod entity_tests {
    use super::*;

    #[test]
    fn entity_from_stem_and_from_rejects_files() {
        assert_eq!(entity_of(Path::new("d/Users.CSV")), Some(Entity::Users));
        assert_eq!(
            entity_of(Path::new("users.csv.rejects.csv")),
            Some(Entity::Users)
        );
        assert_eq!(
            entity_of(Path::new("grades.xlsx.rejects.csv")),
            Some(Entity::Grades)
        );
        assert_eq!(entity_of(Path::new("people.csv")), None);
    }
}

/// Errors of this crate: I/O, or a file that cannot be read as data at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file or folder could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be read as data; the issue says why and what to do.
    #[error("{0}")]
    File(Box<Issue>),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error::File`] with a file-level error issue.
pub(crate) fn file_error(code: registrar_model::IssueCode, file: &str, message: String) -> Error {
    Error::File(Box::new(Issue::error(code, file, None, None, message)))
}

/// An [`Error::File`] with an error issue on a row.
pub(crate) fn file_error_at(
    code: registrar_model::IssueCode,
    file: &str,
    row: u64,
    message: String,
) -> Error {
    Error::File(Box::new(Issue::error(code, file, Some(row), None, message)))
}
