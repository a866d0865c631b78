//! Registrar moves a school's Student Management System (SMS) from training data to real
//! production data without losing a row or leaking a password.
//!
//! # Brief overview
//! This crate is the facade: it re-exports the library crates and adds the few high-level entry
//! points an embedding program needs.
//! - [`validate_dir`] / [`validate_file`]: check data files (CSV/TSV, Excel, JSON/NDJSON) and get a
//!   [`Report`] of every [`Issue`] with file, row, column, a stable [`IssueCode`] and a message.
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

mod migration;

pub use registrar_checks as checks;
pub use registrar_db as db;
pub use registrar_formats as formats;
pub use registrar_model as model;
pub use registrar_rules as rules;

pub use migration::{Migration, RunbookOutcome, StepLog, StepOutcome};
pub use registrar_formats::ReaderOptions;
pub use registrar_model::{Entity, Issue, IssueCode, OnExisting, Report, Severity};

use std::path::Path;

/// Validates every data file of a folder (found by stem), without a database.
pub fn validate_dir(dir: &Path, options: &ReaderOptions) -> Result<Report, Error> {
    Ok(registrar_rules::validate_dir(dir, options)?)
}

/// Validates one data file; the entity comes from the file's stem when `entity` is `None`.
pub fn validate_file(
    path: &Path,
    entity: Option<Entity>,
    options: &ReaderOptions,
) -> Result<Report, Error> {
    Ok(registrar_rules::validate_file(path, entity, options)?)
}

/// Errors of the facade: I/O and database failures (data problems are issues in a [`Report`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading data files failed.
    #[error(transparent)]
    Rules(#[from] registrar_rules::Error),
    /// A database step failed.
    #[error(transparent)]
    Db(#[from] registrar_db::Error),
    /// A check failed to run.
    #[error(transparent)]
    Checks(#[from] registrar_checks::Error),
}
