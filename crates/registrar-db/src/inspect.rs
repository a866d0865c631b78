//! The narrow queries behind Registrar's integrity checks, `stats` and account steps.
//!
//! Every function runs on a [`Conn`]: a pooled connection ([`Database::acquire`]) or the
//! connection of a transaction the caller owns ([`WriteTx::conn`]), and returns plain Rust
//! values. What the numbers mean (which count passes, what a message says) belongs to
//! `registrar-checks`; this module only knows how to ask each engine.
//!
//! SQL that is the same text on both engines is written once (the [`Count::sql`] texts, the
//! emails and roles queries). Where the engines differ (placeholders, `now()`, booleans), one
//! function holds one branch per engine that differs only in SQL text; table sizes are the one
//! place where each engine measures in its own way (see [`table_sizes`]). No function here puts a password hash in a message or a `Debug` output.
//!
//! [`Database::acquire`]: crate::Database::acquire
//! [`WriteTx::conn`]: crate::WriteTx::conn
//!
//! # Example
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use registrar_db::inspect::{self, Count};
//! use registrar_model::Role;
//!
//! let db = registrar_db::Database::open("sqlite::memory:").await?;
//! registrar_db::seed::seed_training(&db).await?;
//! let mut pooled = db.acquire().await?;
//! let mut conn = pooled.conn();
//! assert_eq!(inspect::count(&mut conn, Count::UsersWithRole(Role::Admin)).await?, 3);
//! assert_eq!(inspect::count(&mut conn, Count::OrphanedEnrollments).await?, 0);
//! let training = registrar_model::EmailPattern::training();
//! assert_eq!(inspect::count_emails_matching(&mut conn, training).await?, 18);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use crate::{Conn, Result, SMS_TABLES};
use futures::TryStreamExt;
use registrar_model::{EmailPattern, Role};
use std::collections::HashMap;

/// Runs `$body` with `$c` bound to the engine's connection (`&mut &mut PgConnection` or
/// `&mut &mut SqliteConnection`), one arm per engine; with `pg:` / `sqlite:`, `$sql` is bound
/// to that engine's SQL text, so the arms differ in nothing else.
macro_rules! on_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            #[cfg(feature = "postgres")]
            Conn::Pg($c) => $body,
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => $body,
        }
    };
    ($conn:expr, |$c:ident, $sql:ident| $body:expr, pg: $pg:expr, sqlite: $lite:expr $(,)?) => {
        match $conn {
            #[cfg(feature = "postgres")]
            Conn::Pg($c) => {
                let $sql = $pg;
                $body
            }
            #[cfg(feature = "sqlite")]
            Conn::Sqlite($c) => {
                let $sql = $lite;
                $body
            }
        }
    };
}

/// A number the checks need, each one `SELECT COUNT(*)` whose SQL is the same on both engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Count {
    /// Enrollments whose student or course does not exist.
    OrphanedEnrollments,
    /// Grades whose student or course does not exist.
    OrphanedGrades,
    /// Attendance rows whose student or course does not exist.
    OrphanedAttendance,
    /// Email addresses held by more than one user, compared in lower case (each address
    /// counts once, however many users hold it).
    DuplicateEmails,
    /// Users whose role is NULL or not one of admin, teacher, student, viewer.
    InvalidRoles,
    /// Enrollments of users whose role is not student.
    EnrollmentsOfNonStudents,
    /// Grades of a student in a course they are not enrolled in.
    GradesWithoutEnrollment,
    /// Attendance of a student in a course they are not enrolled in.
    AttendanceWithoutEnrollment,
    /// Users whose stored password is NULL or does not start with `$argon2`.
    NonArgon2Passwords,
    /// Users with role admin that are active.
    ActiveAdmins,
    /// All users.
    Users,
    /// Users with this role.
    UsersWithRole(Role),
    /// All courses.
    Courses,
    /// All enrollments.
    Enrollments,
}

impl Count {
    /// The SQL (one row, one `BIGINT` column), the same text on PostgreSQL and SQLite.
    pub fn sql(self) -> &'static str {
        match self {
            Count::OrphanedEnrollments => {
                "SELECT COUNT(*) FROM enrollments e LEFT JOIN users u ON u.id = e.student_id \
                 LEFT JOIN courses c ON c.id = e.course_id WHERE u.id IS NULL OR c.id IS NULL"
            }
            Count::OrphanedGrades => {
                "SELECT COUNT(*) FROM grades g LEFT JOIN users u ON u.id = g.student_id \
                 LEFT JOIN courses c ON c.id = g.course_id WHERE u.id IS NULL OR c.id IS NULL"
            }
            Count::OrphanedAttendance => {
                "SELECT COUNT(*) FROM attendances a LEFT JOIN users u ON u.id = a.student_id \
                 LEFT JOIN courses c ON c.id = a.course_id WHERE u.id IS NULL OR c.id IS NULL"
            }
            Count::DuplicateEmails => {
                "SELECT COUNT(*) FROM (SELECT lower(email) AS e FROM users GROUP BY lower(email) \
                 HAVING COUNT(*) > 1) d"
            }
            Count::InvalidRoles => {
                "SELECT COUNT(*) FROM users WHERE role IS NULL \
                 OR role NOT IN ('admin', 'teacher', 'student', 'viewer')"
            }
            Count::EnrollmentsOfNonStudents => {
                "SELECT COUNT(*) FROM enrollments e JOIN users u ON u.id = e.student_id \
                 WHERE u.role <> 'student'"
            }
            Count::GradesWithoutEnrollment => {
                "SELECT COUNT(*) FROM grades g WHERE NOT EXISTS (SELECT 1 FROM enrollments e \
                 WHERE e.student_id = g.student_id AND e.course_id = g.course_id)"
            }
            Count::AttendanceWithoutEnrollment => {
                "SELECT COUNT(*) FROM attendances a WHERE NOT EXISTS (SELECT 1 FROM enrollments e \
                 WHERE e.student_id = a.student_id AND e.course_id = a.course_id)"
            }
            Count::NonArgon2Passwords => {
                "SELECT COUNT(*) FROM users WHERE password_hash IS NULL \
                 OR password_hash NOT LIKE '$argon2%'"
            }
            Count::ActiveAdmins => "SELECT COUNT(*) FROM users WHERE role = 'admin' AND is_active",
            Count::Users => "SELECT COUNT(*) FROM users",
            Count::UsersWithRole(Role::Admin) => "SELECT COUNT(*) FROM users WHERE role = 'admin'",
            Count::UsersWithRole(Role::Teacher) => {
                "SELECT COUNT(*) FROM users WHERE role = 'teacher'"
            }
            Count::UsersWithRole(Role::Student) => {
                "SELECT COUNT(*) FROM users WHERE role = 'student'"
            }
            Count::UsersWithRole(Role::Viewer) => {
                "SELECT COUNT(*) FROM users WHERE role = 'viewer'"
            }
            Count::Courses => "SELECT COUNT(*) FROM courses",
            Count::Enrollments => "SELECT COUNT(*) FROM enrollments",
        }
    }
}

/// Runs the [`Count`] `what`.
pub async fn count(conn: &mut Conn<'_>, what: Count) -> Result<i64> {
    let sql = what.sql();
    Ok(on_conn!(conn, |c| sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(&mut **c)
        .await?))
}

const EMAILS: &str = "SELECT email FROM users";

/// The number of users whose email matches `pattern` ([`EmailPattern::is_match`]: trimmed,
/// ignoring case). Every stored email is streamed and matched here, so the answer is the same
/// on SQLite, which has no regex operator, and PostgreSQL; only the count is kept.
pub async fn count_emails_matching(conn: &mut Conn<'_>, pattern: &EmailPattern) -> Result<i64> {
    let mut n = 0i64;
    on_conn!(conn, |c| {
        let mut rows = sqlx::query_scalar::<_, String>(EMAILS).fetch(&mut **c);
        while let Some(e) = rows.try_next().await? {
            n += i64::from(pattern.is_match(&e));
        }
    });
    Ok(n)
}

const HASHES: &str = "SELECT password_hash FROM users";

/// Streams every user's stored `password_hash` (NULL as `None`) through `each`, one at a time,
/// so a census of hash schemes runs in bounded memory. The hashes never leave `each`.
pub async fn for_each_password_hash(
    conn: &mut Conn<'_>,
    mut each: impl FnMut(Option<&str>),
) -> Result<()> {
    on_conn!(conn, |c| {
        let mut rows = sqlx::query_scalar::<_, Option<String>>(HASHES).fetch(&mut **c);
        while let Some(h) = rows.try_next().await? {
            each(h.as_deref());
        }
    });
    Ok(())
}

/// Sets `password_reset_required` on the users whose email, lower-cased by the engine, is
/// among `emails` (pass them lower-cased), in chunks of 500; returns how many were flagged.
/// Used by `--legacy-hashes reset` for the accounts a run imported with a legacy hash.
pub async fn require_password_reset(conn: &mut Conn<'_>, emails: &[String]) -> Result<u64> {
    let mut n = 0;
    for chunk in emails.chunks(HASH_CHUNK) {
        n += match &mut *conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => sqlx::query(
                "UPDATE users SET password_reset_required = TRUE WHERE lower(email) = ANY($1)",
            )
            .bind(chunk.to_vec())
            .execute(&mut **c)
            .await?
            .rows_affected(),
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "UPDATE users SET password_reset_required = 1 WHERE lower(email) IN (",
                );
                let mut sep = qb.separated(", ");
                for e in chunk {
                    sep.push_bind(e.as_str());
                }
                qb.push(")");
                qb.build().execute(&mut **c).await?.rows_affected()
            }
        };
    }
    Ok(n)
}

const ROLES: &str = "SELECT role, COUNT(*) FROM users GROUP BY role";

/// Users per stored role (`role`, count), for every role present, in no particular order.
pub async fn users_per_role(conn: &mut Conn<'_>) -> Result<Vec<(String, i64)>> {
    Ok(on_conn!(conn, |c| sqlx::query_as(ROLES)
        .fetch_all(&mut **c)
        .await?))
}

/// The tables [`table_sizes`] measures: the SMS tables ([`SMS_TABLES`]), then `import_runs`.
pub fn measured_tables() -> impl Iterator<Item = &'static str> {
    SMS_TABLES.into_iter().chain(["import_runs"])
}

/// One table's rows and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSize {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: i64,
    /// Bytes on disk including its indexes; `None` when the engine cannot tell.
    pub size_bytes: Option<i64>,
}

/// How [`table_sizes`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SizeMethod {
    /// PostgreSQL: `pg_total_relation_size` per table (table, indexes and TOAST) and
    /// `pg_database_size` for the database.
    PgTotalRelationSize,
    /// SQLite: the pages of each table and its indexes from the `dbstat` virtual table, and
    /// `page_count * page_size` for the database.
    Dbstat,
    /// SQLite built without `dbstat`: no per-table sizes, `page_count * page_size` for the
    /// database.
    PageCount,
}

impl SizeMethod {
    /// The stable name: `pg_total_relation_size`, `dbstat` or `page_count*page_size`.
    pub fn as_str(self) -> &'static str {
        match self {
            SizeMethod::PgTotalRelationSize => "pg_total_relation_size",
            SizeMethod::Dbstat => "dbstat",
            SizeMethod::PageCount => "page_count*page_size",
        }
    }
}

/// Rows and sizes of the [`measured_tables`], and the size of the whole database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes {
    /// One entry per table of [`measured_tables`], in that order.
    pub tables: Vec<TableSize>,
    /// The whole database in bytes.
    pub database_bytes: i64,
    /// How the sizes were measured.
    pub method: SizeMethod,
}

/// Measures the [`measured_tables`] and the database; see [`SizeMethod`] for how each engine
/// does it.
pub async fn table_sizes(conn: &mut Conn<'_>) -> Result<Sizes> {
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => pg_sizes(c).await,
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => sqlite_sizes(c).await,
    }
}

#[cfg(feature = "postgres")]
async fn pg_sizes(c: &mut sqlx::PgConnection) -> Result<Sizes> {
    let mut tables = Vec::new();
    for table in measured_tables() {
        let (rows, size): (i64, i64) = sqlx::query_as(&format!(
            "SELECT (SELECT COUNT(*) FROM {table}), pg_total_relation_size('{table}')::bigint"
        ))
        .fetch_one(&mut *c)
        .await?;
        tables.push(TableSize {
            table,
            rows,
            size_bytes: Some(size),
        });
    }
    let database_bytes: i64 =
        sqlx::query_scalar("SELECT pg_database_size(current_database())::bigint")
            .fetch_one(&mut *c)
            .await?;
    Ok(Sizes {
        tables,
        database_bytes,
        method: SizeMethod::PgTotalRelationSize,
    })
}

#[cfg(feature = "sqlite")]
async fn sqlite_sizes(c: &mut sqlx::SqliteConnection) -> Result<Sizes> {
    let mut tables = Vec::new();
    let mut dbstat = true;
    for table in measured_tables() {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *c)
            .await?;
        let size_bytes = if dbstat {
            match sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(SUM(d.pgsize), 0) FROM dbstat d \
                 JOIN sqlite_master m ON m.name = d.name WHERE m.tbl_name = ?1",
            )
            .bind(table)
            .fetch_one(&mut *c)
            .await
            {
                Ok(n) => Some(n),
                Err(sqlx::Error::Database(_)) => {
                    dbstat = false; // SQLite built without dbstat
                    None
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        tables.push(TableSize {
            table,
            rows,
            size_bytes,
        });
    }
    let database_bytes: i64 = sqlx::query_scalar(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
    )
    .fetch_one(&mut *c)
    .await?;
    Ok(Sizes {
        tables,
        database_bytes,
        method: if dbstat {
            SizeMethod::Dbstat
        } else {
            SizeMethod::PageCount
        },
    })
}

/// A user's id and stored password hash. Its `Debug` output leaves the hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPassword {
    /// The user's id.
    pub user_id: i64,
    /// The stored `password_hash` (an argon2 PHC string, or whatever an older system left).
    pub hash: String,
}

impl std::fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPassword")
            .field("user_id", &self.user_id)
            .field("hash", &"***")
            .finish()
    }
}

/// The id and password hash of the user whose email, lower-cased by the engine, is `email`
/// (pass it trimmed and lower-cased); `None` when there is no such user.
pub async fn password_of(conn: &mut Conn<'_>, email: &str) -> Result<Option<StoredPassword>> {
    let row: Option<(i64, String)> = on_conn!(
        conn,
        |c, sql| sqlx::query_as(sql).bind(email).fetch_optional(&mut **c).await?,
        pg: "SELECT id, password_hash FROM users WHERE lower(email) = $1",
        sqlite: "SELECT id, password_hash FROM users WHERE lower(email) = ?1",
    );
    Ok(row.map(|(user_id, hash)| StoredPassword { user_id, hash }))
}

/// How many emails [`password_hashes`] asks for in one query.
const HASH_CHUNK: usize = 500;

/// The stored password hash per lower-cased email, for the users among `emails` (pass them
/// lower-cased); emails without a user are absent from the map. Asks in chunks of 500.
pub async fn password_hashes(
    conn: &mut Conn<'_>,
    emails: &[&str],
) -> Result<HashMap<String, String>> {
    const SELECT: &str = "SELECT lower(email), password_hash FROM users WHERE lower(email)";
    let mut out = HashMap::new();
    for chunk in emails.chunks(HASH_CHUNK) {
        let rows: Vec<(String, String)> = match &mut *conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => {
                let list: Vec<&str> = chunk.to_vec();
                sqlx::query_as(&format!("{SELECT} = ANY($1)"))
                    .bind(list)
                    .fetch_all(&mut **c)
                    .await?
            }
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!("{SELECT} IN ("));
                let mut sep = qb.separated(", ");
                for e in chunk {
                    sep.push_bind(*e);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(&mut **c).await?
            }
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Stores `phc` (an argon2 PHC string) as the password hash of user `user_id`, clears its
/// `password_reset_required` and sets `updated_at` to now. Returns the number of users
/// changed (0 when there is no such user).
pub async fn store_password_hash(conn: &mut Conn<'_>, user_id: i64, phc: &str) -> Result<u64> {
    Ok(on_conn!(
        conn,
        |c, sql| sqlx::query(sql)
            .bind(phc)
            .bind(user_id)
            .execute(&mut **c)
            .await?
            .rows_affected(),
        pg: "UPDATE users SET password_hash = $1, password_reset_required = FALSE, \
             updated_at = now() WHERE id = $2",
        sqlite: "UPDATE users SET password_hash = ?1, password_reset_required = 0, \
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?2",
    ))
}

/// Replaces user `user_id`'s password hash `old` by `new` (a login's argon2id upgrade of a
/// legacy hash) and sets `updated_at`; leaves `password_reset_required` as it is. Nothing
/// changes when the stored hash is no longer `old` (another login or a password change came
/// first). Returns the number of users changed (0 or 1).
pub async fn replace_password_hash(
    conn: &mut Conn<'_>,
    user_id: i64,
    old: &str,
    new: &str,
) -> Result<u64> {
    Ok(on_conn!(
        conn,
        |c, sql| sqlx::query(sql)
            .bind(new)
            .bind(user_id)
            .bind(old)
            .execute(&mut **c)
            .await?
            .rows_affected(),
        pg: "UPDATE users SET password_hash = $1, updated_at = now() \
             WHERE id = $2 AND password_hash = $3",
        sqlite: "UPDATE users SET password_hash = ?1, \
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                 WHERE id = ?2 AND password_hash = ?3",
    ))
}

/// Sets `password_reset_required` on every user, except those whose role is `except_role`.
/// Returns the number of users flagged.
pub async fn force_password_reset(conn: &mut Conn<'_>, except_role: Option<Role>) -> Result<u64> {
    let except = except_role.map(Role::as_str);
    Ok(on_conn!(
        conn,
        |c, sql| sqlx::query(sql)
            .bind(except)
            .execute(&mut **c)
            .await?
            .rows_affected(),
        pg: "UPDATE users SET password_reset_required = TRUE \
             WHERE $1::text IS NULL OR role <> $1::text",
        sqlite: "UPDATE users SET password_reset_required = 1 WHERE ?1 IS NULL OR role <> ?1",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_methods_have_their_stable_names() {
        assert_eq!(
            SizeMethod::PgTotalRelationSize.as_str(),
            "pg_total_relation_size"
        );
        assert_eq!(SizeMethod::Dbstat.as_str(), "dbstat");
        assert_eq!(SizeMethod::PageCount.as_str(), "page_count*page_size");
    }

    #[test]
    fn every_count_is_one_select_count() {
        let mut all = vec![
            Count::OrphanedEnrollments,
            Count::OrphanedGrades,
            Count::OrphanedAttendance,
            Count::DuplicateEmails,
            Count::InvalidRoles,
            Count::EnrollmentsOfNonStudents,
            Count::GradesWithoutEnrollment,
            Count::AttendanceWithoutEnrollment,
            Count::NonArgon2Passwords,
            Count::ActiveAdmins,
            Count::Users,
            Count::Courses,
            Count::Enrollments,
        ];
        all.extend(Role::ALL.iter().map(|r| Count::UsersWithRole(*r)));
        for c in all {
            assert!(c.sql().starts_with("SELECT COUNT(*) FROM "), "{c:?}");
        }
        for r in Role::ALL {
            assert!(Count::UsersWithRole(*r)
                .sql()
                .ends_with(&format!("role = '{}'", r.as_str())));
        }
    }

    #[test]
    fn stored_password_debug_hides_the_hash() {
        let p = StoredPassword {
            user_id: 7,
            hash: "$argon2id$v=19$secret".into(),
        };
        let d = format!("{p:?}");
        assert!(d.contains('7') && !d.contains("argon2"), "{d}");
    }
}
