//! Registrar moves a school's Student Management System (SMS) from training data to real
//! production data without losing a row or leaking a password.
//!
//! # Brief overview
//! This crate is the facade: it re-exports the library crates and adds the few high-level entry
//! points an embedding program needs.
//! - [`validate_dir`] / [`validate_file`]: check data files (CSV/TSV, Excel, JSON/NDJSON) and get a
//!   [`Report`] of every [`Issue`] with file, row, column, a stable [`IssueCode`] and a message.
//! - [`import`]: the import pipeline (read, validate, write rejects, hash, load) over
//!   `registrar-formats`, `registrar-rules` and `registrar-db`.
//! - [`Migration`]: import a data folder into SQLite or PostgreSQL (all or nothing), or run the
//!   whole runbook (backup, clean-up, import, checks, lock-down, backup + verify, rollback on failure).
//! - [`login::verify_and_upgrade`]: what an SMS calls at login: verify a password against any
//!   stored hash (argon2 or a legacy scheme from the old system) and get its argon2id re-hash
//!   when the stored one is legacy; [`login::verify_and_upgrade_in`] also stores it.
//! - Modules: [`model`] (types), [`hashes`] (legacy password hashes), [`formats`] (readers), [`rules`] (validation), [`db`] (schema,
//!   loaders, backups, clean-up, audit), [`checks`] (integrity checks, stats, logins).
//!
//! # Example
//! ```
//! use registrar::{validate_dir, ReaderOptions};
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(
//!     dir.path().join("users.csv"),
//!     "email,password,role,first_name,last_name\ncarol@school,Xk29!vmq-Lp,student,Carol,Diaz\n",
//! )?;
//! let report = validate_dir(dir.path(), &ReaderOptions::default())?;
//! assert!(!report.is_ok());
//! assert_eq!(report.issues[0].code.as_str(), "invalid-email");
//! assert_eq!(report.issues[0].row, Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod commands;
pub mod credentials;
mod driver;
pub mod export;
pub mod html;
pub mod import;
pub mod input;
pub mod login;
mod logins;
pub mod mapping;
mod migration;
pub mod plan;
mod sync;
mod validate;

pub use registrar_checks as checks;
pub use registrar_db as db;
pub use registrar_formats as formats;
pub use registrar_hashes as hashes;
pub use registrar_model as model;
pub use registrar_rules as rules;

pub use input::{Input, Records, TypedRecord};
pub use logins::{verify_generated_logins, verify_logins};
pub use migration::{Migration, RunbookOutcome, RunbookStep, StepLog, StepOutcome};
pub use registrar_formats::ReaderOptions;
pub use registrar_model::{Entity, Issue, IssueCode, OnExisting, Progress, Report, Severity};
pub use sync::{SyncMode, DEFAULT_MAX_CHANGES};
pub use validate::{
    validate_dir, validate_file, validate_files, validate_input, validate_input_with,
};

/// Errors of the facade: I/O and database failures (data problems are issues in a [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A data file or folder could not be read.
    #[error(transparent)]
    Read(#[from] registrar_formats::Error),
    /// A single file was given without an entity, and its stem names none.
    #[error("cannot tell what {file} holds: name it users, courses, enrollments, grades or attendance (e.g. users.csv), or give the entity (--entity)")]
    UnknownEntity {
        /// The file name.
        file: String,
    },
    /// A file Registrar writes (a rejects file) could not be written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (names the file).
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A database step failed.
    #[error(transparent)]
    Db(#[from] registrar_db::Error),
    /// A check failed to run.
    #[error(transparent)]
    Checks(#[from] registrar_checks::Error),
    /// A bug in Registrar (a worker thread died); nothing was committed.
    #[error("internal error: {0}; please report this (nothing was written)")]
    Internal(String),
    /// The facade was called wrongly (a [`Migration`] run without an input); the message says
    /// what to call first.
    #[error("{0}")]
    Usage(String),
    /// A safety rule refused the step (an export would replace files that are not a previous
    /// export); nothing was written and the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// A saved plan no longer matches the files or the database (`import --plan`): nothing was
    /// written; make a new plan and review it.
    #[error("the saved plan is stale: {0}")]
    StalePlan(String),
    /// [`login`]: the stored password hash cannot be checked (malformed, of no supported scheme,
    /// or beyond the cost caps). The message names no scheme and no hash.
    #[error("the stored password hash cannot be checked; set a new password for this account")]
    UnusableHash,
}

impl Error {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// What kind of failure this is (a lock held by another run, a safety refusal, wrong
    /// arguments, a bug, I/O, the database), whichever layer it came from.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Read(_) | Error::Io { .. } => ErrorKind::Io,
            Error::UnknownEntity { .. } | Error::Usage(_) => ErrorKind::Usage,
            Error::Db(e) => e.kind(),
            Error::Checks(e) => checks_kind(e),
            Error::Internal(_) => ErrorKind::Internal,
            Error::StalePlan(_) | Error::UnusableHash | Error::Refused(_) => ErrorKind::Refused,
        }
    }
}

/// The kind of a checks error.
fn checks_kind(e: &registrar_checks::Error) -> ErrorKind {
    match e {
        registrar_checks::Error::Db(e) => e.kind(),
        registrar_checks::Error::InvalidExpectation(_) => ErrorKind::Usage,
        registrar_checks::Error::Refused(_) => ErrorKind::Refused,
        _ => ErrorKind::Database,
    }
}

pub use registrar_db::ErrorKind;

/// The kind of the first error of Registrar's in `e` or its sources ([`Error`],
/// [`commands::CommandError`] or an error of `db`, `checks` or `formats`); `None` when none is
/// one of Registrar's (an embedding program's own error).
pub fn error_kind(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(e) = e.downcast_ref::<commands::CommandError>() {
            return Some(e.kind());
        }
        if let Some(e) = e.downcast_ref::<Error>() {
            return Some(e.kind());
        }
        if let Some(e) = e.downcast_ref::<registrar_db::Error>() {
            return Some(e.kind());
        }
        if let Some(e) = e.downcast_ref::<registrar_checks::Error>() {
            return Some(checks_kind(e));
        }
        if e.downcast_ref::<registrar_formats::Error>().is_some() {
            return Some(ErrorKind::Io);
        }
        next = e.source();
    }
    None
}
