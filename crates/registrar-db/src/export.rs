//! Reads a database into a [`Roster`]: what an export writes (the OneRoster writer is
//! `registrar-formats`'; this module knows nothing of files).
//!
//! One consistent snapshot: PostgreSQL reads in a `REPEATABLE READ READ ONLY` transaction,
//! SQLite in one read transaction, so a run that commits meanwhile is seen entirely or not at
//! all. The SQL is the same text on both engines (dates are read as `CAST(... AS TEXT)`,
//! ISO `YYYY-MM-DD` on both). Rows come ordered by their natural keys. No password hash is
//! read.
//!
//! The roster is held in memory: about 200 bytes a user, enrollment or grade.
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = registrar_db::Database::open("sqlite::memory:").await?;
//! registrar_db::seed::seed_training(&db).await?;
//! let roster = registrar_db::export::roster(&db).await?;
//! assert_eq!(roster.users.len(), 18);
//! assert_eq!(roster.courses.len(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use crate::{Database, Error, Result};
use registrar_model::{
    CourseStatus, NaiveDate, Role, Roster, RosterCourse, RosterEnrollment, RosterGrade, RosterRole,
    RosterUser,
};
use std::collections::HashMap;

const COURSES: &str = "SELECT course_code, course_name, description, semester, credits, status \
     FROM courses ORDER BY course_code";

const SPANS: &str = "SELECT c.course_code, CAST(MIN(x.d) AS TEXT), CAST(MAX(x.d) AS TEXT) FROM ( \
     SELECT course_id, enrollment_date AS d FROM enrollments \
     UNION ALL SELECT course_id, graded_on FROM grades \
     UNION ALL SELECT course_id, attendance_date FROM attendances) x \
     JOIN courses c ON c.id = x.course_id WHERE x.d IS NOT NULL GROUP BY c.course_code";

const USERS: &str =
    "SELECT u.id, u.email, u.first_name, u.last_name, u.role, u.is_active, s.sis_id \
     FROM users u LEFT JOIN registrar_user_sis_ids s ON s.user_id = u.id ORDER BY u.id";

const ENROLLMENTS: &str = "SELECT e.student_id, c.course_code, CAST(e.enrollment_date AS TEXT) \
     FROM enrollments e JOIN courses c ON c.id = e.course_id ORDER BY c.course_code, e.student_id";

const TEACHERS: &str = "SELECT t.teacher_id, c.course_code, t.role \
     FROM registrar_course_teachers t JOIN courses c ON c.id = t.course_id \
     ORDER BY c.course_code, t.teacher_id";

const GRADES: &str = "SELECT g.student_id, c.course_code, g.assessment, g.score, g.letter_grade, \
     CAST(g.graded_on AS TEXT) FROM grades g JOIN courses c ON c.id = g.course_id \
     ORDER BY c.course_code, g.assessment, g.student_id";

type CourseRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    String,
);
type SpanRow = (String, Option<String>, Option<String>);
type UserRow = (i64, String, String, String, String, bool, Option<String>);
type EnrollmentRow = (i64, String, Option<String>);
type TeacherRow = (i64, String, String);
type GradeRow = (
    i64,
    String,
    String,
    Option<f64>,
    Option<String>,
    Option<String>,
);

const ATTENDANCE: &str = "SELECT COUNT(*) FROM attendances";

struct Rows {
    attendance: i64,
    courses: Vec<CourseRow>,
    spans: Vec<SpanRow>,
    users: Vec<UserRow>,
    enrollments: Vec<EnrollmentRow>,
    teachers: Vec<TeacherRow>,
    grades: Vec<GradeRow>,
}

/// Reads the whole database as a [`Roster`] (see the module docs).
///
/// [`Error::Refused`] when a stored value cannot be exported as it is (a role or status that
/// the schema's checks would not allow, a date that is not a date); the message names the
/// row.
pub async fn roster(db: &Database) -> Result<Roster> {
    let rows = match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut tx = pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            let rows = Rows {
                attendance: sqlx::query_scalar(ATTENDANCE).fetch_one(&mut *tx).await?,
                courses: sqlx::query_as(COURSES).fetch_all(&mut *tx).await?,
                spans: sqlx::query_as(SPANS).fetch_all(&mut *tx).await?,
                users: sqlx::query_as(USERS).fetch_all(&mut *tx).await?,
                enrollments: sqlx::query_as(ENROLLMENTS).fetch_all(&mut *tx).await?,
                teachers: sqlx::query_as(TEACHERS).fetch_all(&mut *tx).await?,
                grades: sqlx::query_as(GRADES).fetch_all(&mut *tx).await?,
            };
            tx.commit().await?;
            rows
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            let rows = Rows {
                attendance: sqlx::query_scalar(ATTENDANCE).fetch_one(&mut *tx).await?,
                courses: sqlx::query_as(COURSES).fetch_all(&mut *tx).await?,
                spans: sqlx::query_as(SPANS).fetch_all(&mut *tx).await?,
                users: sqlx::query_as(USERS).fetch_all(&mut *tx).await?,
                enrollments: sqlx::query_as(ENROLLMENTS).fetch_all(&mut *tx).await?,
                teachers: sqlx::query_as(TEACHERS).fetch_all(&mut *tx).await?,
                grades: sqlx::query_as(GRADES).fetch_all(&mut *tx).await?,
            };
            tx.commit().await?;
            rows
        }
    };
    build(rows)
}

fn date(text: Option<String>, what: impl FnOnce() -> String) -> Result<Option<NaiveDate>> {
    match text {
        None => Ok(None),
        Some(t) => {
            let day = t.get(..10).unwrap_or(&t);
            day.parse().map(Some).map_err(|_| {
                Error::Refused(format!(
                    "{} holds the date {t:?}, which is not a date (YYYY-MM-DD); fix the row, then export again",
                    what()
                ))
            })
        }
    }
}

fn build(rows: Rows) -> Result<Roster> {
    let mut spans: HashMap<String, (Option<NaiveDate>, Option<NaiveDate>)> = HashMap::new();
    for (code, min, max) in rows.spans {
        let what = || format!("a row of course {code}");
        let span = (date(min, what)?, date(max, what)?);
        spans.insert(code, span);
    }
    let mut courses = Vec::with_capacity(rows.courses.len());
    for (code, name, description, semester, credits, status) in rows.courses {
        let status = CourseStatus::parse(&status).ok_or_else(|| {
            Error::Refused(format!(
                "course {code} has the status {status:?}, which is not active, inactive or archived; fix it, then export again"
            ))
        })?;
        let (first_date, last_date) = spans.remove(&code).unwrap_or((None, None));
        courses.push(RosterCourse {
            code,
            name,
            description,
            semester,
            credits,
            status,
            first_date,
            last_date,
        });
    }
    let mut users = Vec::with_capacity(rows.users.len());
    for (key, email, first_name, last_name, role, is_active, sis_id) in rows.users {
        let role = Role::parse(&role).ok_or_else(|| {
            Error::Refused(format!(
                "user {email} has the role {role:?}, which is not admin, teacher, student or viewer; fix it (`registrar check` lists such users), then export again"
            ))
        })?;
        users.push(RosterUser {
            key,
            sis_id,
            email,
            first_name,
            last_name,
            role,
            is_active,
        });
    }
    let mut enrollments = Vec::with_capacity(rows.enrollments.len() + rows.teachers.len());
    for (user_key, course_code, begin) in rows.enrollments {
        let begin_date = date(begin, || format!("the enrollment in {course_code}"))?;
        enrollments.push(RosterEnrollment {
            user_key,
            course_code,
            role: RosterRole::Student,
            begin_date,
        });
    }
    for (user_key, course_code, role) in rows.teachers {
        let role = match role.as_str() {
            "aide" => RosterRole::Aide,
            _ => RosterRole::Teacher,
        };
        enrollments.push(RosterEnrollment {
            user_key,
            course_code,
            role,
            begin_date: None,
        });
    }
    let mut grades = Vec::with_capacity(rows.grades.len());
    for (user_key, course_code, assessment, score, letter_grade, graded) in rows.grades {
        let graded_on = date(graded, || {
            format!("the grade {assessment:?} in {course_code}")
        })?;
        grades.push(RosterGrade {
            user_key,
            course_code,
            assessment,
            score,
            letter_grade,
            graded_on,
        });
    }
    Ok(Roster {
        attendance: u64::try_from(rows.attendance).unwrap_or(0),
        courses,
        users,
        enrollments,
        grades,
    })
}
