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
//! - Modules: [`model`] (types), [`formats`] (readers), [`rules`] (validation), [`db`] (schema,
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
mod driver;
pub mod html;
pub mod import;
pub mod input;
mod logins;
mod migration;
mod validate;

pub use registrar_checks as checks;
pub use registrar_db as db;
pub use registrar_formats as formats;
pub use registrar_model as model;
pub use registrar_rules as rules;

pub use input::{Input, Records, TypedRecord};
pub use logins::verify_logins;
pub use migration::{Migration, RunbookOutcome, StepLog, StepOutcome};
pub use registrar_formats::ReaderOptions;
pub use registrar_model::{Entity, Issue, IssueCode, OnExisting, Progress, Report, Severity};
pub use validate::{validate_dir, validate_file, validate_files, validate_input};

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
}

impl Error {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
