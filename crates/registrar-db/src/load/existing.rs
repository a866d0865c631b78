//! What the database already holds: natural keys for the validator ([`Existing`]) and the
//! email / course-code → id maps the loader resolves references with. One set-based query per
//! table, never a query per row.

use crate::Conn;
use crate::{Database, Result};
use chrono::NaiveDate;
use futures::TryStreamExt;
use registrar_model::Existing;
use registrar_model::Role;
use std::collections::HashMap;

/// Natural key → id of the users and courses in the database (and, during an import, of the
/// rows this run inserted).
#[derive(Debug, Default, Clone)]
pub struct KnownIds {
    /// Lower-case email → users.id.
    pub(crate) users: HashMap<String, i64>,
    /// Upper-case course code → courses.id.
    pub(crate) courses: HashMap<String, i64>,
}

/// Which tables to read (the link tables only when a file needs them).
#[derive(Debug, Clone, Copy)]
pub struct Need {
    /// Read the enrollments.
    pub enrollments: bool,
    /// Read the grades.
    pub grades: bool,
    /// Read the attendance rows.
    pub attendance: bool,
}

impl Need {
    /// Every table.
    pub const ALL: Need = Need {
        enrollments: true,
        grades: true,
        attendance: true,
    };
}

const USERS: &str = "SELECT id, email, role FROM users";
const COURSES: &str = "SELECT id, course_code FROM courses";
const ENROLLMENTS: &str = "SELECT u.email, c.course_code FROM enrollments e \
     JOIN users u ON u.id = e.student_id JOIN courses c ON c.id = e.course_id";
const GRADES: &str = "SELECT u.email, c.course_code, g.assessment FROM grades g \
     JOIN users u ON u.id = g.student_id JOIN courses c ON c.id = g.course_id";
const ATTENDANCE: &str = "SELECT u.email, c.course_code, a.attendance_date FROM attendances a \
     JOIN users u ON u.id = a.student_id JOIN courses c ON c.id = a.course_id";

/// A role as stored; an SMS role Registrar does not know counts as a viewer (never a student).
fn role_of(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Viewer)
}

macro_rules! read_all {
    ($conn:expr, $existing:expr, $ids:expr, $need:expr) => {{
        let conn = $conn;
        let mut rows = sqlx::query_as::<_, (i64, String, String)>(USERS).fetch(&mut *conn);
        while let Some((id, email, role)) = rows.try_next().await? {
            let email = email.to_lowercase();
            $existing.users.insert(email.clone(), role_of(&role));
            $ids.users.insert(email, id);
        }
        drop(rows);
        let mut rows = sqlx::query_as::<_, (i64, String)>(COURSES).fetch(&mut *conn);
        while let Some((id, code)) = rows.try_next().await? {
            let code = code.to_uppercase();
            $existing.courses.insert(code.clone());
            $ids.courses.insert(code, id);
        }
        drop(rows);
        if $need.enrollments {
            let mut rows = sqlx::query_as::<_, (String, String)>(ENROLLMENTS).fetch(&mut *conn);
            while let Some((e, c)) = rows.try_next().await? {
                $existing
                    .enrollments
                    .insert((e.to_lowercase(), c.to_uppercase()));
            }
        }
        if $need.grades {
            let mut rows = sqlx::query_as::<_, (String, String, String)>(GRADES).fetch(&mut *conn);
            while let Some((e, c, a)) = rows.try_next().await? {
                $existing
                    .grades
                    .insert((e.to_lowercase(), c.to_uppercase(), a));
            }
        }
        if $need.attendance {
            let mut rows =
                sqlx::query_as::<_, (String, String, NaiveDate)>(ATTENDANCE).fetch(&mut *conn);
            while let Some((e, c, d)) = rows.try_next().await? {
                $existing
                    .attendance
                    .insert((e.to_lowercase(), c.to_uppercase(), d));
            }
        }
    }};
}

/// Reads the natural keys and ids through `conn` (inside the import's transaction).
pub async fn read_existing(conn: &mut Conn<'_>, need: Need) -> Result<(Existing, KnownIds)> {
    let mut existing = Existing::default();
    let mut ids = KnownIds::default();
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => read_all!(&mut **c, existing, ids, need),
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => read_all!(&mut **c, existing, ids, need),
    }
    Ok((existing, ids))
}

/// Refreshes the id maps after users or courses were written.
pub(crate) async fn refresh_users(conn: &mut Conn<'_>, ids: &mut KnownIds) -> Result<()> {
    let rows: Vec<(i64, String)> = match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            sqlx::query_as("SELECT id, email FROM users")
                .fetch_all(&mut **c)
                .await?
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            sqlx::query_as("SELECT id, email FROM users")
                .fetch_all(&mut **c)
                .await?
        }
    };
    ids.users = rows
        .into_iter()
        .map(|(id, e)| (e.to_lowercase(), id))
        .collect();
    Ok(())
}

/// Refreshes the course-code map.
pub(crate) async fn refresh_courses(conn: &mut Conn<'_>, ids: &mut KnownIds) -> Result<()> {
    let rows: Vec<(i64, String)> = match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => sqlx::query_as(COURSES).fetch_all(&mut **c).await?,
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => sqlx::query_as(COURSES).fetch_all(&mut **c).await?,
    };
    ids.courses = rows
        .into_iter()
        .map(|(id, c)| (c.to_uppercase(), id))
        .collect();
    Ok(())
}

/// The natural keys already in the database (one set-based query per table), for
/// the validation pass (`registrar_rules::ValidationOptions::existing`).
pub async fn load_existing(db: &Database) -> Result<Existing> {
    Ok(load_existing_with_ids(db, Need::ALL).await?.0)
}

/// [`load_existing`] plus the id maps.
pub async fn load_existing_with_ids(db: &Database, need: Need) -> Result<(Existing, KnownIds)> {
    match db {
        #[cfg(feature = "postgres")]
        Database::Postgres(pool) => {
            let mut c = pool.acquire().await?;
            read_existing(&mut Conn::Pg(&mut c), need).await
        }
        #[cfg(feature = "sqlite")]
        Database::Sqlite(pool) => {
            let mut c = pool.acquire().await?;
            read_existing(&mut Conn::Sqlite(&mut c), need).await
        }
    }
}
