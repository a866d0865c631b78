//! Integrity checks, count verification, statistics and login verification for Registrar
//! (SPEC §7 and the runbook's Phase 3 and 4).
//!
//! This crate owns the checks' logic: which checks there are, their names, what passes, what
//! each result says, how logins are sampled and verified, the password policy of a change. It
//! reads and writes the database only through the narrow methods of
//! [`registrar_db::inspect`] (counts, sizes, password hashes), so it names no pool, holds no SQL
//! and runs the same on every engine registrar-db supports. It reads no files either: the facade's
//! `registrar::verify_logins` reads a users file and hands its rows to [`verify_credentials`].
//!
//! # Brief overview
//! - [`run_checks`] runs every integrity check as one set-based count each (nothing is
//!   loaded into memory) and, with [`Expectations`], one count check per expected count;
//!   [`run_checks_on`] does the same inside a caller's transaction.
//! - [`stats`] gives counts per role and per table and the size of the database and its tables.
//! - [`verify_credentials`] checks a sample of [`Credential`]s (email, password) against the
//!   stored hashes.
//! - [`set_password`] and [`force_password_reset`] are the runbook's account lock-down.
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use registrar_checks::{run_checks, verify_credentials, Credential};
//! use registrar_model::Password;
//!
//! let db = registrar_db::Database::open("sqlite::memory:").await?;
//! let results = run_checks(&db, &"courses=0".parse()?).await?;
//! assert!(results.iter().all(|c| c.passed));
//!
//! registrar_db::seed::seed_training(&db).await?;
//! let logins = [("admin1@school.edu", "AdminPass123!"), ("admin2@school.edu", "wrong")];
//! let credentials = logins.iter().enumerate().map(|(i, (email, password))| Credential {
//!     row: i as u64 + 2,
//!     email: email.to_string(),
//!     password: Password::new(*password),
//! });
//! let report = verify_credentials(&db, credentials, None).await?;
//! assert_eq!((report.checked, report.passed), (2, 1));
//! assert_eq!(report.failed[0].email, "admin2@school.edu");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
#![deny(missing_docs)]

mod accounts;
mod hashes;
mod stats;

pub use accounts::{
    count_without_password, force_password_reset, force_password_reset_on, set_password,
    verify_credentials, Credential, LoginFailure, LoginReport, NOT_SHOWN,
};
pub use hashes::{hash_census_on, HashCensus};
pub use stats::{stats, Stats, TableStats};

use registrar_db::inspect::{self, Count};
use registrar_db::{Conn, Database};
use registrar_model::{EmailPattern, Role};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The training-account pattern the `training-accounts-left` check looks for.
pub const TRAINING_PATTERN: &str = registrar_db::clean::DEFAULT_PATTERN;

/// Errors of this crate. A failed check is a [`CheckResult`] with `passed: false`, not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database layer failed.
    #[error(transparent)]
    Db(#[from] registrar_db::Error),
    /// An `--expect` list could not be parsed; the message shows the expected form.
    #[error(
        "invalid expectation {0:?}: use students=N,teachers=N,admins=N,courses=N,enrollments=N"
    )]
    InvalidExpectation(String),
    /// A step refused to run (wrong current password, weak new password, unknown user; the
    /// facade's `verify_logins`: a users file without the needed columns); the message says
    /// why and never holds a password.
    #[error("{0}")]
    Refused(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// Stable kebab-case name (`orphaned-enrollments`, `expected-students`, ...).
    pub name: String,
    /// The number of offending rows (for a count check: the actual count).
    pub count: i64,
    /// Whether the check passed.
    pub passed: bool,
    /// One sentence on what was checked and, on failure, what to look at.
    pub detail: String,
}

/// Expected counts (`--expect students=N,teachers=N,admins=N,courses=N,enrollments=N`); each
/// given one becomes a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expectations {
    /// Users with role student.
    pub students: Option<i64>,
    /// Users with role teacher.
    pub teachers: Option<i64>,
    /// Users with role admin.
    pub admins: Option<i64>,
    /// Courses.
    pub courses: Option<i64>,
    /// Enrollments.
    pub enrollments: Option<i64>,
}

impl FromStr for Expectations {
    type Err = Error;

    /// Parses `students=500,teachers=30` (names case-insensitive, spaces allowed, any subset).
    fn from_str(s: &str) -> Result<Expectations> {
        let mut e = Expectations::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| Error::InvalidExpectation(part.to_string()))?;
            let n: i64 = v
                .trim()
                .parse()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::InvalidExpectation(part.to_string()))?;
            let slot = match k.trim().to_ascii_lowercase().as_str() {
                "students" => &mut e.students,
                "teachers" => &mut e.teachers,
                "admins" => &mut e.admins,
                "courses" => &mut e.courses,
                "enrollments" => &mut e.enrollments,
                _ => return Err(Error::InvalidExpectation(part.to_string())),
            };
            *slot = Some(n);
        }
        Ok(e)
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:<32} {:>8}  {}",
            if self.passed { "PASS" } else { "FAIL" },
            self.name,
            self.count,
            self.detail
        )
    }
}

/// An integrity check: name, the count it reads (see [`registrar_db::inspect::Count`]; zero
/// passes), what it means.
const CHECKS: &[(&str, Count, &str)] = &[
    (
        "orphaned-enrollments",
        Count::OrphanedEnrollments,
        "enrollments whose student or course does not exist",
    ),
    (
        "orphaned-grades",
        Count::OrphanedGrades,
        "grades whose student or course does not exist",
    ),
    (
        "orphaned-attendance",
        Count::OrphanedAttendance,
        "attendance rows whose student or course does not exist",
    ),
    (
        "duplicate-emails",
        Count::DuplicateEmails,
        "email addresses held by more than one user (case-insensitive)",
    ),
    (
        "invalid-roles",
        Count::InvalidRoles,
        "users whose role is not admin, teacher, student or viewer",
    ),
    (
        "enrollments-of-non-students",
        Count::EnrollmentsOfNonStudents,
        "enrollments of users whose role is not student",
    ),
    (
        "grades-without-enrollment",
        Count::GradesWithoutEnrollment,
        "grades of a student in a course they are not enrolled in",
    ),
    (
        "attendance-without-enrollment",
        Count::AttendanceWithoutEnrollment,
        "attendance of a student in a course they are not enrolled in",
    ),
];

/// Options of [`run_checks_with`] beyond the expected counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckOptions {
    /// `--fail-on-legacy`: the `legacy-hashes-left` check fails while any account has a
    /// legacy hash (without it the check only reports them).
    pub fail_on_legacy: bool,
}

/// Runs every integrity check (in a fixed order) and one count check per expectation.
pub async fn run_checks(db: &Database, expect: &Expectations) -> Result<Vec<CheckResult>> {
    run_checks_with(db, expect, &CheckOptions::default()).await
}

/// [`run_checks`] with [`CheckOptions`] (`--fail-on-legacy`).
pub async fn run_checks_with(
    db: &Database,
    expect: &Expectations,
    options: &CheckOptions,
) -> Result<Vec<CheckResult>> {
    let mut pooled = db.acquire().await?;
    run_checks_on_with(pooled.conn(), expect, options).await
}

/// The `unfinished-runs` check (`registrar check` runs it after [`run_checks`]): fails while
/// `import_runs` holds a run that started and never finished (killed, or still going on),
/// naming each with its start time. The next `migrate --execute` or `import --execute` marks
/// such runs `interrupted` (see `registrar_db::audit`), and the check passes again.
pub async fn unfinished_runs_check(db: &Database) -> Result<CheckResult> {
    let runs = registrar_db::audit::unfinished_runs(db).await?;
    let n = runs.len() as i64;
    Ok(CheckResult {
        name: "unfinished-runs".into(),
        count: n,
        passed: n == 0,
        detail: if n == 0 {
            "no unfinished runs in the audit log".into()
        } else {
            format!(
                "{n} run(s) never finished: {}; see `registrar audit`, then re-run migrate \
                 (it marks them interrupted)",
                runs.iter()
                    .map(registrar_db::audit::describe_unfinished)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
    })
}

/// [`run_checks`] on `conn`, inside the caller's transaction (the runbook checks the data it
/// is about to commit, and rolls back instead when a check fails).
pub async fn run_checks_on(conn: Conn<'_>, expect: &Expectations) -> Result<Vec<CheckResult>> {
    run_checks_on_with(conn, expect, &CheckOptions::default()).await
}

/// [`run_checks_on`] with [`CheckOptions`].
pub async fn run_checks_on_with(
    mut conn: Conn<'_>,
    expect: &Expectations,
    options: &CheckOptions,
) -> Result<Vec<CheckResult>> {
    let conn = &mut conn;
    let mut out = Vec::new();
    for (name, what_count, what) in CHECKS {
        let n = inspect::count(conn, *what_count).await?;
        out.push(CheckResult {
            name: name.to_string(),
            count: n,
            passed: n == 0,
            detail: if n == 0 {
                format!("no {what}")
            } else {
                format!("{n} {what}")
            },
        });
    }
    // Stored passwords: a value that is no hash Registrar can verify locks its user out (the
    // check keeps its name from before issue 14, when only argon2 was accepted); legacy
    // hashes are reported, and fail only with --fail-on-legacy.
    let census = hashes::hash_census_on(conn).await?;
    out.push(CheckResult {
        name: "non-argon2-passwords".into(),
        count: census.unusable as i64,
        passed: census.unusable == 0,
        detail: if census.unusable == 0 && census.no_password > 0 {
            format!("no users whose stored password is neither an argon2 hash nor a legacy hash Registrar verifies ({} account(s) imported without a password wait for a reset, as --missing-password reset intends)", census.no_password)
        } else if census.unusable == 0 {
            "no users whose stored password is neither an argon2 hash nor a legacy hash Registrar verifies".into()
        } else {
            format!("{} users whose stored password is neither an argon2 hash nor a legacy hash Registrar verifies (empty, plain text, malformed or too costly); nobody can log in as them: import their passwords again or run `registrar force-password-reset`", census.unusable)
        },
    });
    let legacy_ok = census.legacy == 0 || !options.fail_on_legacy;
    out.push(CheckResult {
        name: "legacy-hashes-left".into(),
        count: census.legacy as i64,
        passed: legacy_ok,
        detail: if census.legacy == 0 {
            "no legacy password hashes left: every account is argon2id at the policy".into()
        } else {
            let per: Vec<String> = census
                .schemes
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            format!(
                "{} account(s) with a legacy password hash, upgraded to argon2id at their next login (accounts per scheme: {}){}",
                census.legacy,
                per.join(", "),
                if legacy_ok { "" } else { "; --fail-on-legacy makes this a failure" }
            )
        },
    });
    // Every stored email is matched with the model's training pattern (trimmed, ignoring
    // case), so the check means the same on both engines and finds what `clean` deletes
    // (`Admin1@School.edu`, ` admin1@school.edu`).
    let n = inspect::count_emails_matching(conn, EmailPattern::training()).await?;
    out.push(CheckResult {
        name: "training-accounts-left".into(),
        count: n,
        passed: n == 0,
        detail: if n == 0 {
            "no training accounts (admin1@school.edu ...) left".into()
        } else {
            format!(
                "{n} training account(s) matching {TRAINING_PATTERN} (ignoring case and surrounding spaces) left; run `registrar clean`"
            )
        },
    });
    // Nobody can administer a database that has users but no active admin (for example after
    // a clean-up whose import brought no admin). An empty database passes.
    let admins = inspect::count(conn, Count::ActiveAdmins).await?;
    let users = inspect::count(conn, Count::Users).await?;
    out.push(CheckResult {
        name: "active-admin".into(),
        count: admins,
        passed: admins > 0 || users == 0,
        detail: if admins > 0 || users == 0 {
            format!("{admins} active admin(s)")
        } else {
            "no active admin: nobody can administer the system; import or activate one".into()
        },
    });
    let expectations = [
        (
            "students",
            expect.students,
            Count::UsersWithRole(Role::Student),
        ),
        (
            "teachers",
            expect.teachers,
            Count::UsersWithRole(Role::Teacher),
        ),
        ("admins", expect.admins, Count::UsersWithRole(Role::Admin)),
        ("courses", expect.courses, Count::Courses),
        ("enrollments", expect.enrollments, Count::Enrollments),
    ];
    for (what, want, what_count) in expectations {
        let Some(want) = want else { continue };
        let n = inspect::count(conn, what_count).await?;
        out.push(CheckResult {
            name: format!("expected-{what}"),
            count: n,
            passed: n == want,
            detail: if n == want {
                format!("{n} {what}, as expected")
            } else {
                format!("{n} {what}, expected {want}")
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectations_parse() {
        let e: Expectations = "students=500, Teachers=30,admins=3,courses=50,enrollments=2500"
            .parse()
            .unwrap();
        assert_eq!(e.students, Some(500));
        assert_eq!(e.teachers, Some(30));
        assert_eq!(e.enrollments, Some(2500));
        let e: Expectations = "courses=2".parse().unwrap();
        assert_eq!(e.students, None);
        assert_eq!(e.courses, Some(2));
        assert!("pupils=3".parse::<Expectations>().is_err());
        assert!("students=-1".parse::<Expectations>().is_err());
        assert!("students".parse::<Expectations>().is_err());
        assert_eq!("".parse::<Expectations>().unwrap(), Expectations::default());
    }

    #[test]
    fn check_names_are_unique_kebab_case() {
        let mut names: Vec<_> = CHECKS.iter().map(|c| c.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CHECKS.len());
        assert!(names.iter().all(|n| n
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())));
    }
}
