//! Issues (data problems) and their positions.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious an [`Issue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row (or file) cannot be imported as it is.
    Error,
    /// Worth a look, but does not stop an import.
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! issue_codes {
    ($( $(#[$doc:meta])* $variant:ident => $s:literal, )*) => {
        /// A stable issue code (SPEC §3). Codes are never renamed; new ones may be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum IssueCode {
            $( $(#[$doc])* $variant, )*
        }

        impl IssueCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [IssueCode] = &[ $( IssueCode::$variant, )* ];

            /// The kebab-case code as it appears in reports (`"invalid-email"`).
            pub fn as_str(self) -> &'static str {
                match self { $( IssueCode::$variant => $s, )* }
            }

            /// Parses a kebab-case code.
            pub fn parse(s: &str) -> Option<IssueCode> {
                match s { $( $s => Some(IssueCode::$variant), )* _ => None }
            }
        }
    };
}

issue_codes! {
    /// The file could not be opened or read.
    UnreadableFile => "unreadable-file",
    /// The file's extension is not one Registrar reads.
    UnsupportedFormat => "unsupported-format",
    /// The text is not valid in the expected encoding.
    InvalidEncoding => "invalid-encoding",
    /// A required column is missing from the header.
    MissingColumn => "missing-column",
    /// The same column appears twice in the header.
    DuplicateColumn => "duplicate-column",
    /// Two files in the data folder have the same stem.
    DuplicateFile => "duplicate-file",
    /// The file as a whole cannot be parsed (broken JSON, broken spreadsheet, limit exceeded).
    MalformedFile => "malformed-file",
    /// A row cannot be parsed (field count differs from the header, unbalanced quote, nested JSON value).
    MalformedRow => "malformed-row",
    /// A required value is empty.
    MissingValue => "missing-value",
    /// Not a valid email address.
    InvalidEmail => "invalid-email",
    /// The password does not meet the policy.
    WeakPassword => "weak-password",
    /// `password_hash` is not a well-formed hash of a supported scheme (argon2, bcrypt,
    /// SHA-crypt, MD5-crypt, SSHA, Django PBKDF2, hex MD5/SHA-1).
    InvalidHash => "invalid-hash",
    /// Not one of admin, teacher, student, viewer.
    InvalidRole => "invalid-role",
    /// Not a boolean (true/false, yes/no, y/n, 1/0).
    InvalidBoolean => "invalid-boolean",
    /// Not a number (or not an integer where one is needed).
    InvalidNumber => "invalid-number",
    /// A number outside its allowed range.
    OutOfRange => "out-of-range",
    /// Not a valid date.
    InvalidDate => "invalid-date",
    /// Not a valid course code.
    InvalidCode => "invalid-code",
    /// Not an allowed status.
    InvalidStatus => "invalid-status",
    /// Not an allowed letter grade.
    InvalidGrade => "invalid-grade",
    /// A text value is longer than allowed.
    TooLong => "too-long",
    /// The row's key was already used by an earlier valid row.
    DuplicateKey => "duplicate-key",
    /// The email matches the training-account pattern.
    TrainingAccount => "training-account",
    /// The student email names no (valid) user.
    UnknownStudent => "unknown-student",
    /// The user named is not a student.
    NotAStudent => "not-a-student",
    /// The course code names no (valid) course.
    UnknownCourse => "unknown-course",
    /// The student is not enrolled in the course.
    NotEnrolled => "not-enrolled",
    /// The row's key already exists in the database.
    AlreadyExists => "already-exists",
    /// A column Registrar does not know; it is ignored.
    UnknownColumn => "unknown-column",
    /// A data folder holds no users, courses, enrollments, grades or attendance file.
    NoDataFiles => "no-data-files",
    /// A text value holds a NUL byte or another control character, or an email holds an
    /// invisible format character (zero-width space, bidi control).
    InvalidCharacter => "invalid-character",
    /// A password begins or ends with whitespace; it is kept exactly as written (a warning).
    PasswordWhitespace => "password-whitespace",
    /// A sync or update would remove or change more than `--max-changes` percent of an
    /// entity's rows; nothing is written until the operator approves it.
    TooManyChanges => "too-many-changes",
    /// `--sync-all` would remove rows that no Registrar import made (made by hand in the SMS,
    /// the adopted database's own); nothing is written without `--yes`.
    UnknownOrigin => "unknown-origin",
    /// A sync removes nothing of an entity whose file was not read completely and cleanly (a
    /// warning: the rows stay).
    SyncIncomplete => "sync-incomplete",
    /// `password_hash` is a legacy (non-argon2id or below-policy) hash and the run was given
    /// `--legacy-hashes refuse`.
    LegacyHashRefused => "legacy-hash-refused",
    /// `password_hash`'s work factor is beyond Registrar's caps (bcrypt cost > 16, PBKDF2 or
    /// SHA-crypt rounds, argon2 memory or time): verifying it would take too long, so it is
    /// refused.
    HashTooCostly => "hash-too-costly",
    /// `password_hash` is a bare hex MD5 / SHA-1 digest without a salt: an error unless the run
    /// was given `--accept-unsalted-hashes`, then a warning (the account is kept, and should
    /// be reset).
    UnsaltedHash => "unsalted-hash",
    /// Rows not imported on purpose: a mapping file maps their value to `"skip"`, or a
    /// OneRoster bundle holds records Registrar has no place for (guardian accounts,
    /// exempt results; teacher enrollments kept as teacher links). One warning per column
    /// and value, with the count and the first row.
    SkippedByMapping => "skipped-by-mapping",
    /// A OneRoster bundle lacks a file that its manifest lists as `bulk` or `delta`, or that
    /// the specification requires (`manifest.csv` itself, `orgs.csv` with users or classes).
    MissingFile => "missing-file",
    /// A OneRoster `manifest.csv` is broken: a required property is missing, a value is not
    /// one the specification allows (`file.X` must be `bulk`, `delta` or `absent`), or the
    /// `oneroster.version` is not 1.1 or 1.2.
    InvalidManifest => "invalid-manifest",
    /// The columns of a OneRoster file are not in the specification's order (a warning: the
    /// columns are read by name).
    ColumnOrder => "column-order",
    /// A value is not in the OneRoster vocabulary of its column (a role, a status, a session
    /// or org type, `true`/`false`).
    InvalidVocabulary => "invalid-vocabulary",
    /// A OneRoster sourcedId that a file references but no file of the bundle defines.
    UnknownReference => "unknown-reference",
    /// A file of a OneRoster bundle that Registrar does not use (demographics, resources,
    /// categories ...) or that the manifest marks `absent`: listed, not read (a warning).
    IgnoredFile => "ignored-file",
    /// A course code written with spaces (`Phys 100 - 1`) was normalised by the documented
    /// rule (`registrar_rules::parse::normalize_course_code`: `PHYS-100-1`); a warning naming
    /// the original and the result.
    CourseCodeNormalized => "course-code-normalized",
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for IssueCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for IssueCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        IssueCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown issue code {s:?}")))
    }
}

/// Where a value came from, as a person sees it.
///
/// `row` counts from 1: for CSV/TSV the physical line where the record starts (the header is
/// line 1); for spreadsheets the sheet's own row number; for a JSON array the 1-based position
/// of the object; for NDJSON the line number. `column` is the header name, when one applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Position {
    /// The file name as given (for a data folder: the file name without the folder).
    pub file: String,
    /// The sheet name, for spreadsheets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The row, counting from 1 as a person sees it; `None` for file-level problems.
    pub row: Option<u64>,
    /// The column (header name), when one applies.
    pub column: Option<String>,
}

/// One data problem: a stable code, a severity, where it is, and a message a school
/// administrator can act on. Messages never contain a password or a password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: IssueCode,
    /// The file name as given.
    pub file: String,
    /// The row (see [`Position`]); `None` for file-level issues.
    pub row: Option<u64>,
    /// The column (header name), when one applies.
    pub column: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Issue {
    /// An issue with the given severity.
    pub fn new(
        severity: Severity,
        code: IssueCode,
        file: impl Into<String>,
        row: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Issue {
        Issue {
            severity,
            code,
            file: file.into(),
            row,
            column: column.map(str::to_owned),
            message: message.into(),
        }
    }

    /// An error.
    pub fn error(
        code: IssueCode,
        file: impl Into<String>,
        row: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Issue {
        Issue::new(Severity::Error, code, file, row, column, message)
    }

    /// A warning.
    pub fn warning(
        code: IssueCode,
        file: impl Into<String>,
        row: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Issue {
        Issue::new(Severity::Warning, code, file, row, column, message)
    }

    /// An issue at a [`Position`].
    pub fn at(
        severity: Severity,
        code: IssueCode,
        pos: &Position,
        message: impl Into<String>,
    ) -> Issue {
        Issue {
            severity,
            code,
            file: pos.file.clone(),
            row: pos.row,
            column: pos.column.clone(),
            message: message.into(),
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// True for an error about a file as a whole rather than one row: the file (or part of
    /// it) could not be read, or its header cannot be used (`missing-column`,
    /// `duplicate-column`, `duplicate-file`, `no-data-files`, `unsupported-format`,
    /// `unreadable-file`, and `invalid-encoding` / `malformed-file` even when they name the
    /// line where reading stopped). Every error without a row is file-level too.
    ///
    /// `--skip-invalid` skips invalid rows, never unread ones: a run with a file-level error
    /// writes nothing and fails.
    pub fn is_file_level(&self) -> bool {
        self.is_error() && (self.row.is_none() || self.code.is_file_level())
    }
}

impl IssueCode {
    /// True for the codes that are always about a file as a whole (see
    /// [`Issue::is_file_level`]).
    pub fn is_file_level(self) -> bool {
        matches!(
            self,
            IssueCode::UnreadableFile
                | IssueCode::UnsupportedFormat
                | IssueCode::InvalidEncoding
                | IssueCode::MissingColumn
                | IssueCode::DuplicateColumn
                | IssueCode::DuplicateFile
                | IssueCode::MalformedFile
                | IssueCode::NoDataFiles
                | IssueCode::MissingFile
                | IssueCode::InvalidManifest
        )
    }
}

impl fmt::Display for Issue {
    /// `users.csv:4 email: error[invalid-email] message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(row) = self.row {
            write!(f, ":{row}")?;
        }
        if let Some(col) = &self.column {
            write!(f, " {col}")?;
        }
        write!(f, ": {}[{}] {}", self.severity, self.code, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in IssueCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(IssueCode::parse(code.as_str()), Some(*code));
        }
        assert_eq!(IssueCode::ALL.len(), 46);
    }

    #[test]
    fn file_level_errors_include_a_read_that_stopped_mid_file() {
        let mid = Issue::error(IssueCode::InvalidEncoding, "u.csv", Some(7), None, "x");
        assert!(mid.is_file_level());
        let row = Issue::error(IssueCode::InvalidEmail, "u.csv", Some(7), None, "x");
        assert!(!row.is_file_level());
        let header = Issue::error(IssueCode::MissingColumn, "u.csv", None, Some("email"), "x");
        assert!(header.is_file_level());
        let warning = Issue::warning(IssueCode::UnknownColumn, "u.csv", None, None, "x");
        assert!(!warning.is_file_level());
    }

    #[test]
    fn display_matches_spec() {
        let i = Issue::error(
            IssueCode::InvalidEmail,
            "users.csv",
            Some(4),
            Some("email"),
            "bad",
        );
        assert_eq!(i.to_string(), "users.csv:4 email: error[invalid-email] bad");
        let j = serde_json::to_value(&i).unwrap();
        assert_eq!(j["code"], "invalid-email");
        assert_eq!(j["severity"], "error");
        assert_eq!(j["row"], 4);
    }
}
