//! Backups: one consistent, checksummed, compressed file of every SMS table, restorable into
//! either engine (SPEC §6).
//!
//! # Brief overview
//! - [`backup`] writes a snapshot of the five SMS tables ([`crate::SMS_TABLES`]) to a file.
//! - [`restore`] checks a file completely, then replaces the data of those tables with it in
//!   one transaction (keeping ids, resetting PostgreSQL sequences) and compares checksums
//!   before it commits.
//! - [`verify_backup`] checks a file and restores it into a scratch database (a temporary
//!   SQLite file by default; a given scratch database must be empty unless
//!   [`verify_backup_with`] is told to replace its data), then compares counts and checksums.
//! - [`read_header`] checks a file without any database; [`table_checksums`] computes the same
//!   checksums from a live database, so a database can be compared with a backup.
//!
//! # File format (version 1)
//!
//! A gzip stream (RFC 1952) of UTF-8 JSON lines, each ending in `\n`:
//!
//! 1. a header: `{"format":"registrar-backup","version":1,"schema_version":1,
//!    "created_at":"2026-02-01T10:00:00.000000Z","engine":"postgres"}`;
//! 2. for each table, parents first (users, courses, enrollments, grades, attendances):
//!    - `{"table":"users","columns":["id","email",...]}`,
//!    - one JSON array per row, in the column order, rows ordered by `id`,
//!    - `{"end":"users","rows":18,"sha256":"..."}`;
//! 3. a trailer: `{"trailer":{"tables":[{"table":"users","rows":18,"sha256":"..."},...],
//!    "sha256":"..."}}` where the last `sha256` is the SHA-256 of every byte (uncompressed)
//!    before the trailer line.
//!
//! A table's `sha256` is the SHA-256 of its row lines exactly as written (each with its `\n`).
//! Row values are written in a **canonical form** that does not depend on the engine, so the
//! same data gives the same checksums on PostgreSQL and SQLite:
//! - `NULL` is `null` (distinct from the empty string `""`);
//! - integers are JSON integers; booleans are `true` / `false` (SQLite's 0/1 included);
//! - floats are JSON numbers in the shortest form that reads back to the same `f64`;
//! - dates are `"YYYY-MM-DD"`;
//! - timestamps are UTC RFC 3339 with exactly six fractional digits:
//!   `"2026-02-01T10:00:00.123000Z"` (a SQLite text that is not a recognisable timestamp is
//!   kept as written);
//! - text is a JSON string.
//!
//! The file is written with mode 0600, atomically: into a temporary file in the destination
//! folder, flushed and fsynced, then renamed; on any error the temporary file is removed and
//! nothing appears under the final name. It is written while the rows stream from the
//! database, so a large database never has to fit in memory.
//!
//! A file is refused ([`Error::BadBackup`]) before anything is written to a database when its
//! gzip stream is damaged or truncated, a line is not what the format says, a table's row count
//! or checksum does not match its rows, the trailer does not match the tables or the bytes
//! before it, or its schema version is newer than [`SCHEMA_VERSION`].

use crate::{Database, Error, Result, SCHEMA_VERSION, SMS_TABLES};
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgRow;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteRow;
#[cfg(feature = "postgres")]
use sqlx::{PgConnection, Postgres};
use sqlx::{QueryBuilder, Row};
#[cfg(feature = "sqlite")]
use sqlx::{Sqlite, SqliteConnection};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The `format` member of a backup header.
pub const FORMAT_NAME: &str = "registrar-backup";
/// The version of the file format this build writes and reads.
pub const FORMAT_VERSION: i64 = 1;
/// The longest line a backup may have (a row of 5 text columns of at most a few KiB each is far
/// below this); longer lines are refused instead of read into memory.
const MAX_LINE: usize = 64 * 1024 * 1024;
/// One consistent, read-only snapshot on PostgreSQL.
const PG_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
/// Rows per multi-row INSERT during a restore (at most).
const INSERT_BATCH: usize = 500;
/// Bytes of row lines per multi-row INSERT during a restore (at most, but at least one row):
/// batches are bounded by bytes as well as rows, so that rows holding huge text restore in
/// bounded memory.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// A reader line buffer grown past this is released after its line (one huge row must not
/// keep its memory for the rest of the file).
const KEEP_LINE_BUFFER: usize = 1024 * 1024;

/// The row count and checksum of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecksum {
    /// The table name.
    pub table: String,
    /// Its number of rows.
    pub rows: u64,
    /// Hex SHA-256 of the canonical row lines (see the module docs).
    pub sha256: String,
}

/// What a backup file holds (never any row data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// The file.
    pub path: PathBuf,
    /// The schema version of the database it was taken from.
    pub schema_version: i64,
    /// When it was taken (UTC, RFC 3339).
    pub created_at: String,
    /// `"postgres"` or `"sqlite"`.
    pub engine: String,
    /// Per-table row counts and checksums, in [`SMS_TABLES`] order.
    pub tables: Vec<TableChecksum>,
}

/// The result of [`verify_backup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True when the file is intact and restores to the same counts and checksums.
    pub ok: bool,
    /// What is wrong, one sentence each (empty when `ok`).
    pub problems: Vec<String>,
    /// The file's summary (counts and checksums it declares), when it could be read.
    pub summary: Option<BackupSummary>,
}

// ---------------------------------------------------------------------------------------------
// Table layout and canonical values

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// BIGINT / INTEGER.
    Int8,
    /// INTEGER on PostgreSQL (4 bytes).
    Int4,
    Text,
    Bool,
    Float,
    Date,
    Timestamp,
}

struct TableSpec {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

use Kind::*;

const TABLES: [TableSpec; 5] = [
    TableSpec {
        name: "users",
        columns: &[
            ("id", Int8),
            ("email", Text),
            ("password_hash", Text),
            ("role", Text),
            ("first_name", Text),
            ("last_name", Text),
            ("is_active", Bool),
            ("password_reset_required", Bool),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
    },
    TableSpec {
        name: "courses",
        columns: &[
            ("id", Int8),
            ("course_code", Text),
            ("course_name", Text),
            ("description", Text),
            ("semester", Text),
            ("credits", Int4),
            ("status", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
    },
    TableSpec {
        name: "enrollments",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("enrollment_date", Date),
        ],
    },
    TableSpec {
        name: "grades",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("assessment", Text),
            ("score", Float),
            ("letter_grade", Text),
            ("graded_on", Date),
        ],
    },
    TableSpec {
        name: "attendances",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("attendance_date", Date),
            ("status", Text),
        ],
    },
];

impl TableSpec {
    fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|(c, _)| *c).collect()
    }

    fn select_sql(&self) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY id",
            self.column_names().join(", "),
            self.name
        )
    }
}

/// The canonical text of a timestamp: UTC, six fractional digits, `Z`.
fn canonical_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a timestamp as SQLite may hold it (RFC 3339, or `YYYY-MM-DD[ T]HH:MM:SS[.fff]` taken
/// as UTC).
fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

fn canonical_timestamp_text(s: String) -> Json {
    match parse_timestamp(&s) {
        Some(t) => Json::String(canonical_timestamp(t)),
        None => Json::String(s),
    }
}

fn canonical_date_text(s: String) -> Json {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Err(_) => Json::String(s),
    }
}

fn float_json(x: f64) -> Json {
    serde_json::Number::from_f64(x)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map(f).unwrap_or(Json::Null)
}

#[cfg(feature = "sqlite")]
/// A row whose text columns hold more than this many bytes is read on its own (SQLite): the
/// rows around it are read in ranges that stop short of it, so that the reader never fetches
/// a huge row ahead while another is being written.
const BIG_ROW: i64 = 1024 * 1024;

/// The context of an I/O error while a row is written ([`LineWriter::with_context`] names the
/// file instead).
const ROW_CONTEXT: &str = "cannot write a row";

/// Writes the bytes of row lines to `out` and hashes them (the table's checksum), counting
/// rows; each value is serialised straight into it, never into a line or a `String` first.
struct RowOut<'a> {
    hasher: Sha256,
    out: &'a mut dyn Write,
    count: u64,
}

impl Write for RowOut<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.out.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl<'a> RowOut<'a> {
    fn new(out: &'a mut dyn Write) -> Self {
        RowOut {
            hasher: Sha256::new(),
            out,
            count: 0,
        }
    }

    /// Writes one value of a row (`first`: no comma before it), in the canonical form.
    fn value<T: Serialize + ?Sized>(&mut self, first: bool, v: &T) -> Result<()> {
        if !first {
            self.raw(b",")?;
        }
        serde_json::to_writer(&mut *self, v).map_err(|e| {
            if let Some(kind) = e.io_error_kind() {
                Error::io(ROW_CONTEXT, std::io::Error::new(kind, e.to_string()))
            } else {
                Error::BadBackup(format!("cannot encode a row: {e}"))
            }
        })
    }

    fn raw(&mut self, b: &[u8]) -> Result<()> {
        self.write_all(b).map_err(|e| Error::io(ROW_CONTEXT, e))
    }

    fn finish(self, spec: &TableSpec) -> TableChecksum {
        TableChecksum {
            table: spec.name.to_string(),
            rows: self.count,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

#[cfg(feature = "postgres")]
/// Writes one PostgreSQL row as a canonical line (`[v, v, ...]\n`), text borrowed from the
/// row.
fn pg_row(row: &PgRow, spec: &TableSpec, out: &mut RowOut<'_>) -> Result<()> {
    out.raw(b"[")?;
    for (i, (_, kind)) in spec.columns.iter().enumerate() {
        let first = i == 0;
        match kind {
            Text => out.value(first, &row.try_get::<Option<&str>, _>(i)?)?,
            Int8 => out.value(first, &row.try_get::<Option<i64>, _>(i)?)?,
            Int4 => out.value(first, &row.try_get::<Option<i32>, _>(i)?)?,
            Bool => out.value(first, &row.try_get::<Option<bool>, _>(i)?)?,
            Float => out.value(first, &opt(row.try_get::<Option<f64>, _>(i)?, float_json))?,
            Date => out.value(
                first,
                &opt(row.try_get::<Option<NaiveDate>, _>(i)?, |d| {
                    Json::String(d.format("%Y-%m-%d").to_string())
                }),
            )?,
            Timestamp => out.value(
                first,
                &opt(row.try_get::<Option<DateTime<Utc>>, _>(i)?, |t| {
                    Json::String(canonical_timestamp(t))
                }),
            )?,
        }
    }
    out.raw(b"]\n")?;
    out.count += 1;
    Ok(())
}

#[cfg(feature = "sqlite")]
/// Writes one SQLite row as a canonical line, text borrowed from the row.
fn sqlite_row(row: &SqliteRow, spec: &TableSpec, out: &mut RowOut<'_>) -> Result<()> {
    use sqlx::ValueRef;
    out.raw(b"[")?;
    for (i, (_, kind)) in spec.columns.iter().enumerate() {
        let first = i == 0;
        if row.try_get_raw(i)?.is_null() {
            out.value(first, &Json::Null)?;
            continue;
        }
        // Unchecked: SQLite's storage classes are loose (a REAL column may hold an integer).
        match kind {
            Text => out.value(first, row.try_get_unchecked::<&str, _>(i)?)?,
            Int8 | Int4 => out.value(first, &row.try_get_unchecked::<i64, _>(i)?)?,
            Bool => out.value(first, &(row.try_get_unchecked::<i64, _>(i)? != 0))?,
            Float => out.value(first, &float_json(row.try_get_unchecked::<f64, _>(i)?))?,
            Date => out.value(
                first,
                &canonical_date_text(row.try_get_unchecked::<String, _>(i)?),
            )?,
            Timestamp => out.value(
                first,
                &canonical_timestamp_text(row.try_get_unchecked::<String, _>(i)?),
            )?,
        }
    }
    out.raw(b"]\n")?;
    out.count += 1;
    Ok(())
}

#[cfg(feature = "postgres")]
/// Streams one table's rows as canonical lines to `out` (each value serialised straight into
/// it and into the table's hasher); returns its count and checksum.
async fn stream_pg(
    conn: &mut PgConnection,
    spec: &TableSpec,
    out: &mut dyn Write,
) -> Result<TableChecksum> {
    let sql = spec.select_sql();
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    let mut w = RowOut::new(out);
    while let Some(row) = rows.try_next().await? {
        pg_row(&row, spec, &mut w)?;
    }
    Ok(w.finish(spec))
}

#[cfg(feature = "sqlite")]
/// The SQLite counterpart of `stream_pg`. sqlx's SQLite worker fetches a row ahead of the reader, so rows
/// whose text is larger than [`BIG_ROW`] are found first (by `octet_length`, which does not
/// read the text) and each is read on its own, the rows between them in id ranges: at most
/// one huge row is in memory at a time.
async fn stream_sqlite(
    conn: &mut SqliteConnection,
    spec: &TableSpec,
    out: &mut dyn Write,
) -> Result<TableChecksum> {
    let size: Vec<String> = spec
        .columns
        .iter()
        .filter(|(_, k)| matches!(k, Text | Date | Timestamp))
        .map(|(c, _)| format!("COALESCE(octet_length({c}), 0)"))
        .collect();
    let big: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE {} > {BIG_ROW} ORDER BY id",
        spec.name,
        size.join(" + ")
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut w = RowOut::new(out);
    if big.is_empty() {
        let sql = spec.select_sql();
        let mut rows = sqlx::query(&sql).fetch(&mut *conn);
        while let Some(row) = rows.try_next().await? {
            sqlite_row(&row, spec, &mut w)?;
        }
        return Ok(w.finish(spec));
    }
    let cols = spec.column_names().join(", ");
    let range = format!(
        "SELECT {cols} FROM {} WHERE id > ?1 AND id < ?2 ORDER BY id",
        spec.name
    );
    let one = format!("SELECT {cols} FROM {} WHERE id = ?1", spec.name);
    let rest = format!("SELECT {cols} FROM {} WHERE id > ?1 ORDER BY id", spec.name);
    let mut after: Option<i64> = None;
    for id in big {
        {
            let q = match after {
                Some(a) => sqlx::query(&range).bind(a).bind(id),
                None => sqlx::query(&range).bind(i64::MIN).bind(id),
            };
            let mut rows = q.fetch(&mut *conn);
            while let Some(row) = rows.try_next().await? {
                sqlite_row(&row, spec, &mut w)?;
            }
        }
        if let Some(row) = sqlx::query(&one)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        {
            sqlite_row(&row, spec, &mut w)?;
        }
        after = Some(id);
    }
    let mut rows = sqlx::query(&rest)
        .bind(after.unwrap_or(i64::MIN))
        .fetch(&mut *conn);
    while let Some(row) = rows.try_next().await? {
        sqlite_row(&row, spec, &mut w)?;
    }
    Ok(w.finish(spec))
}

// ---------------------------------------------------------------------------------------------
// Writing

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: i64,
    schema_version: i64,
    created_at: String,
    engine: String,
}

#[derive(Serialize, Deserialize)]
struct TableStart {
    table: String,
    columns: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct TableEnd {
    end: String,
    rows: u64,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    tables: Vec<TableChecksum>,
    sha256: String,
}

#[derive(Serialize, Deserialize)]
struct TrailerLine {
    trailer: Trailer,
}

/// Writes lines into the gzip stream and hashes every byte.
struct LineWriter {
    out: GzEncoder<BufWriter<File>>,
    hasher: Sha256,
    context: String,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.out.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl LineWriter {
    /// An I/O error of a row written through this writer, named after the backup file.
    fn with_context(&self, e: Error) -> Error {
        match e {
            Error::Io { context, source } if context == ROW_CONTEXT => {
                Error::io(self.context.clone(), source)
            }
            other => other,
        }
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        self.hasher.update(line.as_bytes());
        self.out
            .write_all(line.as_bytes())
            .map_err(|e| Error::io(self.context.clone(), e))
    }

    fn write_json<T: Serialize>(&mut self, v: &T) -> Result<()> {
        let mut s = serde_json::to_string(v)
            .map_err(|e| Error::BadBackup(format!("cannot encode the backup: {e}")))?;
        s.push('\n');
        self.write_line(&s)
    }
}

fn now_utc() -> String {
    canonical_timestamp(Utc::now())
}

/// A stamp for backup file names that cannot collide: UTC time to the millisecond and 8
/// random hex digits (`20260201T100000.123Z-1f3a9c04`). The runbook names its pair of backups
/// `pre-migration-<stamp>.registrar.gz` and `post-migration-<stamp>.registrar.gz`.
pub fn unique_stamp() -> String {
    use rand_core::{OsRng, RngCore};
    format!(
        "{}-{:08x}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        OsRng.next_u32()
    )
}

/// Backs up every SMS table of `db` into `out` (see the module docs for the format and the
/// guarantees). Returns what was written.
///
/// Never overwrites anything: an existing `out` (file, folder or link) is refused
/// ([`Error::Refused`]) before anything is read, and the finished file is moved into place
/// only if the name is still free (so two backups racing for one name cannot replace each
/// other). Use [`backup_with`] to replace an existing backup file.
pub async fn backup(db: &Database, out: &Path) -> Result<BackupSummary> {
    backup_with(db, out, false).await
}

/// [`backup`]; with `overwrite` an existing file at `out` is replaced (`backup --force`).
/// Either way, `out` naming the live SQLite database file (or its `-wal`, `-shm`, `-journal`
/// or lock file, by any path or symlink) is refused: a backup never replaces its database.
pub async fn backup_with(db: &Database, out: &Path, overwrite: bool) -> Result<BackupSummary> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            Error::io(
                format!("cannot write the backup {}", out.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?;
    let context = format!("cannot write the backup {}", out.display());
    refuse_live_database(db, out, &dir, &file_name)?;
    let exists = std::fs::symlink_metadata(out).is_ok();
    if exists && !overwrite {
        return Err(Error::Refused(format!(
            "{} already exists and backups never overwrite a file; choose another name, or give \
             --force to replace it",
            out.display()
        )));
    }
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{file_name}."))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(context.clone(), e))?;
    set_private(temp.path()).map_err(|e| Error::io(context.clone(), e))?;
    let file = temp
        .as_file()
        .try_clone()
        .map_err(|e| Error::io(context.clone(), e))?;
    let mut w = LineWriter {
        out: GzEncoder::new(
            BufWriter::with_capacity(256 * 1024, file),
            Compression::default(),
        ),
        hasher: Sha256::new(),
        context: context.clone(),
    };
    let schema_version = db.schema_version().await?;
    let created_at = now_utc();
    let engine = db.engine().as_str().to_string();
    w.write_json(&Header {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        schema_version,
        created_at: created_at.clone(),
        engine: engine.clone(),
    })?;

    let mut tables = Vec::with_capacity(TABLES.len());
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin_with(PG_SNAPSHOT).await?;
            for spec in &TABLES {
                w.write_json(&TableStart {
                    table: spec.name.into(),
                    columns: spec.column_names().iter().map(|c| c.to_string()).collect(),
                })?;
                let sum = stream_pg(&mut tx, spec, &mut w)
                    .await
                    .map_err(|e| w.with_context(e))?;
                w.write_json(&TableEnd {
                    end: sum.table.clone(),
                    rows: sum.rows,
                    sha256: sum.sha256.clone(),
                })?;
                tables.push(sum);
            }
            tx.rollback().await?;
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for spec in &TABLES {
                w.write_json(&TableStart {
                    table: spec.name.into(),
                    columns: spec.column_names().iter().map(|c| c.to_string()).collect(),
                })?;
                let sum = stream_sqlite(&mut tx, spec, &mut w)
                    .await
                    .map_err(|e| w.with_context(e))?;
                w.write_json(&TableEnd {
                    end: sum.table.clone(),
                    rows: sum.rows,
                    sha256: sum.sha256.clone(),
                })?;
                tables.push(sum);
            }
            tx.rollback().await?;
        }
    }
    let body_sha = hex::encode(w.hasher.clone().finalize());
    w.write_json(&TrailerLine {
        trailer: Trailer {
            tables: tables.clone(),
            sha256: body_sha,
        },
    })?;
    let buf = w.out.finish().map_err(|e| Error::io(context.clone(), e))?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::io(context.clone(), e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(context.clone(), e))?;
    drop(file);
    if overwrite {
        temp.persist(out)
            .map_err(|e| Error::io(context.clone(), e.error))?;
    } else {
        // Atomic: fails if the name was taken meanwhile (the temporary file is then removed).
        temp.persist_noclobber(out).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::Refused(format!(
                    "{} appeared while the backup was written; it was left alone and the backup \
                     was not saved",
                    out.display()
                ))
            } else {
                Error::io(context.clone(), e.error)
            }
        })?;
    }
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all(); // make the rename durable; not possible on every platform
    }
    Ok(BackupSummary {
        path: out.to_path_buf(),
        schema_version,
        created_at,
        engine,
        tables,
    })
}

/// Refuses an `out` that is the live SQLite database file or one of its companions.
#[cfg(not(feature = "sqlite"))]
fn refuse_live_database(_: &Database, _: &Path, _: &Path, _: &str) -> Result<()> {
    Ok(()) // only a SQLite database is a file that a backup could overwrite
}

/// Refuses an `out` that is the live SQLite database file or one of its companions.
#[cfg(feature = "sqlite")]
fn refuse_live_database(db: &Database, out: &Path, dir: &Path, file_name: &str) -> Result<()> {
    let Database::Sqlite(pool) = db else {
        return Ok(());
    };
    let file = pool.connect_options().get_filename().to_path_buf();
    let Ok(live) = std::fs::canonicalize(&file) else {
        return Ok(()); // in memory, or not on disk
    };
    // Where `out` really points: the file itself when it exists (links resolved), else the
    // resolved folder joined with the name.
    let target = match std::fs::canonicalize(out) {
        Ok(t) => t,
        Err(_) => match std::fs::canonicalize(dir) {
            Ok(d) => d.join(file_name),
            Err(_) => return Ok(()), // the folder does not exist: writing fails with its own error
        },
    };
    let live_names: Vec<PathBuf> = ["", "-wal", "-shm", "-journal", ".registrar-lock"]
        .iter()
        .map(|suffix| {
            let mut n = live.clone().into_os_string();
            n.push(suffix);
            PathBuf::from(n)
        })
        .collect();
    if live_names.contains(&target) {
        return Err(Error::Refused(format!(
            "{} is the live database (or one of its files) being backed up; a backup never \
             replaces its database: choose another --out",
            out.display()
        )));
    }
    Ok(())
}

#[cfg(unix)]
fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reading

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
type RowValues = Vec<Json>;

/// Reads a whole file, checking everything; calls `on_row` for every row (table index, values).
/// Returns the summary. Nothing is written anywhere.
fn scan(
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
    let mut tables = Vec::with_capacity(TABLES.len());
    for (ti, spec) in TABLES.iter().enumerate() {
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

/// Checks that each value has the JSON type its column needs.
fn check_values(spec: &TableSpec, values: &[Json]) -> std::result::Result<(), String> {
    for ((col, kind), v) in spec.columns.iter().zip(values) {
        let ok = match (kind, v) {
            (_, Json::Null) => *col != "id",
            (Int8 | Int4, Json::Number(n)) => n.is_i64(),
            (Float, Json::Number(_)) => true,
            (Bool, Json::Bool(_)) => true,
            (Text, Json::String(_)) => true,
            (Date, Json::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            (Timestamp, Json::String(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(format!("column {col} holds a value of the wrong type"));
        }
    }
    Ok(())
}

/// Checks a backup file completely (gzip stream, format, per-table counts and checksums,
/// trailer, schema version) without any database, and returns its summary.
pub fn read_header(file: &Path) -> Result<BackupSummary> {
    scan(file, |_, _, _| Ok(()))
}

// ---------------------------------------------------------------------------------------------
// Restoring

/// Computes the row counts and checksums of the SMS tables of a live database, in the same
/// canonical form as a backup (one read transaction).
pub async fn table_checksums(db: &Database) -> Result<Vec<TableChecksum>> {
    let mut out = Vec::with_capacity(TABLES.len());
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin_with(PG_SNAPSHOT).await?;
            for spec in &TABLES {
                out.push(stream_pg(&mut tx, spec, &mut std::io::sink()).await?);
            }
            tx.rollback().await?;
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for spec in &TABLES {
                out.push(stream_sqlite(&mut tx, spec, &mut std::io::sink()).await?);
            }
            tx.rollback().await?;
        }
    }
    Ok(out)
}

/// [`table_checksums`] on `conn`, inside the caller's transaction (the runbook records the
/// state its data transaction is about to commit, so that it can later tell whether anything
/// changed the database since).
pub async fn table_checksums_on(conn: &mut crate::Conn<'_>) -> Result<Vec<TableChecksum>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for spec in &TABLES {
        out.push(match conn {
            #[cfg(feature = "postgres")]
            crate::Conn::Pg(c) => stream_pg(c, spec, &mut std::io::sink()).await?,
            #[cfg(feature = "sqlite")]
            crate::Conn::Sqlite(c) => stream_sqlite(c, spec, &mut std::io::sink()).await?,
        });
    }
    Ok(out)
}

fn bad_value(table: &str, col: &str) -> Error {
    Error::BadBackup(format!(
        "a value of {table}.{col} cannot be stored in this database"
    ))
}

fn json_i64(v: &Json) -> Option<i64> {
    v.as_i64()
}

fn json_str(v: &Json) -> Option<&str> {
    v.as_str()
}

#[cfg(feature = "postgres")]
fn push_pg_values(
    qb: &mut QueryBuilder<'_, Postgres>,
    spec: &TableSpec,
    rows: Vec<RowValues>,
) -> Result<()> {
    let mut err = None;
    qb.push_values(rows, |mut b, row| {
        for ((col, kind), v) in spec.columns.iter().zip(row) {
            match kind {
                Int8 => {
                    b.push_bind(json_i64(&v));
                }
                Int4 => {
                    let x = json_i64(&v).map(i32::try_from).transpose();
                    match x {
                        Ok(x) => {
                            b.push_bind(x);
                        }
                        Err(_) => {
                            err = Some(bad_value(spec.name, col));
                            b.push_bind(None::<i32>);
                        }
                    }
                }
                Text => {
                    // Moved, not copied: a huge text is held once.
                    b.push_bind(match v {
                        Json::String(s) => Some(s),
                        _ => None,
                    });
                }
                Bool => {
                    b.push_bind(v.as_bool());
                }
                Float => {
                    b.push_bind(v.as_f64());
                }
                Date => {
                    let d =
                        json_str(&v).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
                    if d.is_none() && !v.is_null() {
                        err = Some(bad_value(spec.name, col));
                    }
                    b.push_bind(d);
                }
                Timestamp => {
                    let t = json_str(&v).and_then(parse_timestamp);
                    if t.is_none() && !v.is_null() {
                        err = Some(bad_value(spec.name, col));
                    }
                    b.push_bind(t);
                }
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(feature = "sqlite")]
fn push_sqlite_values(qb: &mut QueryBuilder<'_, Sqlite>, spec: &TableSpec, rows: Vec<RowValues>) {
    qb.push_values(rows, |mut b, row| {
        for ((_, kind), v) in spec.columns.iter().zip(row) {
            match kind {
                Int8 | Int4 => {
                    b.push_bind(json_i64(&v));
                }
                Text | Date | Timestamp => {
                    // Moved, not copied: a huge text is held once.
                    b.push_bind(match v {
                        Json::String(s) => Some(s),
                        _ => None,
                    });
                }
                Bool => {
                    b.push_bind(v.as_bool().map(i64::from));
                }
                Float => {
                    b.push_bind(v.as_f64());
                }
            }
        }
    });
}

fn insert_prefix(spec: &TableSpec) -> String {
    format!(
        "INSERT INTO {} ({}) ",
        spec.name,
        spec.column_names().join(", ")
    )
}

/// Replaces the data of every SMS table of `db` with the backup in `from`.
///
/// The whole file is checked first ([`read_header`]); a damaged, truncated, inconsistent or
/// newer-schema file is refused with [`Error::BadBackup`] before anything is written. Then, in
/// one transaction: every SMS table's rows are deleted (children first), the backup's rows are
/// inserted with their ids, PostgreSQL sequences are moved past the largest id, and the
/// tables' checksums are recomputed and compared with the file's before the commit.
pub async fn restore(db: &Database, from: &Path) -> Result<BackupSummary> {
    let summary = read_header(from)?;
    let target_version = db.schema_version().await?;
    if summary.schema_version > target_version {
        return Err(Error::BadBackup(format!(
            "the backup is from schema version {} but the database is at version {target_version}; run `registrar init` first",
            summary.schema_version
        )));
    }
    // The rows are read again from the file (streaming), in batches, and inserted.
    // At most one batch waits in the channel; after a batch of BATCH_BYTES or more the reader
    // waits until it was inserted before it reads on, so huge rows never pile up in memory.
    let (tx_rows, mut rx_rows) = tokio::sync::mpsc::channel::<(usize, Vec<RowValues>)>(1);
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let path = from.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || -> Result<BackupSummary> {
        let mut batch: Vec<RowValues> = Vec::new();
        let mut bytes = 0usize;
        let mut current = 0usize;
        let mut sent = 0u64;
        let mut acked = 0u64;
        let mut send = |ti: usize, b: Vec<RowValues>, big: bool| -> Result<()> {
            tx_rows
                .blocking_send((ti, b))
                .map_err(|_| Error::BadBackup("the restore was interrupted".into()))?;
            sent += 1;
            if big {
                while acked < sent {
                    ack_rx
                        .blocking_recv()
                        .ok_or_else(|| Error::BadBackup("the restore was interrupted".into()))?;
                    acked += 1;
                }
            }
            Ok(())
        };
        let s = scan(&path, |ti, row, len| {
            if ti != current && !batch.is_empty() {
                send(current, std::mem::take(&mut batch), bytes >= BATCH_BYTES)?;
                bytes = 0;
            }
            current = ti;
            batch.push(row);
            bytes += len;
            if batch.len() >= INSERT_BATCH || bytes >= BATCH_BYTES {
                send(current, std::mem::take(&mut batch), bytes >= BATCH_BYTES)?;
                bytes = 0;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            send(current, batch, false)?;
        }
        Ok(s)
    });

    let result = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            for t in SMS_TABLES.iter().rev() {
                sqlx::query(&format!("DELETE FROM {t}"))
                    .execute(&mut *tx)
                    .await?;
            }
            while let Some((ti, rows)) = rx_rows.recv().await {
                let spec = &TABLES[ti];
                let mut qb = QueryBuilder::<Postgres>::new(insert_prefix(spec));
                push_pg_values(&mut qb, spec, rows)?;
                qb.build().execute(&mut *tx).await?;
                drop(qb);
                let _ = ack_tx.send(());
            }
            finish_reader(reader, &summary).await?;
            for t in SMS_TABLES {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM {t}"
                ))
                .execute(&mut *tx)
                .await?;
            }
            let mut after = Vec::new();
            for spec in &TABLES {
                after.push(stream_pg(&mut tx, spec, &mut std::io::sink()).await?);
            }
            compare(&summary.tables, &after)?;
            tx.commit().await?;
            Ok(summary.clone())
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            // IMMEDIATE: take the write lock now (waiting up to the busy timeout) rather than
            // fail to upgrade a read transaction later.
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            for t in SMS_TABLES.iter().rev() {
                sqlx::query(&format!("DELETE FROM {t}"))
                    .execute(&mut *tx)
                    .await?;
            }
            while let Some((ti, rows)) = rx_rows.recv().await {
                let spec = &TABLES[ti];
                let mut qb = QueryBuilder::<Sqlite>::new(insert_prefix(spec));
                push_sqlite_values(&mut qb, spec, rows);
                qb.build().execute(&mut *tx).await?;
                drop(qb);
                let _ = ack_tx.send(());
            }
            finish_reader(reader, &summary).await?;
            let mut after = Vec::new();
            for spec in &TABLES {
                after.push(stream_sqlite(&mut tx, spec, &mut std::io::sink()).await?);
            }
            compare(&summary.tables, &after)?;
            tx.commit().await?;
            Ok(summary.clone())
        }
    };
    result
}

async fn finish_reader(
    reader: tokio::task::JoinHandle<Result<BackupSummary>>,
    first: &BackupSummary,
) -> Result<()> {
    let second = reader
        .await
        .map_err(|e| Error::BadBackup(format!("reading the backup failed: {e}")))??;
    if second.tables != first.tables {
        return Err(Error::BadBackup(
            "the file changed while it was being restored".into(),
        ));
    }
    Ok(())
}

fn compare(expected: &[TableChecksum], actual: &[TableChecksum]) -> Result<()> {
    for (e, a) in expected.iter().zip(actual) {
        if e.rows != a.rows {
            return Err(Error::BadBackup(format!(
                "after restoring, table {} has {} rows instead of {}; nothing was changed",
                e.table, a.rows, e.rows
            )));
        }
        if e.sha256 != a.sha256 {
            return Err(Error::BadBackup(format!(
                "after restoring, the checksum of table {} differs from the backup's; nothing was changed",
                e.table
            )));
        }
    }
    Ok(())
}

/// Checks a backup file and restores it into a scratch database, then compares counts and
/// checksums with the file's. The scratch database is `scratch_url`, or by default a
/// temporary SQLite file (beside the backup, else in the system's temporary folder), removed
/// afterwards: a file, not memory, so that any backup verifies in bounded memory.
///
/// A `scratch_url` database whose SMS tables hold any row is refused ([`Error::Refused`])
/// before anything is written to it: use [`verify_backup_with`] to replace its data.
/// A file that cannot be read or restored gives `ok: false` with the reason; `Err` is only for
/// failures to reach the scratch database and for that refusal.
pub async fn verify_backup(file: &Path, scratch_url: Option<&str>) -> Result<VerifyReport> {
    verify_backup_with(file, scratch_url, false).await
}

/// [`verify_backup`]; with `replace_scratch_data` a non-empty `scratch_url` database is
/// accepted and its SMS tables' data replaced by the backup's (`verify-backup --yes`).
pub async fn verify_backup_with(
    file: &Path,
    scratch_url: Option<&str>,
    replace_scratch_data: bool,
) -> Result<VerifyReport> {
    let summary = match read_header(file) {
        Ok(s) => s,
        Err(Error::BadBackup(m)) => {
            return Ok(VerifyReport {
                ok: false,
                problems: vec![m],
                summary: None,
            })
        }
        Err(e) => return Err(e),
    };
    // The default scratch: a temporary SQLite file (removed when `_scratch_dir` drops).
    let (_scratch_dir, url) = match scratch_url {
        Some(u) => (None, u.to_owned()),
        None => {
            let beside = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = tempfile::Builder::new()
                .prefix(".registrar-verify-")
                .tempdir_in(beside)
                .or_else(|_| {
                    tempfile::Builder::new()
                        .prefix("registrar-verify-")
                        .tempdir()
                })
                .map_err(|e| Error::io("cannot create a scratch folder to verify the backup", e))?;
            let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
            (Some(dir), url)
        }
    };
    let scratch = Database::connect(&url).await?;
    if scratch_url.is_some() && !replace_scratch_data {
        let rows = match sms_rows(&scratch).await {
            Ok(n) => n,
            Err(e) => {
                scratch.close().await;
                return Err(e);
            }
        };
        if rows > 0 {
            scratch.close().await;
            return Err(Error::Refused(format!(
                "the scratch database {} is not empty ({rows} row(s) in its SMS tables) and \
                 verify-backup would replace them; use an empty database, or give --yes to \
                 replace its data",
                crate::mask_url(&url)
            )));
        }
    }
    if let Err(e) = scratch.init().await {
        scratch.close().await;
        return Err(e);
    }
    let mut problems = Vec::new();
    match restore(&scratch, file).await {
        Ok(_) => {
            let live = table_checksums(&scratch).await?;
            for (e, a) in summary.tables.iter().zip(&live) {
                if e.rows != a.rows {
                    problems.push(format!(
                        "table {}: the file has {} rows, the restored copy {}",
                        e.table, e.rows, a.rows
                    ));
                } else if e.sha256 != a.sha256 {
                    problems.push(format!(
                        "table {}: the restored copy's checksum differs from the file's",
                        e.table
                    ));
                }
            }
        }
        Err(Error::BadBackup(m)) => problems.push(m),
        Err(e) => problems.push(format!("restoring into the scratch database failed: {e}")),
    }
    scratch.close().await;
    Ok(VerifyReport {
        ok: problems.is_empty(),
        problems,
        summary: Some(summary),
    })
}

/// The number of rows in the SMS tables that exist in `db`.
async fn sms_rows(db: &Database) -> Result<i64> {
    let mut total = 0i64;
    for t in SMS_TABLES {
        if db.columns_of(t).await?.is_empty() {
            continue;
        }
        let sql = format!("SELECT COUNT(*) FROM {t}");
        total += match db {
            #[cfg(feature = "postgres")]
            Database::Postgres(pool) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?,
            #[cfg(feature = "sqlite")]
            Database::Sqlite(pool) => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await?,
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_canonical() {
        let a = parse_timestamp("2026-02-01T10:00:00.123Z").unwrap();
        let b = parse_timestamp("2026-02-01 10:00:00.123").unwrap();
        let c = parse_timestamp("2026-02-01T11:00:00.123+01:00").unwrap();
        assert_eq!(canonical_timestamp(a), "2026-02-01T10:00:00.123000Z");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            canonical_timestamp_text("not a time".into()),
            Json::String("not a time".into())
        );
    }

    /// The canonical line of `values` as earlier builds wrote it (a `Vec<Json>` through
    /// serde_json), which every backup's checksums depend on.
    fn row_line(values: &[Json]) -> Result<String> {
        let mut s = serde_json::to_string(values)
            .map_err(|e| Error::BadBackup(format!("cannot encode a row: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    /// The streaming writer (values serialised straight into the gzip stream and the hasher)
    /// writes exactly the bytes of the old `Vec<Json>` line, so old backups still verify.
    #[test]
    fn streamed_rows_are_the_canonical_lines_byte_for_byte() {
        let text = "a \"quoted\" \\ line\nwith\ttabs, \u{1} and é ✓";
        let mut buf = Vec::new();
        let mut w = RowOut::new(&mut buf);
        w.raw(b"[").unwrap();
        w.value(true, &Some(7i64)).unwrap();
        w.value(false, text).unwrap();
        w.value(false, &None::<&str>).unwrap();
        w.value(false, &Some(-3i32)).unwrap();
        w.value(false, &Some(true)).unwrap();
        w.value(false, &float_json(92.5)).unwrap();
        w.value(false, &float_json(f64::NAN)).unwrap();
        w.value(false, &Some("")).unwrap();
        w.raw(b"]\n").unwrap();
        let expected = row_line(&[
            Json::from(7i64),
            Json::String(text.into()),
            Json::Null,
            Json::from(-3i32),
            Json::Bool(true),
            float_json(92.5),
            Json::Null,
            Json::String(String::new()),
        ])
        .unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), expected);
    }

    #[test]
    fn floats_round_trip_through_the_canonical_form() {
        for x in [0.0, 85.5, 99.99, 1.0 / 3.0, 100.0] {
            let line = row_line(&[float_json(x)]).unwrap();
            let back: Vec<f64> = serde_json::from_str(&line).unwrap();
            assert_eq!(back[0], x);
            assert_eq!(row_line(&[float_json(back[0])]).unwrap(), line);
        }
    }

    #[test]
    fn null_differs_from_empty_text() {
        assert_ne!(
            row_line(&[Json::Null]).unwrap(),
            row_line(&[Json::String(String::new())]).unwrap()
        );
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let spec = &TABLES[2];
        assert!(check_values(
            spec,
            &[Json::from(1), Json::from(2), Json::from(3), Json::Null]
        )
        .is_ok());
        assert!(check_values(
            spec,
            &[
                Json::from(1),
                Json::from(2),
                Json::from(3),
                Json::String("2026-13-01".into())
            ]
        )
        .is_err());
        assert!(check_values(
            spec,
            &[Json::Null, Json::from(2), Json::from(3), Json::Null]
        )
        .is_err());
    }

    #[test]
    fn backups_overwrite_things_is_fixed_stamps_never_repeat() {
        let stamps: std::collections::HashSet<String> = (0..2000).map(|_| unique_stamp()).collect();
        assert_eq!(stamps.len(), 2000);
        let one = unique_stamp();
        // Milliseconds and a random suffix.
        assert!(
            one.contains('.') && one.len() == "20260201T100000.123Z-1f3a9c04".len(),
            "{one}"
        );
    }

    #[test]
    fn table_specs_follow_sms_tables() {
        let names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        assert_eq!(names, SMS_TABLES);
    }
}
