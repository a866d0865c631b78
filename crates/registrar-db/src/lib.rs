//! Registrar's database layer on sqlx: the schema (embedded migrations for PostgreSQL and
//! SQLite), connecting, bulk loading, argon2 hashing, backups, clean-up and the audit log.
//!
//! # Brief overview
//! - [`Database`] is a connection pool to either engine; [`Database::connect`] takes a
//!   `sqlite://` or `postgres://` URL, [`Database::init`] creates or upgrades (or adopts) the schema.
//! - [`load`] loads validated records (COPY on PostgreSQL, multi-row INSERT on SQLite) into a
//!   transaction ([`Database::begin_write`]); it takes typed record batches and knows nothing of
//!   files (the import pipeline is the facade's, `registrar::import`).
//! - [`audit`] is the `import_runs` log: one row per run, written as `running` before anything.
//! - [`inspect`] holds the narrow queries behind the integrity checks, stats and account
//!   steps (counts, sizes, password hashes), each returning plain Rust values.
//! - [`export`] reads the database as a [`registrar_model::Roster`] (for a OneRoster export).
//! - [`hash`] is the argon2id pipeline; [`backup`], [`clean`] and [`seed`] are the runbook steps.
//! - `testing` (feature `testing`, for tests only) makes a fresh database per test.
//!
//! All queries are checked at run time; building needs no live database.
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir()?;
//! let url = format!("sqlite://{}", dir.path().join("sms.db").display());
//! let db = registrar_db::Database::connect(&url).await?;
//! db.init().await?;
//! assert_eq!(db.engine(), registrar_db::Engine::Sqlite);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]
// A one-engine build leaves helpers of the other engine unused and some matches with one arm.
#![cfg_attr(
    not(all(feature = "postgres", feature = "sqlite")),
    allow(dead_code, unused_imports, unused_variables, irrefutable_let_patterns)
)]

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
compile_error!("registrar-db needs at least one engine: enable the `sqlite` or `postgres` feature");

pub mod audit;
pub mod backup;
pub mod clean;
pub mod command;
mod connect;
pub mod export;
pub mod hash;
pub mod inspect;
pub mod load;
mod lock;
pub mod origin;
pub mod seed;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod tx;

pub use connect::{mask_url, Database, Engine, DEFAULT_DATABASE_URL};
pub use lock::{RunLock, PG_RUN_LOCK_KEY};
pub use tx::{Conn, PooledConn, WriteTx};

/// The schema version this build writes and reads (the number of the newest migration).
pub const SCHEMA_VERSION: i64 = 3;

/// The SMS tables, parents first (the order to insert; delete in reverse).
pub const SMS_TABLES: [&str; 5] = ["users", "courses", "enrollments", "grades", "attendances"];

/// Errors of the database layer. Data problems are issues in a report, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database URL is not one Registrar understands.
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl {
        /// The URL with any password masked.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database could not be reached.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL with any password masked.
        url: String,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A read-only command was pointed at a SQLite file that does not exist (it is not created).
    #[error("no database at {path}: check the --database URL (read-only commands never create a database; `registrar init` creates one)")]
    NoDatabase {
        /// The file that was looked for.
        path: String,
    },
    /// An existing SMS table lacks columns Registrar needs.
    #[error("the existing table {table} lacks the column(s) {}; add them or point Registrar at another database", missing.join(", "))]
    IncompatibleSchema {
        /// The table.
        table: String,
        /// The missing columns.
        missing: Vec<String>,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying the migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (names the file).
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A backup file is damaged, truncated, from another schema version, or inconsistent.
    #[error("backup refused: {0}")]
    BadBackup(String),
    /// Another run (or, on SQLite, another program) holds the lock this step needs: the run
    /// lock ([`Database::run_lock`]), the import's transaction lock or SQLite's write lock
    /// ([`Database::begin_write`]). Nothing was written; the message says to wait and run again.
    #[error("{0}")]
    Locked(String),
    /// A safety rule refused the step (clean-up would leave no active admin or delete real
    /// students' courses, a backup would overwrite a file or the live database, a scratch
    /// database holds rows); nothing was changed and the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// The step was called wrongly (an argument that cannot work, such as a clean-up pattern
    /// that is not a regex); the message says what to give instead.
    #[error("{0}")]
    Usage(String),
    /// A bug in Registrar: an invariant of the loader or a transaction did not hold. Nothing
    /// was committed; the message (which starts with `internal error:`) is worth reporting.
    #[error("{0}")]
    Internal(String),
    /// The run lock was lost while the run was going on ([`RunLock::ensure_held`]); the run
    /// stops without restoring anything.
    #[error("{0}")]
    LockLost(String),
}

/// What kind of failure an error is, for a program that reacts to failures rather than
/// printing them (the `registrar` binary maps each kind to its exit code in one place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Another run holds a lock this one needs ([`Error::Locked`]): wait and run again.
    Locked,
    /// The run lost its run lock while it was going on ([`Error::LockLost`]).
    LockLost,
    /// A safety rule refused the step ([`Error::Refused`]).
    Refused,
    /// Wrong arguments: a URL, a pattern, a missing input ([`Error::Usage`],
    /// [`Error::InvalidUrl`], [`Error::NoDatabase`]).
    Usage,
    /// A file could not be read or written ([`Error::Io`]).
    Io,
    /// A backup file is damaged or inconsistent ([`Error::BadBackup`]).
    BadBackup,
    /// The database failed or could not be reached ([`Error::Connect`], [`Error::Sqlx`],
    /// [`Error::Migrate`], [`Error::IncompatibleSchema`]).
    Database,
    /// A bug in Registrar ([`Error::Internal`]).
    Internal,
}

impl Error {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidUrl { .. } | Error::NoDatabase { .. } | Error::Usage(_) => {
                ErrorKind::Usage
            }
            Error::Connect { .. }
            | Error::IncompatibleSchema { .. }
            | Error::Sqlx(_)
            | Error::Migrate(_) => ErrorKind::Database,
            Error::Io { .. } => ErrorKind::Io,
            Error::BadBackup(_) => ErrorKind::BadBackup,
            Error::Locked(_) => ErrorKind::Locked,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Internal(_) => ErrorKind::Internal,
            Error::LockLost(_) => ErrorKind::LockLost,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
