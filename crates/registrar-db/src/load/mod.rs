//! Loading validated records into the database, all or nothing, fast, on both engines.
//!
//! This module knows nothing of files: it takes typed records in batches. The import pipeline
//! (reading, validating, rejects files, hashing hand-off) lives in the facade crate
//! `registrar` (`registrar::import`), which feeds a [`Loader`] through a bounded channel of
//! [`LoadMsg`]s while it reads, so reading overlaps writing and memory stays bounded.
//!
//! - [`read_existing`] reads what the database already holds, inside the run's transaction:
//!   the natural keys for validation ([`Existing`]) and the key → id maps ([`KnownIds`]) the
//!   loader resolves references with (one set-based query per table, never one per row).
//! - [`Loader`] writes: PostgreSQL with `COPY ... FROM STDIN` (updates with `UNNEST`), SQLite
//!   with multi-row `INSERT`s under its bind limit. Users whose plain password is being hashed
//!   ([`crate::hash::HashPipeline`]) are written once their hashes are ready; courses load
//!   meanwhile.
//!
//! The caller owns the transaction ([`crate::Database::begin_write`]): the loader never
//! commits. `registrar` commits when the data is clean and rolls back otherwise.

mod existing;
#[cfg(feature = "postgres")]
mod postgres;
mod remove;
mod sis;
#[cfg(feature = "sqlite")]
mod sqlite;
mod teachers;
mod writer;

pub use existing::{load_existing, load_existing_with_ids, read_existing, KnownIds, Need};
pub use remove::Removed;
pub use teachers::{write_teacher_links, LinkRow, LinksWritten};
pub use writer::Loader;

pub use registrar_model::Existing;
use registrar_model::{Entity, Record};

/// The PostgreSQL advisory lock key write transactions take (`pg_try_advisory_xact_lock`), so
/// two runs never interleave (`"registra"` in ASCII).
pub const PG_LOCK_KEY: i64 = 0x7265_6769_7374_7261;

/// One validated record on its way to the database.
#[derive(Debug)]
pub struct LoadItem {
    /// The record (a user's plain password, if any, has been taken out for hashing).
    pub record: Record,
    /// True when its natural key is already in the database (updated or skipped, as the
    /// run's `OnExisting` says).
    pub existing: bool,
    /// The [`crate::hash::HashPipeline`] slot of a user whose plain password is being
    /// hashed; `None` when the record carries its hash (or is not a user).
    pub hash_slot: Option<u32>,
    /// For an existing user whose only difference from the database is its password: the
    /// stored hash. When the hashing job gives this same hash back (it verifies the file's
    /// password), the row is counted unchanged and not written.
    pub unchanged_if_hash: Option<String>,
}

/// What the reading side sends a [`Loader`].
#[derive(Debug)]
pub enum LoadMsg {
    /// A file starts (its index in the run's file list, and what it holds).
    Begin {
        /// Index into the run's file list (the loader counts per index).
        file: usize,
        /// What the file holds.
        entity: Entity,
    },
    /// Valid records of the current file.
    Rows(Vec<LoadItem>),
    /// The current file ended.
    End,
}

/// Rows written for one file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    /// New rows inserted.
    pub inserted: u64,
    /// Existing rows updated (`OnExisting::Update`).
    pub updated: u64,
    /// Existing rows left as they were (`OnExisting::Skip`).
    pub skipped: u64,
    /// Existing users whose only difference was a password that their stored hash already
    /// verifies: not written (the validator counts the other unchanged rows).
    pub unchanged: u64,
}
