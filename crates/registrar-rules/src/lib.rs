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
//! - **Password hashes** from old systems (`password_hash`): argon2, bcrypt, SHA-crypt,
//!   MD5-crypt, LDAP `{SSHA}`, Django PBKDF2 and (with `accept_unsalted`) hex MD5/SHA-1, stored
//!   verbatim; malformed is `invalid-hash`, over-costly `hash-too-costly`, unsalted without the
//!   flag `unsalted-hash`, legacy under `LegacyHashes::Refuse` `legacy-hash-refused`
//!   ([`ValidationOptions::hash_policy`], [`password::check_hash_with`], `registrar-hashes`).
//! - **No secret in a message**: messages never contain a password or a hash, and in the
//!   users file no raw cell value is echoed at all (a value in the wrong column may be a
//!   password); other files quote the offending value (`'carol@school' is not a valid email`).
//! - **Values as SIS exports write them** (docs/values.md): `is_active` also takes
//!   `active`/`inactive` and `enabled`/`disabled` ([`parse::is_active`]); attendance `tardy` is
//!   late; an ISO date-time is its date as written, time and offset dropped
//!   ([`parse::date_str`]); slash dates only with [`ValidationOptions::date_order`]
//!   ([`parse::date_in`]); course codes with spaces are normalised by
//!   [`parse::normalize_course_code`] in every file, with a `course-code-normalized` warning
//!   (first row of each file and spelling); half credits are refused saying why.
//! - **No password** (`ValidationOptions::missing_password`, `--missing-password`): unless
//!   `Error`, a users file needs neither `password` nor `password_hash`, and a row with
//!   neither is valid (the importer gives the new account a marker or a generated password).
//! - **Spreadsheet error cells** (`#N/A`) get the column's own code (`invalid-date`,
//!   `invalid-number`, ...; `missing-value` for free text) and a message naming the error.
//!
//! # Which rules use the `validator` crate
//! The [`validator`](https://docs.rs/validator) crate (not to be confused with this crate's
//! private `validator` module, the validation pass) checks these rules exactly as SPEC §2 does,
//! so they use it, with our issue codes and messages on top (reports are unchanged, byte for
//! byte; `parse`'s and `password`'s unit tests pin them):
//! - **Lengths**, in characters (`ValidateLength`): first and last name, course name,
//!   description, semester and assessment (counted after NFC, see [`parse::text`]), and the
//!   password policy's 8 to 128 characters.
//! - **Ranges**, both ends inclusive (`ValidateRange`): `credits` 0 to 20 and `score` 0 to 100
//!   ([`parse::integer`], [`parse::number`]), on a value already known to be a finite number.
//!
//! These stay hand-written, and why:
//! - **Email syntax** ([`parse::email`]). The crate's `validate_email` (the HTML5 form rule)
//!   differs from SPEC §2 both ways. It accepts what SPEC §2 refuses: a domain without a dot
//!   (`ann@localhost`), IP literals (`ann@[127.0.0.1]`), misplaced dots in the local part
//!   (`.ann@`, `ann..lee@`), 255 characters. And it refuses what SPEC §2 and Registrar accept
//!   today: a non-ASCII local part (`josé@école.fr`) and a domain label longer than 63
//!   characters. It also maps the domain through IDNA, which silently drops a zero-width space
//!   that ours reports as `invalid-character`. So it can be neither the rule nor a first check
//!   in front of ours without changing which rows pass. It would cost speed too (two regexes,
//!   an allocation and an IDNA pass per address, against one pass over a byte table; the users
//!   file parses every email). `parse`'s test `email_rule_against_the_validator_crate` runs
//!   both on a table of tricky inputs and pins where they differ.
//! - **Course codes** (`^[A-Z][A-Z0-9_.-]{0,19}$`): the length is part of a pattern whose
//!   messages say which part failed; `ValidateRegex` would put a regex where a byte loop is.
//! - **Dates, booleans, numbers written as text and the enumerations** (roles, statuses,
//!   letter grades): the crate has no rule for them.
//! - **`#[derive(Validate)]` on the model's record types** is not used: the rules run on the
//!   cells as read, before a record exists, and give each problem its own code, column and
//!   message. The derive checks a built struct and reports string codes by field name, so every
//!   row would have to be built first and the codes mapped back; it would also put the crate
//!   (and its proc macros) under `registrar-model`, which depends on serde alone.
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
use registrar_model::{
    Entity, Issue, NaturalKey, OnExisting, Record, Report, RowChange, RowSource, Value,
};

pub mod mapping;
pub mod parse;
pub mod password;
mod validator;

pub use self::validator::{
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
    /// Compare passwords of rows already in the database too (`--update-passwords`); without
    /// it an existing account's password is never changed, whatever the file says.
    pub update_passwords: bool,
    /// What the users file's `password_hash` accepts: legacy hashes kept, flagged or refused
    /// (`--legacy-hashes`), unsalted hex digests or not (`--accept-unsalted-hashes`). See
    /// [`password::check_hash_with`].
    pub hash_policy: registrar_hashes::HashPolicy,
    /// What the site's export calls things (`--mapping FILE.toml`): column renames, value maps,
    /// rows to skip and defaults. See [`mapping`].
    pub mapping: Option<std::sync::Arc<mapping::Mapping>>,
    /// What a user row with neither `password` nor `password_hash` does
    /// (`--missing-password`): an error (the default), or a valid row whose account the
    /// importer stores without a usable password or with a generated one. Unless `Error`, a
    /// users file may leave out both password columns.
    pub missing_password: registrar_model::MissingPassword,
    /// How dates written with slashes are read (`--date-order mdy|dmy`); `None` refuses them
    /// (see [`parse::date_in`]).
    pub date_order: Option<parse::DateOrder>,
    /// Read and validate each file on one thread. By default, when the machine has more than
    /// one core, a file is read (parsed into rows) on a second thread while this one validates
    /// the rows already read; the report, the outcomes and their order are the same either
    /// way.
    pub sequential: bool,
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
        /// What it does to the database: new, unchanged, changed (with
        /// `OnExisting::Update`) or skipped (with `OnExisting::Skip`); with `OnExisting::Error`
        /// a row that differs from the stored one is invalid (`already-exists`).
        change: RowChange,
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

    /// The database rows of `entity` that no row of the files validated so far named: what a
    /// sync removes. Each comes with whether an earlier import created or last changed it
    /// (rows of unknown origin are kept unless `--sync-all`). Sorted by key.
    pub fn unclaimed(&self, entity: Entity) -> Vec<(NaturalKey, bool)> {
        self.inner.unclaimed(entity)
    }

    /// The column each header cell of an `entity` file names, as this pass resolves it (a
    /// rename of the mapping file, the column's own name, a built-in alias; see [`mapping`]);
    /// `None` for a cell that names no column. The rejects writer finds the password columns
    /// by it.
    pub fn columns_of(&self, entity: Entity, headers: &[String]) -> Vec<Option<&'static str>> {
        let m = self.inner.mapping().map(|m| m.entity(entity));
        headers
            .iter()
            .map(|h| mapping::resolve_header(entity, h, m).map(|(c, _)| c))
            .collect()
    }
}
