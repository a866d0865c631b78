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
use std::path::Path;

mod channel;
mod counting;
pub mod csv;
pub mod discover;
pub mod excel;
pub mod json;
pub mod oneroster;
mod text;

pub use discover::{discover, DataFile};
pub use registrar_model::{header_key, header_name, Event, Format, Row, RowSource, Value};

/// Errors of this crate: I/O, or a file that cannot be read as data at all (the model's
/// [`registrar_model::ReadError`], so that a [`RowSource`] needs no reader crate).
pub use registrar_model::ReadError as Error;

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
