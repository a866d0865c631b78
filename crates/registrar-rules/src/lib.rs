//! Registrar's rules: value parsers, row rules for each entity, the password policy, and the
//! cross-file validation pass that turns rows into typed records plus issues.
//!
//! # Brief overview
//! - [`Validator`] holds the state of one run (valid users, courses, enrollments, uniqueness sets,
//!   plus what the database already holds, see [`Existing`]) and validates one file at a time,
//!   in import order, through [`Validator::validate_source`]. Each row ends as a
//!   [`RowOutcome::Valid`] typed record or a [`RowOutcome::Invalid`] row with its issues.
//! - [`validate_dir`] and [`validate_file`] run the whole pass on a folder or one file.
//! - [`parse`] holds the value parsers (booleans, numbers, dates, grades, codes, emails) and
//!   [`password`] the password policy.
//!
//! # Example
//! ```no_run
//! use registrar_formats::ReaderOptions;
//! let report = registrar_rules::validate_dir("examples/data".as_ref(), &ReaderOptions::default())?;
//! for issue in &report.issues {
//!     println!("{issue}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

use chrono::NaiveDate;
use registrar_formats::{RowSource, Value};
use registrar_model::{Entity, Issue, OnExisting, Record, Report, Role};
use std::collections::{HashMap, HashSet};

pub mod parse;
pub mod password;
mod validator;

pub use validator::{
    is_training_account, validate_dir, validate_file, validate_files, DEFAULT_ASSESSMENT,
    MAX_ASSESSMENT_LEN, MAX_COURSE_NAME_LEN, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_SEMESTER_LEN,
};

/// The natural keys already in the database, so that `already-exists` can be reported and
/// references can resolve against database rows. Keys are normalised as the rules normalise
/// them: emails lower-case, course codes upper-case.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// email → role of each user in the database.
    pub users: HashMap<String, Role>,
    /// Course codes in the database.
    pub courses: HashSet<String>,
    /// (student email, course code) of each enrollment in the database.
    pub enrollments: HashSet<(String, String)>,
    /// (student email, course code, assessment) of each grade in the database.
    pub grades: HashSet<(String, String, String)>,
    /// (student email, course code, date) of each attendance row in the database.
    pub attendance: HashSet<(String, String, NaiveDate)>,
}

/// Options of a validation pass.
#[derive(Debug, Clone, Default)]
pub struct ValidationOptions {
    /// What a row whose key is already in [`ValidationOptions::existing`] does.
    pub on_existing: OnExisting,
    /// What the database holds; `None` validates the files alone.
    pub existing: Option<Existing>,
}

/// How one row ended.
#[derive(Debug)]
pub enum RowOutcome<'a> {
    /// The row is valid.
    Valid {
        /// The row number (see `registrar_model::Position`).
        row: u64,
        /// The typed record.
        record: Record,
        /// True when its natural key is already in the database (only possible with
        /// `OnExisting::Skip` or `OnExisting::Update`; with `Error` the row is invalid).
        existing: bool,
    },
    /// The row has at least one error.
    Invalid {
        /// The row number.
        row: u64,
        /// The row's values in header order, as read (empty for a row the reader could not
        /// split into fields).
        values: &'a [Value],
        /// Its errors.
        issues: &'a [Issue],
    },
}

/// The state of one validation run across files.
pub struct Validator {
    inner: validator::State,
}

impl Validator {
    /// A validator for one run.
    pub fn new(options: ValidationOptions) -> Validator {
        Validator {
            inner: validator::State::new(options),
        }
    }

    /// Validates one file of `entity` from `source`, adding its `FileSummary` and issues to
    /// `report` and calling `sink` once per data row. Files must be given in import order
    /// (users, courses, enrollments, grades, attendance) for references to resolve.
    pub fn validate_source(
        &mut self,
        entity: Entity,
        source: &mut dyn RowSource,
        report: &mut Report,
        sink: &mut dyn FnMut(RowOutcome<'_>),
    ) -> Result<(), registrar_formats::Error> {
        self.inner.validate_source(entity, source, report, sink)
    }
}

/// Errors of this crate: only I/O (data problems are issues in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error(transparent)]
    Formats(#[from] registrar_formats::Error),
    /// A single file was given without an entity, and its stem names none.
    #[error("cannot tell what {file} holds: name it users, courses, enrollments, grades or attendance (e.g. users.csv), or give the entity (--entity)")]
    UnknownEntity {
        /// The file name.
        file: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
