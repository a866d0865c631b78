//! Reading a backup: the gzip stream line by line, every line checked against the format,
//! each table's count and checksum and the trailer compared before the file is trusted.

use super::format::*;
use super::{BackupSummary, TableChecksum, FORMAT_NAME, FORMAT_VERSION};
use crate::{Error, Result, SCHEMA_VERSION};
use flate2::read::MultiGzDecoder;
use serde::Deserialize;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// The longest line a backup may have (a row of 5 text columns of at most a few KiB each is far
/// below this); longer lines are refused instead of read into memory.
const MAX_LINE: usize = 64 * 1024 * 1024;
/// A reader line buffer grown past this is released after its line (one huge row must not
/// keep its memory for the rest of the file).
const KEEP_LINE_BUFFER: usize = 1024 * 1024;

/// Reads a backup file line by line, checking the format as it goes.
struct Reader {
    input: BufReader<MultiGzDecoder<BufReader<File>>>,
    hasher: Sha256,
    line_no: u64,
    buf: Vec<u8>,
}

impl Reader {
    fn open(path: &Path) -> Result<Reader> {
        let f = File::open(path)
            .map_err(|e| Error::io(format!("cannot open the backup {}", path.display()), e))?;
        Ok(Reader {
            input: BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(BufReader::new(f))),
            hasher: Sha256::new(),
            line_no: 0,
            buf: Vec::new(),
        })
    }

    /// The next line (without hashing it), or `None` at the end of the stream.
    fn next_line(&mut self) -> Result<Option<&str>> {
        self.buf.clear();
        loop {
            let avail = match self.input.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::BadBackup(format!(
                        "the file is damaged or truncated after line {} ({e})",
                        self.line_no
                    )))
                }
            };
            if avail.is_empty() {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(Error::BadBackup(format!(
                    "the file is truncated: line {} has no end",
                    self.line_no + 1
                )));
            }
            let (take, done) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            self.buf.extend_from_slice(&avail[..take]);
            self.input.consume(take);
            if self.buf.len() > MAX_LINE {
                return Err(Error::BadBackup(format!(
                    "line {} is longer than {MAX_LINE} bytes; this is not a Registrar backup",
                    self.line_no + 1
                )));
            }
            if done {
                break;
            }
        }
        self.line_no += 1;
        std::str::from_utf8(&self.buf)
            .map(Some)
            .map_err(|_| Error::BadBackup(format!("line {} is not valid UTF-8", self.line_no)))
    }

    fn hash_current(&mut self) {
        self.hasher.update(&self.buf);
    }

    /// The next line parsed as `T`, hashed.
    fn expect<T: for<'de> Deserialize<'de>>(&mut self, what: &str) -> Result<T> {
        let line_no = self.line_no + 1;
        let line = self.next_line()?.ok_or_else(|| {
            Error::BadBackup(format!(
                "the file is truncated: expected {what} at line {line_no}"
            ))
        })?;
        let v = serde_json::from_str::<T>(line)
            .map_err(|_| Error::BadBackup(format!("line {line_no} should be {what} but is not")))?;
        self.hash_current();
        Ok(v)
    }
}

/// One row parsed from a file.
pub(super) type RowValues = Vec<Json>;

/// Reads a whole file, checking everything; calls `on_row` for every row (index into
/// `TABLES`, values, bytes of its line).
/// Returns the summary. Nothing is written anywhere.
pub(super) fn scan(
    path: &Path,
    mut on_row: impl FnMut(usize, RowValues, usize) -> Result<()>,
) -> Result<BackupSummary> {
    let mut r = Reader::open(path)?;
    let header: Header = r.expect("the backup header")?;
    if header.format != FORMAT_NAME {
        return Err(Error::BadBackup(format!(
            "{} is not a Registrar backup",
            path.display()
        )));
    }
    if header.version > FORMAT_VERSION {
        return Err(Error::BadBackup(format!(
            "the file uses backup format version {}, newer than this build reads ({FORMAT_VERSION}); upgrade registrar",
            header.version
        )));
    }
    if header.schema_version > SCHEMA_VERSION {
        return Err(Error::BadBackup(format!(
            "the backup is from a newer schema version ({}) than this build knows ({SCHEMA_VERSION}); upgrade registrar to restore it",
            header.schema_version
        )));
    }
    // An older format holds a prefix of the tables (version 1: the SMS tables only).
    let specs = tables_of_format(header.version);
    let mut tables = Vec::with_capacity(specs.len());
    for (ti, spec) in specs.iter().enumerate() {
        let start: TableStart = r.expect(&format!("the start of table {}", spec.name))?;
        if start.table != spec.name {
            return Err(Error::BadBackup(format!(
                "line {}: expected table {} but found {}",
                r.line_no, spec.name, start.table
            )));
        }
        if start.columns != spec.column_names() {
            return Err(Error::BadBackup(format!(
                "line {}: table {} has columns {:?}, expected {:?}",
                r.line_no,
                spec.name,
                start.columns,
                spec.column_names()
            )));
        }
        let mut hasher = Sha256::new();
        let mut count = 0u64;
        let end: TableEnd = loop {
            let line_no = r.line_no + 1;
            let line = r.next_line()?.ok_or_else(|| {
                Error::BadBackup(format!(
                    "the file is truncated in table {} (line {line_no})",
                    spec.name
                ))
            })?;
            if line.starts_with('[') {
                let values: RowValues = serde_json::from_str(line).map_err(|_| {
                    Error::BadBackup(format!(
                        "line {line_no} is not a valid row of {}",
                        spec.name
                    ))
                })?;
                if values.len() != spec.columns.len() {
                    return Err(Error::BadBackup(format!(
                        "line {line_no}: a row of {} has {} values, expected {}",
                        spec.name,
                        values.len(),
                        spec.columns.len()
                    )));
                }
                check_values(spec, &values).map_err(|m| {
                    Error::BadBackup(format!("line {line_no} ({}): {m}", spec.name))
                })?;
                hasher.update(line.as_bytes());
                r.hash_current();
                count += 1;
                let bytes = r.buf.len();
                if r.buf.capacity() > KEEP_LINE_BUFFER {
                    r.buf = Vec::new();
                }
                on_row(ti, values, bytes)?;
            } else {
                let end: TableEnd = serde_json::from_str(line).map_err(|_| {
                    Error::BadBackup(format!(
                        "line {line_no} should be a row or the end of table {} but is neither",
                        spec.name
                    ))
                })?;
                r.hash_current();
                break end;
            }
        };
        let sha = hex::encode(hasher.finalize());
        if end.end != spec.name {
            return Err(Error::BadBackup(format!(
                "line {}: the end of table {} is labelled {}",
                r.line_no, spec.name, end.end
            )));
        }
        if end.rows != count {
            return Err(Error::BadBackup(format!(
                "table {} declares {} rows but holds {count}",
                spec.name, end.rows
            )));
        }
        if end.sha256 != sha {
            return Err(Error::BadBackup(format!(
                "the checksum of table {} does not match its rows (the file was changed)",
                spec.name
            )));
        }
        tables.push(TableChecksum {
            table: spec.name.into(),
            rows: count,
            sha256: sha,
        });
    }
    let body_sha = hex::encode(r.hasher.clone().finalize());
    let line_no = r.line_no + 1;
    let line = r.next_line()?.ok_or_else(|| {
        Error::BadBackup(format!(
            "the file is truncated: the trailer (line {line_no}) is missing"
        ))
    })?;
    let trailer: TrailerLine = serde_json::from_str(line).map_err(|_| {
        Error::BadBackup(format!("line {line_no} should be the trailer but is not"))
    })?;
    if trailer.trailer.tables != tables {
        return Err(Error::BadBackup(
            "the trailer's counts and checksums do not match the tables".into(),
        ));
    }
    if trailer.trailer.sha256 != body_sha {
        return Err(Error::BadBackup(
            "the file's overall checksum does not match (the file was changed)".into(),
        ));
    }
    if r.next_line()?.is_some() {
        return Err(Error::BadBackup(format!(
            "unexpected data after the trailer (line {})",
            r.line_no
        )));
    }
    Ok(BackupSummary {
        path: path.to_path_buf(),
        schema_version: header.schema_version,
        created_at: header.created_at,
        engine: header.engine,
        tables,
    })
}

/// Checks a backup file completely (gzip stream, format, per-table counts and checksums,
/// trailer, schema version) without any database, and returns its summary.
pub fn read_header(file: &Path) -> Result<BackupSummary> {
    scan(file, |_, _, _| Ok(()))
}
