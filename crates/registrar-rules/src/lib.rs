//! Registrar's rules: value parsers, row rules for each entity, the password policy, and the
//! cross-file validation pass that turns rows into typed records plus issues.
//!
//! # Brief overview
//! - [`Validator`] holds the state of one run (valid users, courses, enrollments, uniqueness sets,
//!   plus what the database already holds, see [`Existing`]) and validates one file at a time,
//!   in import order, through [`Validator::validate_source`]. Each row ends as a
//!   [`RowOutcome::Valid`] typed record or a [`RowOutcome::Invalid`] row with its issues.
//! - It reads rows through [`registrar_model::RowSource`] alone: the readers are
//!   `registrar-formats`' business, and the facade `registrar` joins the two
//!   (`registrar::validate_dir`, `registrar::import`).
//! - [`parse`] holds the value parsers (booleans, numbers, dates, grades, codes, emails) and
//!   [`password`] the password policy.
//!
//! # Example
//! ```
//! use registrar_model::{Entity, MemorySource, Mode, Report, Value};
//! use registrar_rules::{ValidationOptions, Validator};
//!
//! let t = |s: &str| Value::Text(s.into());
//! let mut users = MemorySource::new("users.csv", ["email", "password", "role", "first_name", "last_name"])
//!     .row(2, [t("carol@school"), t("Xk29!vmq-Lp"), t("student"), t("Carol"), t("Diaz")]);
//! let mut report = Report::new(Mode::Validate);
//! let mut validator = Validator::new(ValidationOptions::default());
//! validator.validate_source(Entity::Users, &mut users, &mut report, &mut |_| {})?;
//! assert_eq!(report.issues[0].code.as_str(), "invalid-email");
//! assert_eq!(report.issues[0].row, Some(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The rules, where SPEC §2 leaves a choice
//! - **Every error of a row** is reported, one issue per column problem. Uniqueness
//!   (`duplicate-key`, `already-exists`) is checked only for a row that is otherwise valid, and
//!   only such rows can be referred to by later files. A reference to a row that was rejected in
//!   this run says so (`the user on users.csv row 5 was rejected; fix it first`); an enrollment
//!   of a teacher is `not-a-student`; a grade or attendance row whose student is not enrolled is
//!   `not-enrolled` (or `not-a-student` when the user is not a student).
//! - **Headers**: trimmed, BOM removed, case-insensitive. A missing required column
//!   (`missing-column`) or a known column given twice (`duplicate-column`) stops the row checks
//!   for that file: its rows are all counted invalid. An unknown column is an `unknown-column`
//!   warning (once per name); columns without a name are ignored. A first line that holds an
//!   `@` is taken for data, not a header (`missing-column`, and none of its values echoed).
//! - **Lengths** (characters, not bytes): first and last name 100 ([`MAX_NAME_LEN`]),
//!   course name 200, description 2,000, semester 50, assessment 100.
//! - **Assessment**: trimmed and lower-cased (`Final` and `final` are one key); blank means
//!   [`DEFAULT_ASSESSMENT`] (`final`).
//! - **Passwords** are taken exactly as written (not trimmed). When both `password` and
//!   `password_hash` are given, both are checked (the loader stores the hash). See [`password`].
//! - **No secret in a message**: messages never contain a password or a hash, and in the
//!   users file no raw cell value is echoed at all (a value in the wrong column may be a
//!   password); other files quote the offending value (`'carol@school' is not a valid email`).
//! - **Spreadsheet error cells** (`#N/A`) get the column's own code (`invalid-date`,
//!   `invalid-number`, ...; `missing-value` for free text) and a message naming the error.
//!
//! # Memory and speed
//! Emails, course codes and assessments are interned to `u32` ids; the uniqueness sets hold
//! `(id, id, days)` keys and the row of the first valid occurrence, never rows. Dates, codes and
//! emails are checked by hand-written code (the training-account regex runs on users only).
//! The attendance key is packed into one `u64` (ids and day number; a key that does not fit goes
//! to a tuple-keyed set), and a student email or course code spelled as an earlier row spelled
//! it is looked up as written instead of being parsed again. The maps use FxHash (`rustc-hash`),
//! which is fast but not resistant to hash flooding: acceptable for a CLI run on the operator's
//! own files (a crafted file can only slow down its own validation).
//! `cargo bench -p registrar-rules --bench rules` measures the pass alone on 1,000,000
//! attendance rows.
#![deny(missing_docs)]

pub use registrar_model::Existing;
use registrar_model::{Entity, Issue, OnExisting, Record, Report, RowSource, Value};

pub mod parse;
pub mod password;
mod validator;

pub use validator::{
    is_training_account, DEFAULT_ASSESSMENT, MAX_ASSESSMENT_LEN, MAX_COURSE_NAME_LEN,
    MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_SEMESTER_LEN,
};

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
    ) -> Result<(), registrar_model::ReadError> {
        self.inner.validate_source(entity, source, report, sink)
    }
}
