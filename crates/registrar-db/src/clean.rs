//! Clean-up of the training data (SPEC §7): the training accounts and the sample courses, with
//! every enrollment, grade and attendance row that depends on them.
//!
//! [`plan`] is the dry run: it reports what [`execute`] would delete, and any reason it would
//! refuse. [`execute`] deletes it all in one transaction; [`execute_in`] does the same inside a
//! transaction the caller owns (the runbook of `registrar migrate`, whose clean-up, import and
//! lock-down commit together).
//!
//! The email pattern is a Rust regex evaluated over the stored emails (streamed; only the
//! matching ids are kept), so it means the same on both engines. It is matched as
//! [`registrar_model::EmailPattern`] matches: on the email without surrounding whitespace or
//! invisible characters, ignoring case, so `Admin1@School.edu` and ` admin1@school.edu` stored
//! by an SMS are training accounts like `admin1@school.edu`. Course codes are compared
//! case-insensitively. The ids to delete are put in temporary tables of the transaction and
//! the dependent rows are counted and deleted with set-based SQL.
//!
//! Without `force`, clean-up refuses ([`Error::Refused`]) to delete a listed course in which
//! users outside the pattern are enrolled, and to leave the database without an active admin.

use crate::{Conn, Database, Error, Result};
use futures::TryStreamExt;
use registrar_model::EmailPattern;
use serde::Serialize;
use sqlx::{Connection, Row};

/// The runbook's training-account pattern ([`registrar_model::TRAINING_EMAIL_PATTERN`]).
pub const DEFAULT_PATTERN: &str = registrar_model::TRAINING_EMAIL_PATTERN;
/// The runbook's sample course codes.
pub const DEFAULT_COURSE_CODES: [&str; 5] = ["CS101", "CS102", "WEB201", "DB301", "NET202"];

/// What to clean up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanOptions {
    /// A Rust regex over user emails (default [`DEFAULT_PATTERN`]), matched on the trimmed
    /// email, ignoring case.
    pub pattern: String,
    /// Course codes to delete (default [`DEFAULT_COURSE_CODES`]).
    pub course_codes: Vec<String>,
    /// Delete even when clean-up would remove real students' enrollments or the last active
    /// admin.
    pub force: bool,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            pattern: DEFAULT_PATTERN.to_string(),
            course_codes: DEFAULT_COURSE_CODES.iter().map(|c| c.to_string()).collect(),
            force: false,
        }
    }
}

/// What clean-up deleted (or, for a plan, would delete).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CleanReport {
    /// The emails of the users deleted, sorted.
    pub users: Vec<String>,
    /// The codes of the courses deleted, sorted.
    pub courses: Vec<String>,
    /// Enrollments deleted with them.
    pub enrollments: u64,
    /// Grades deleted with them.
    pub grades: u64,
    /// Attendance rows deleted with them.
    pub attendances: u64,
    /// Active admins that remain afterwards.
    pub active_admins_left: u64,
    /// Why clean-up refuses without `force` (empty when it does not).
    pub refusals: Vec<String>,
    /// True when the rows were deleted; false for a plan.
    pub executed: bool,
}

/// Reports what [`execute`] would delete (nothing is changed). Refusals are listed in
/// [`CleanReport::refusals`], not returned as errors.
pub async fn plan(db: &Database, o: &CleanOptions) -> Result<CleanReport> {
    run(db, o, false).await
}

/// Deletes the training users and sample courses with their dependent rows, in one
/// transaction. Returns [`Error::Refused`] (and changes nothing) when a refusal applies and
/// `force` is not set.
pub async fn execute(db: &Database, o: &CleanOptions) -> Result<CleanReport> {
    run(db, o, true).await
}

fn compile(o: &CleanOptions) -> Result<(EmailPattern, Vec<String>)> {
    let re = EmailPattern::new(&o.pattern).map_err(|e| {
        Error::Usage(format!(
            "the pattern {:?} is not a valid regex: {e}",
            o.pattern
        ))
    })?;
    let codes = o
        .course_codes
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    Ok((re, codes))
}

// The SQL below is the same on both engines (temporary tables `registrar_clean_users` /
// `registrar_clean_courses` hold the ids).
const COUNT_ENROLLMENTS: &str = "SELECT COUNT(*) FROM enrollments WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)";
const COUNT_GRADES: &str = "SELECT COUNT(*) FROM grades WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)";
const COUNT_ATTENDANCES: &str = "SELECT COUNT(*) FROM attendances WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)";
const ADMINS_LEFT: &str = "SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active AND id NOT IN (SELECT id FROM registrar_clean_users)";
const OUTSIDERS: &str =
    "SELECT c.course_code, COUNT(*) FROM enrollments e JOIN courses c ON c.id = e.course_id \
     WHERE e.course_id IN (SELECT id FROM registrar_clean_courses) \
     AND e.student_id NOT IN (SELECT id FROM registrar_clean_users) \
     GROUP BY c.course_code ORDER BY c.course_code";
const DELETES: [&str; 5] = [
    "DELETE FROM attendances WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)",
    "DELETE FROM grades WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)",
    "DELETE FROM enrollments WHERE student_id IN (SELECT id FROM registrar_clean_users) OR course_id IN (SELECT id FROM registrar_clean_courses)",
    "DELETE FROM courses WHERE id IN (SELECT id FROM registrar_clean_courses)",
    "DELETE FROM users WHERE id IN (SELECT id FROM registrar_clean_users)",
];

/// The clean-up on `$tx` (a connection already inside a transaction the caller owns): the
/// caller commits or rolls back.
macro_rules! clean_body {
    ($tx:expr, $re:expr, $codes:expr, $o:expr, $execute:expr, $drop_prefix:literal, $create:literal) => {{
        let tx = $tx;
        for t in ["registrar_clean_users", "registrar_clean_courses"] {
            sqlx::query(&format!("DROP TABLE IF EXISTS {}{t}", $drop_prefix))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!($create, t)).execute(&mut *tx).await?;
        }
        // Users matching the pattern (streamed; only matches are kept).
        let mut users: Vec<(i64, String)> = Vec::new();
        {
            let mut rows = sqlx::query("SELECT id, email FROM users").fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                let email: String = r.try_get(1)?;
                if $re.is_match(&email) {
                    users.push((r.try_get(0)?, email));
                }
            }
        }
        let mut courses: Vec<(i64, String)> = Vec::new();
        {
            let mut rows = sqlx::query("SELECT id, course_code FROM courses").fetch(&mut *tx);
            while let Some(r) = rows.try_next().await? {
                let code: String = r.try_get(1)?;
                if $codes.iter().any(|c: &String| c.eq_ignore_ascii_case(code.trim())) {
                    courses.push((r.try_get(0)?, code));
                }
            }
        }
        for chunk in users.chunks(500) {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO registrar_clean_users (id) ");
            qb.push_values(chunk, |mut b, (id, _)| {
                b.push_bind(*id);
            });
            qb.build().execute(&mut *tx).await?;
        }
        for chunk in courses.chunks(500) {
            let mut qb = sqlx::QueryBuilder::new("INSERT INTO registrar_clean_courses (id) ");
            qb.push_values(chunk, |mut b, (id, _)| {
                b.push_bind(*id);
            });
            qb.build().execute(&mut *tx).await?;
        }
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let enrollments: i64 = sqlx::query_scalar(COUNT_ENROLLMENTS).fetch_one(&mut *tx).await?;
        let grades: i64 = sqlx::query_scalar(COUNT_GRADES).fetch_one(&mut *tx).await?;
        let attendances: i64 = sqlx::query_scalar(COUNT_ATTENDANCES).fetch_one(&mut *tx).await?;
        let admins: i64 = sqlx::query_scalar(ADMINS_LEFT).fetch_one(&mut *tx).await?;
        let outsiders = sqlx::query(OUTSIDERS).fetch_all(&mut *tx).await?;
        let mut refusals = Vec::new();
        for r in &outsiders {
            let code: String = r.try_get(0)?;
            let n: i64 = r.try_get(1)?;
            refusals.push(format!(
                "course {code} has {n} enrollment(s) of users outside the training pattern; use --force to delete it anyway"
            ));
        }
        if admins == 0 {
            refusals.push(
                "clean-up would leave no active admin; import one first or use --force".to_string(),
            );
        }
        let mut report = CleanReport {
            users: users.into_iter().map(|(_, e)| e).collect(),
            courses: courses.into_iter().map(|(_, c)| c).collect(),
            enrollments: count(enrollments),
            grades: count(grades),
            attendances: count(attendances),
            active_admins_left: count(admins),
            refusals,
            executed: false,
        };
        report.users.sort();
        report.courses.sort();
        if $execute {
            if !report.refusals.is_empty() && !$o.force {
                return Err(Error::Refused(format!(
                    "clean-up refused: {}",
                    report.refusals.join("; ")
                )));
            }
            for sql in DELETES {
                sqlx::query(sql).execute(&mut *tx).await?;
            }
            report.executed = true;
        }
        for t in ["registrar_clean_users", "registrar_clean_courses"] {
            sqlx::query(&format!("DROP TABLE {}{t}", $drop_prefix))
                .execute(&mut *tx)
                .await?;
        }
        Ok::<CleanReport, Error>(report)
    }};
}

async fn run(db: &Database, o: &CleanOptions, execute: bool) -> Result<CleanReport> {
    let (re, codes) = compile(o)?;
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let mut tx = conn.begin().await?;
            let r = body(Conn::Pg(&mut tx), &re, &codes, o, execute).await;
            finish(tx, r, execute).await
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            // IMMEDIATE takes the write lock up front (a deferred transaction that reads
            // first can fail to upgrade when another writer got in between).
            let mut tx = conn
                .begin_with(if execute { "BEGIN IMMEDIATE" } else { "BEGIN" })
                .await?;
            let r = body(Conn::Sqlite(&mut tx), &re, &codes, o, execute).await;
            finish(tx, r, execute).await
        }
    }
}

/// Commits an executed clean-up; rolls back a plan or a failure.
async fn finish<DB: sqlx::Database>(
    tx: sqlx::Transaction<'_, DB>,
    r: Result<CleanReport>,
    execute: bool,
) -> Result<CleanReport> {
    match r {
        Ok(report) if execute => {
            tx.commit().await?;
            Ok(report)
        }
        other => {
            tx.rollback().await?;
            other
        }
    }
}

/// The clean-up inside a transaction the caller owns.
async fn body(
    conn: Conn<'_>,
    re: &EmailPattern,
    codes: &[String],
    o: &CleanOptions,
    execute: bool,
) -> Result<CleanReport> {
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(tx) => clean_body!(
            tx,
            re,
            codes,
            o,
            execute,
            "pg_temp.",
            "CREATE TEMP TABLE {} (id BIGINT PRIMARY KEY) ON COMMIT DROP"
        ),
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(tx) => clean_body!(
            tx,
            re,
            codes,
            o,
            execute,
            "temp.",
            "CREATE TEMP TABLE {} (id INTEGER PRIMARY KEY)"
        ),
    }
}

/// Deletes the training users and sample courses with their dependent rows on `conn`, inside
/// a transaction the caller owns (the runbook's one data transaction): nothing is committed
/// here. [`Error::Refused`] as for [`execute`]; the caller then rolls back.
pub async fn execute_in(conn: Conn<'_>, o: &CleanOptions) -> Result<CleanReport> {
    let (re, codes) = compile(o)?;
    body(conn, &re, &codes, o, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pattern_matches_training_accounts_only() {
        let (re, codes) = compile(&CleanOptions::default()).unwrap();
        assert!(re.is_match("admin1@school.edu"));
        assert!(re.is_match("student10@school.edu"));
        assert!(!re.is_match("admin@school.edu"));
        assert!(!re.is_match("john.doe@school.edu"));
        assert!(!re.is_match("student1@school.edu.evil"));
        assert_eq!(codes.len(), 5);
        // As an SMS may have stored them.
        assert!(re.is_match("Admin1@School.edu"));
        assert!(re.is_match("ADMIN1@SCHOOL.EDU"));
        assert!(re.is_match(" admin1@school.edu "));
    }

    #[test]
    fn a_bad_pattern_is_refused() {
        let o = CleanOptions {
            pattern: "(".into(),
            ..CleanOptions::default()
        };
        assert!(matches!(compile(&o), Err(Error::Usage(_))));
    }
}
