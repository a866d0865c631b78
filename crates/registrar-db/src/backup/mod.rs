//! Backups: one consistent, checksummed, compressed file of every SMS table and of Registrar's
//! external ids and teacher links, restorable into either engine (SPEC §6).
//!
//! # Brief overview
//! - [`backup`] writes a snapshot of the tables in [`BACKUP_TABLES`] to a file: the five SMS
//!   tables ([`crate::SMS_TABLES`]), then `registrar_user_sis_ids` (each user's external id)
//!   and `registrar_course_teachers` (teacher and aide links).
//! - [`restore`] checks a file completely, then replaces the data of those tables with it in
//!   one transaction (keeping ids, resetting PostgreSQL sequences) and compares checksums
//!   before it commits.
//! - [`verify_backup`] checks a file and restores it into a scratch database (a temporary
//!   SQLite file by default; a given scratch database must be empty unless
//!   [`verify_backup_with`] is told to replace its data), then compares counts and checksums.
//! - [`read_header`] checks a file without any database; [`table_checksums`] computes the same
//!   checksums from a live database, so a database can be compared with a backup.
//!
//! # File format (version 2)
//!
//! A gzip stream (RFC 1952) of UTF-8 JSON lines, each ending in `\n`:
//!
//! 1. a header: `{"format":"registrar-backup","version":2,"schema_version":3,
//!    "created_at":"2026-02-01T10:00:00.000000Z","engine":"postgres"}`;
//! 2. for each table, parents first (users, courses, enrollments, grades, attendances,
//!    registrar_user_sis_ids, registrar_course_teachers):
//!    - `{"table":"users","columns":["id","email",...]}`,
//!    - one JSON array per row, in the column order, rows ordered by the primary key (`id`;
//!      `user_id` for `registrar_user_sis_ids`; `course_id, teacher_id` for
//!      `registrar_course_teachers`),
//!    - `{"end":"users","rows":18,"sha256":"..."}`;
//! 3. a trailer: `{"trailer":{"tables":[{"table":"users","rows":18,"sha256":"..."},...],
//!    "sha256":"..."}}` where the last `sha256` is the SHA-256 of every byte (uncompressed)
//!    before the trailer line.
//!
//! The columns are `registrar_user_sis_ids (user_id, sis_id)` and
//! `registrar_course_teachers (course_id, teacher_id, role)`.
//!
//! **Version 1** (written before schema v3's tables were backed up) is the same without the
//! last two tables: its header says `"version":1` and it holds the five SMS tables only. It is
//! still read, verified and restored; restoring it leaves `registrar_user_sis_ids` and
//! `registrar_course_teachers` empty ([`BackupSummary::missing_tables`] names them).
//!
//! A database whose schema predates v3 has neither table (every command brings the schema
//! up to date first, see [`crate::Database::init`]; only the library used without it can meet
//! one): both read as empty, so its backup holds them with no rows.
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
//! A file is refused ([`Error::BadBackup`](crate::Error::BadBackup)) before anything is
//! written to a database when its gzip stream is damaged or truncated, a line is not what the
//! format says, a table's row count or checksum does not match its rows, the trailer does not
//! match the tables or the bytes before it, or its schema version is newer than
//! [`SCHEMA_VERSION`](crate::SCHEMA_VERSION).
//!
//! # The code
//!
//! One file per seam: `format` (the table layout, the canonical values and the lines around
//! the rows), `stream` (rows out of a live database as canonical lines, and
//! [`table_checksums`]), `write` ([`backup`]), `read` (checking a file line by line,
//! [`read_header`]), `restore` ([`restore`]) and `verify` (the scratch database,
//! [`verify_backup`]).

mod format;
mod read;
mod restore;
mod stream;
mod verify;
mod write;

pub use read::read_header;
pub use restore::restore;
pub use stream::{table_checksums, table_checksums_on};
pub use verify::{verify_backup, verify_backup_with};
pub use write::{backup, backup_with, unique_stamp};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The `format` member of a backup header.
pub const FORMAT_NAME: &str = "registrar-backup";
/// The version of the file format this build writes (it reads this one and every older one).
pub const FORMAT_VERSION: i64 = 2;

/// The tables a backup of the current format holds, in file order (parents first; a restore
/// deletes in reverse order and inserts in this one).
pub const BACKUP_TABLES: [&str; 7] = [
    "users",
    "courses",
    "enrollments",
    "grades",
    "attendances",
    "registrar_user_sis_ids",
    "registrar_course_teachers",
];

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
    /// Per-table row counts and checksums, in [`BACKUP_TABLES`] order (the five SMS tables
    /// only, for a backup of format version 1).
    pub tables: Vec<TableChecksum>,
}

impl BackupSummary {
    /// The tables of [`BACKUP_TABLES`] this backup does not hold (those that a backup of an
    /// older format predates); a restore leaves them empty.
    pub fn missing_tables(&self) -> Vec<&'static str> {
        BACKUP_TABLES
            .into_iter()
            .filter(|t| !self.tables.iter().any(|c| c.table == *t))
            .collect()
    }
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
