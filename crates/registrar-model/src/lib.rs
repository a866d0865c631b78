//! Registrar's domain types: entities, roles, typed records, source positions, and the
//! [`Issue`] / [`IssueCode`] / [`Report`] types every other crate speaks.
//!
//! # Brief overview
//! - [`Entity`] names the five data files in import order.
//! - [`User`], [`Course`], [`Enrollment`], [`Grade`], [`Attendance`] are typed, validated records
//!   (the output of `registrar-rules`, the input of `registrar-db`).
//! - [`Issue`] is one data problem (code, severity, file, row, column, message); a [`Report`]
//!   collects them with per-file counts and serialises to the JSON of SPEC §3.
//! - [`Password`] holds a plain password, is zeroized on drop and never prints its content.
//! - [`EmailPattern`] / [`is_training_email`]: the training-account pattern, matched on
//!   trimmed, case-folded emails (the one definition every crate uses).
//!
//! - [`RowSource`] yields [`Event`]s ([`Row`]s of [`Value`]s, or reader [`Issue`]s): what
//!   every reader of `registrar-formats` gives and the validation pass of `registrar-rules` reads.
//! - [`Roster`] is a database's content as an exporter needs it (OneRoster export).
//! - [`Existing`] is what the database already holds; [`Progress`] reports how far a run got.
//!
//! This crate does no I/O.
//!
//! # Example
//! ```
//! use registrar_model::{Issue, IssueCode, Report, Mode};
//!
//! let mut report = Report::new(Mode::Validate);
//! report.push(Issue::error(IssueCode::InvalidEmail, "users.csv", Some(4), Some("email"),
//!     "'carol@school' is not a valid email address: the domain needs a dot"));
//! assert!(!report.is_ok());
//! assert_eq!(report.issues[0].code.as_str(), "invalid-email");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod existing;
mod hash_cost;
mod issue;
mod progress;
mod records;
mod report;
mod roster;
mod source;
mod text;

pub use existing::{
    Existing, FieldChange, KeyMap, NaturalKey, RowChange, Stored, StoredAttendance,
    StoredAttendanceRow, StoredCourse, StoredGrade, StoredLink, StoredUser,
};
pub use hash_cost::{
    check_argon2_cost, MAX_HASH_M_COST, MAX_HASH_P_COST, MAX_HASH_T_COST, MAX_HASH_WORK,
};
pub use issue::{Issue, IssueCode, Position, Severity};
pub use progress::{Progress, ProgressUnit};
pub use records::{
    Attendance, AttendanceStatus, Course, CourseCode, CourseStatus, Email, Enrollment, Entity,
    Grade, LetterGrade, Password, Record, Role, User,
};
pub use report::{
    EntityRemoved, FileSummary, HashCounts, MissingPassword, MissingPasswordCounts, Mode,
    OnExisting, Report, SuppressedIssues, MAX_ISSUES_PER_FILE_AND_CODE,
};
pub use roster::{Roster, RosterCourse, RosterEnrollment, RosterGrade, RosterRole, RosterUser};
pub use source::{
    header_key, header_name, Event, Format, MemorySource, ReadError, Row, RowSource, Value,
};
pub use text::{
    is_invisible, is_training_email, trim, trim_invisible, EmailPattern, TRAINING_EMAIL_PATTERN,
};

/// Re-export of the date type used by the records.
pub use chrono::NaiveDate;
