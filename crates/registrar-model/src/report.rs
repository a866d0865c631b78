//! The report of a run (SPEC §3).

use crate::{Entity, Issue, IssueCode, Severity};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of run produced a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `registrar validate` or `import --validate`: nothing is written.
    Validate,
    /// `import --execute`.
    Execute,
    /// `migrate --validate`.
    MigrateValidate,
    /// `migrate --execute`.
    MigrateExecute,
}

impl Mode {
    /// The kebab-case name (`"validate"`, `"execute"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Validate => "validate",
            Mode::Execute => "execute",
            Mode::MigrateValidate => "migrate-validate",
            Mode::MigrateExecute => "migrate-execute",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSummary {
    /// The file name as given.
    pub file: String,
    /// The entity it holds.
    pub entity: Entity,
    /// The format read (`"csv"`, `"tsv"`, `"xlsx"`, `"xls"`, `"ods"`, `"json"`, `"ndjson"`).
    pub format: String,
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// Rows without errors.
    pub valid: u64,
    /// Rows with at least one error.
    pub invalid: u64,
    /// Rows inserted into the database.
    pub inserted: u64,
    /// Rows that updated an existing database row.
    pub updated: u64,
    /// Rows skipped because their key was already in the database.
    pub skipped: u64,
    /// Rows the database already holds with the same values: nothing written.
    #[serde(default)]
    pub unchanged: u64,
    /// Rows the mapping file says to skip (`value = "skip"`): read, neither valid nor invalid,
    /// never written.
    #[serde(default)]
    pub excluded: u64,
}

impl FileSummary {
    /// An empty summary for a file.
    pub fn new(file: impl Into<String>, entity: Entity, format: impl Into<String>) -> FileSummary {
        FileSummary {
            file: file.into(),
            entity,
            format: format.into(),
            rows: 0,
            valid: 0,
            invalid: 0,
            inserted: 0,
            updated: 0,
            skipped: 0,
            unchanged: 0,
            excluded: 0,
        }
    }
}

/// Most issues a report keeps per file and code; the rest are only counted
/// ([`Report::suppressed`]), so a file of millions of broken rows costs bounded memory and a
/// report of bounded size.
pub const MAX_ISSUES_PER_FILE_AND_CODE: usize = 1_000;

/// Issues of one file and code beyond the first [`MAX_ISSUES_PER_FILE_AND_CODE`]: counted,
/// not listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressedIssues {
    /// The file name as given.
    pub file: String,
    /// The code of the issues left out.
    pub code: IssueCode,
    /// Their severity.
    pub severity: Severity,
    /// How many were left out (after the first [`MAX_ISSUES_PER_FILE_AND_CODE`] listed).
    pub count: u64,
}

/// What a sync removed of one entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRemoved {
    /// The entity.
    pub entity: Entity,
    /// Rows removed: enrollments, grades and attendance deleted, users deactivated, courses
    /// set inactive (0 when the run did not commit).
    pub removed: u64,
    /// Rows the export no longer holds that were kept because no import made them (made by
    /// hand in the SMS, the adopted database's own, the training data); `--sync-all` removes
    /// them too.
    pub kept_unknown_origin: u64,
}

/// The result of a validation or import run: per-file counts and every issue.
///
/// Serialises to the JSON of SPEC §3, plus `suppressed` when a file has more than
/// [`MAX_ISSUES_PER_FILE_AND_CODE`] issues of one code (only the first ones are listed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The kind of run.
    pub mode: Mode,
    /// True when there is no error-severity issue.
    pub ok: bool,
    /// One entry per input file, in import order.
    pub files: Vec<FileSummary>,
    /// Every issue, in the order found (at most [`MAX_ISSUES_PER_FILE_AND_CODE`] per file and
    /// code: see `suppressed`).
    pub issues: Vec<Issue>,
    /// Per file and code, how many issues beyond the first [`MAX_ISSUES_PER_FILE_AND_CODE`]
    /// were counted but not listed. Absent from the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<SuppressedIssues>,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// With `--sync`: per entity, the rows the export no longer holds that were removed
    /// (deleted or deactivated), and those kept because no import made them. Absent from the
    /// JSON when the run did not sync.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<EntityRemoved>,
    /// The `password_hash` values of the users file's valid rows: accounts per hash scheme,
    /// legacy ones, and (with `--legacy-hashes reset`) accounts flagged. Absent from the JSON
    /// when no row gave a hash.
    #[serde(default, skip_serializing_if = "HashCounts::is_empty")]
    pub password_hashes: HashCounts,
    /// Teacher and aide links written (`registrar_course_teachers`, from a OneRoster bundle's
    /// teacher enrollments). Absent from the JSON when none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub teacher_links: u64,
    /// The users that had neither a password nor a hash, under `--missing-password reset` or
    /// `generate`: accounts stored without a usable password, and accounts given a generated
    /// temporary password. Absent from the JSON when there were none.
    #[serde(default, skip_serializing_if = "MissingPasswordCounts::is_empty")]
    pub missing_passwords: MissingPasswordCounts,
    /// Issues pushed so far per (file, code).
    #[serde(skip)]
    seen: std::collections::HashMap<(String, IssueCode), usize>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The pre-hashed passwords of a run ([`Report::password_hashes`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HashCounts {
    /// Valid user rows per scheme of their `password_hash` (`argon2id`, `bcrypt`,
    /// `sha512-crypt`, `ssha`, `django-pbkdf2-sha256`, `md5-hex`, …).
    pub schemes: std::collections::BTreeMap<String, u64>,
    /// Of those, the rows whose hash is legacy (any scheme but argon2id at Registrar's policy):
    /// kept and upgraded to argon2id at the first login, unless the run refused them.
    pub legacy: u64,
    /// Accounts the run flagged `password_reset_required` because of their legacy hash
    /// (`--legacy-hashes reset`, execute runs).
    #[serde(default)]
    pub reset_required: u64,
}

/// What a run did with the users that had no password ([`Report::missing_passwords`]). Never
/// holds a password.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MissingPasswordCounts {
    /// New accounts stored without a usable password ([`MissingPassword::Reset`]) and flagged
    /// `password_reset_required` (in validate runs: the accounts that would be).
    #[serde(default)]
    pub no_password: u64,
    /// New accounts given a generated temporary password ([`MissingPassword::Generate`]),
    /// written to the credentials file, and flagged `password_reset_required`.
    #[serde(default)]
    pub generated: u64,
}

impl MissingPasswordCounts {
    /// True when no account lacked a password.
    pub fn is_empty(&self) -> bool {
        self.no_password == 0 && self.generated == 0
    }
}

impl HashCounts {
    /// True when no row gave a hash.
    pub fn is_empty(&self) -> bool {
        self.schemes.is_empty() && self.legacy == 0 && self.reset_required == 0
    }

    /// Counts one hash of `scheme`.
    pub fn count(&mut self, scheme: &str, legacy: bool) {
        *self.schemes.entry(scheme.to_owned()).or_default() += 1;
        self.legacy += u64::from(legacy);
    }
}

impl Report {
    /// An empty, ok report.
    pub fn new(mode: Mode) -> Report {
        Report {
            mode,
            ok: true,
            files: Vec::new(),
            issues: Vec::new(),
            suppressed: Vec::new(),
            duration_ms: 0,
            removed: Vec::new(),
            password_hashes: HashCounts::default(),
            teacher_links: 0,
            missing_passwords: MissingPasswordCounts::default(),
            seen: std::collections::HashMap::new(),
        }
    }

    /// Adds an issue (and clears `ok` for an error). Beyond the first
    /// [`MAX_ISSUES_PER_FILE_AND_CODE`] of its file and code it is only counted in
    /// [`Report::suppressed`].
    pub fn push(&mut self, issue: Issue) {
        if issue.severity == Severity::Error {
            self.ok = false;
        }
        let seen = self
            .seen
            .entry((issue.file.clone(), issue.code))
            .or_insert(0);
        *seen += 1;
        if *seen <= MAX_ISSUES_PER_FILE_AND_CODE {
            self.issues.push(issue);
            return;
        }
        match self
            .suppressed
            .iter_mut()
            .find(|s| s.file == issue.file && s.code == issue.code && s.severity == issue.severity)
        {
            Some(s) => s.count += 1,
            None => self.suppressed.push(SuppressedIssues {
                file: issue.file,
                code: issue.code,
                severity: issue.severity,
                count: 1,
            }),
        }
    }

    /// True when no issue is an error (the suppressed ones included).
    pub fn is_ok(&self) -> bool {
        !self.issues.iter().any(Issue::is_error)
            && !self
                .suppressed
                .iter()
                .any(|s| s.severity == Severity::Error)
    }

    /// True when an error is about a file as a whole ([`Issue::is_file_level`]): something
    /// was not read, so `--skip-invalid` cannot make the run a success.
    pub fn has_file_level_errors(&self) -> bool {
        self.issues.iter().any(Issue::is_file_level)
            || self
                .suppressed
                .iter()
                .any(|s| s.severity == Severity::Error && s.code.is_file_level())
    }

    /// Number of error-severity issues, the suppressed ones included.
    pub fn error_count(&self) -> usize {
        self.issues.iter().filter(|i| i.is_error()).count() + self.suppressed_of(Severity::Error)
    }

    /// Number of warnings, the suppressed ones included.
    pub fn warning_count(&self) -> usize {
        self.issues.iter().filter(|i| !i.is_error()).count() + self.suppressed_of(Severity::Warning)
    }

    fn suppressed_of(&self, severity: Severity) -> usize {
        self.suppressed
            .iter()
            .filter(|s| s.severity == severity)
            .map(|s| s.count as usize)
            .sum()
    }

    /// The summary for a file name, if present.
    pub fn file(&self, name: &str) -> Option<&FileSummary> {
        self.files.iter().find(|f| f.file == name)
    }

    /// Recomputes `ok` from the issues.
    pub fn finish(&mut self) {
        self.ok = self.is_ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IssueCode;

    #[test]
    fn json_shape_matches_spec() {
        let mut r = Report::new(Mode::Validate);
        r.files
            .push(FileSummary::new("users.csv", Entity::Users, "csv"));
        r.push(Issue::error(
            IssueCode::InvalidEmail,
            "users.csv",
            Some(4),
            Some("email"),
            "x",
        ));
        r.push(Issue::warning(
            IssueCode::UnknownColumn,
            "users.csv",
            None,
            Some("nick"),
            "y",
        ));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["mode"], "validate");
        assert_eq!(v["ok"], false);
        assert_eq!(v["files"][0]["entity"], "users");
        for k in [
            "file", "entity", "format", "rows", "valid", "invalid", "inserted", "updated",
            "skipped",
        ] {
            assert!(v["files"][0].get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["issues"][1]["severity"], "warning");
        assert!(v["issues"][1]["row"].is_null());
        assert!(v.get("duration_ms").is_some());
        assert_eq!(r.error_count(), 1);
        assert_eq!(r.warning_count(), 1);
        assert!(
            v.get("suppressed").is_none(),
            "absent when nothing is left out"
        );
    }

    #[test]
    fn issues_are_capped_per_file_and_code() {
        let mut r = Report::new(Mode::Validate);
        let e = |file: &str, code, row| Issue::error(code, file, Some(row), None, "x");
        for row in 0..2_500 {
            r.push(e("a.csv", IssueCode::MalformedRow, row));
        }
        for row in 0..10 {
            r.push(e("a.csv", IssueCode::InvalidEmail, row));
            r.push(e("b.csv", IssueCode::MalformedRow, row));
        }
        assert_eq!(r.issues.len(), MAX_ISSUES_PER_FILE_AND_CODE + 20);
        assert_eq!(
            r.suppressed,
            [SuppressedIssues {
                file: "a.csv".into(),
                code: IssueCode::MalformedRow,
                severity: Severity::Error,
                count: 1_500,
            }]
        );
        assert_eq!(r.error_count(), 2_520);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["suppressed"][0]["count"], 1_500);
        assert_eq!(v["suppressed"][0]["code"], "malformed-row");
        assert!(!r.is_ok());
    }
}

/// What a row whose natural key is already in the database does (`--on-existing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnExisting {
    /// Report it as `already-exists` (the default).
    #[default]
    Error,
    /// Leave the database row as it is and count the row as skipped.
    Skip,
    /// Update the database row's other columns.
    Update,
}

/// What a user row with neither `password` nor `password_hash` does (`--missing-password`):
/// real exports from an SIS hold no passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPassword {
    /// The row is an error (`missing-value`), and a users file needs a `password` or
    /// `password_hash` column (the default).
    #[default]
    Error,
    /// The account is stored with no usable password (a marker no verifier accepts) and
    /// flagged `password_reset_required`: nobody can log in until an administrator or the
    /// SMS's reset flow sets one.
    Reset,
    /// The account gets a strong random temporary password, hashed like any other, written
    /// once to a credentials file (0600) and flagged `password_reset_required`.
    Generate,
}

impl MissingPassword {
    /// `"error"`, `"reset"` or `"generate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MissingPassword::Error => "error",
            MissingPassword::Reset => "reset",
            MissingPassword::Generate => "generate",
        }
    }

    /// The policy named `s` (as [`MissingPassword::as_str`] spells it).
    pub fn parse(s: &str) -> Option<MissingPassword> {
        match s {
            "error" => Some(MissingPassword::Error),
            "reset" => Some(MissingPassword::Reset),
            "generate" => Some(MissingPassword::Generate),
            _ => None,
        }
    }

    /// True unless [`MissingPassword::Error`]: a users file may then leave out both
    /// password columns.
    pub fn passwords_optional(self) -> bool {
        self != MissingPassword::Error
    }
}

impl OnExisting {
    /// `"error"`, `"skip"` or `"update"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OnExisting::Error => "error",
            OnExisting::Skip => "skip",
            OnExisting::Update => "update",
        }
    }
}
