//! What the database already holds: natural keys for the validator ([`Existing`]) and the
//! email / course-code → id maps the loader resolves references with. One set-based query per
//! table, never a query per row.

use crate::Conn;
use crate::{Database, Result};
use chrono::NaiveDate;
use futures::TryStreamExt;
use registrar_model::{
    AttendanceStatus, CourseStatus, Existing, LetterGrade, Role, Stored, StoredCourse, StoredGrade,
    StoredLink, StoredUser,
};
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// Natural key → id of the users and courses in the database (and, during an import, of the
/// rows this run inserted).
#[derive(Debug, Default, Clone)]
pub struct KnownIds {
    /// Lower-case email → users.id (FxHash: the loader looks up two keys per link row, and
    /// SipHash was a twentieth of a SQLite load's CPU).
    pub(crate) users: FxHashMap<String, i64>,
    /// Upper-case course code → courses.id.
    pub(crate) courses: FxHashMap<String, i64>,
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

/// `imported` of a row of `t` (alias `x`): an earlier import created or last changed it.
macro_rules! origin {
    ($t:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM registrar_row_origins o WHERE o.table_name = '",
            $t,
            "' AND x.id BETWEEN o.first_id AND o.last_id)"
        )
    };
}

const USERS: &str = concat!(
    "SELECT x.id, x.email, x.role, x.first_name, x.last_name, x.is_active, x.password_hash, ",
    origin!("users"),
    " FROM users x"
);
const COURSES: &str = concat!(
    "SELECT x.id, x.course_code, x.course_name, x.description, x.semester, x.credits, x.status, ",
    origin!("courses"),
    " FROM courses x"
);
#[cfg(feature = "postgres")]
const ENROLLMENTS: &str = concat!(
    "SELECT x.student_id, x.course_id, x.enrollment_date, ",
    origin!("enrollments"),
    " FROM enrollments x"
);
#[cfg(feature = "postgres")]
const GRADES: &str = concat!(
    "SELECT x.student_id, x.course_id, x.assessment, x.score, x.letter_grade, x.graded_on, ",
    origin!("grades"),
    " FROM grades x"
);
#[cfg(feature = "postgres")]
const ATTENDANCE: &str = concat!(
    "SELECT x.student_id, x.course_id, x.attendance_date, x.status, ",
    origin!("attendances"),
    " FROM attendances x"
);
const SIS_IDS: &str = "SELECT user_id, sis_id FROM registrar_user_sis_ids";
const COURSE_IDS: &str = "SELECT id, course_code FROM courses";

/// A role as stored; an SMS role Registrar does not know counts as a viewer (never a student).
fn role_of(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Viewer)
}

/// An order-independent digest of the rows read: per table the row count and the wrapping sum
/// of each row's 64-bit FxHash (fast enough for millions of rows; it detects change, it is not
/// a cryptographic commitment). Hex, one `count:sum` per table.
#[derive(Default)]
struct Digest {
    parts: Vec<(u64, u64)>,
}

impl Digest {
    fn table(&mut self) {
        self.parts.push((0, 0));
    }
    fn add(&mut self, row: impl std::hash::Hash) {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        row.hash(&mut h);
        if let Some(p) = self.parts.last_mut() {
            p.0 += 1;
            p.1 = p.1.wrapping_add(h.finish());
        }
    }
    fn finish(&self) -> String {
        self.parts
            .iter()
            .map(|(n, s)| format!("{n}:{s:016x}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

type UserRowDb = (i64, String, String, String, String, bool, String, bool);
type CourseRowDb = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i32>,
    String,
    bool,
);
#[cfg(feature = "postgres")]
type GradeRowDb = (
    i64,
    i64,
    String,
    Option<f64>,
    Option<String>,
    Option<NaiveDate>,
    bool,
);

fn stored<T>(values: T, imported: bool) -> Stored<T> {
    Stored { values, imported }
}

macro_rules! read_all {
    ($conn:expr, $existing:expr, $ids:expr, $need:expr, $digest:expr) => {{
        let conn = $conn;
        $digest.table();
        let sis_rows: Vec<(i64, String)> = sqlx::query_as(SIS_IDS).fetch_all(&mut *conn).await?;
        for r in &sis_rows {
            $digest.add(r);
        }
        let mut sis_ids: HashMap<i64, String> = sis_rows.into_iter().collect();
        $digest.table();
        let mut rows = sqlx::query_as::<_, UserRowDb>(USERS).fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            $digest.add(&r);
            let (id, email, role, first_name, last_name, is_active, password_hash, imported) = r;
            let email = email.to_lowercase();
            let user = StoredUser {
                role: role_of(&role),
                first_name,
                last_name,
                is_active,
                password_hash,
                sis_id: sis_ids.remove(&id),
            };
            $existing
                .users
                .insert(email.clone(), stored(user, imported));
            $existing.user_ids.insert(email.clone(), id);
            $ids.users.insert(email, id);
        }
        drop(rows);
        $digest.table();
        let mut rows = sqlx::query_as::<_, CourseRowDb>(COURSES).fetch(&mut *conn);
        while let Some(r) = rows.try_next().await? {
            $digest.add(&r);
            let (id, code, course_name, description, semester, credits, status, imported) = r;
            let code = code.to_uppercase();
            let course = StoredCourse {
                course_name,
                description,
                semester,
                credits,
                status: CourseStatus::parse(&status).unwrap_or(CourseStatus::Inactive),
            };
            $existing
                .courses
                .insert(code.clone(), stored(course, imported));
            $existing.course_ids.insert(code.clone(), id);
            $ids.courses.insert(code, id);
        }
        drop(rows);
    }};
}

/// The link tables (enrollments, grades, attendance) as one row per `fetch` item: PostgreSQL.
#[cfg(feature = "postgres")]
macro_rules! read_links {
    ($conn:expr, $existing:expr, $need:expr, $digest:expr) => {{
        let conn = $conn;
        if $need.enrollments {
            $digest.table();
            let mut rows = sqlx::query_as::<_, (i64, i64, Option<NaiveDate>, bool)>(ENROLLMENTS)
                .fetch(&mut *conn);
            while let Some(r) = rows.try_next().await? {
                $digest.add(&r);
                let (student_id, course_id, d, imported) = r;
                $existing.enrollments.push(StoredLink {
                    student_id,
                    course_id,
                    key: (),
                    stored: stored(d, imported),
                });
            }
        }
        if $need.grades {
            $digest.table();
            let mut rows = sqlx::query_as::<_, GradeRowDb>(GRADES).fetch(&mut *conn);
            while let Some(r) = rows.try_next().await? {
                $digest.add((&r.0, &r.1, &r.2, r.3.map(f64::to_bits), &r.4, r.5, r.6));
                let (student_id, course_id, a, score, letter, graded_on, imported) = r;
                let grade = StoredGrade {
                    score,
                    letter_grade: letter.as_deref().and_then(LetterGrade::parse),
                    graded_on,
                };
                $existing.grades.push(StoredLink {
                    student_id,
                    course_id,
                    key: a.to_lowercase(),
                    stored: stored(grade, imported),
                });
            }
        }
        if $need.attendance {
            $digest.table();
            let mut rows = sqlx::query_as::<_, (i64, i64, NaiveDate, String, bool)>(ATTENDANCE)
                .fetch(&mut *conn);
            while let Some(r) = rows.try_next().await? {
                $digest.add(&r);
                let (student_id, course_id, d, status, imported) = r;
                // An SMS status Registrar does not know (None) never equals a file's.
                let status = AttendanceStatus::parse(&status);
                $existing.attendance.push(StoredLink {
                    student_id,
                    course_id,
                    key: d,
                    stored: stored(status, imported),
                });
            }
        }
    }};
}

/// Reads the natural keys, stored values and ids through `conn` (inside the import's
/// transaction).
pub async fn read_existing(conn: &mut Conn<'_>, need: Need) -> Result<(Existing, KnownIds)> {
    let mut existing = Existing::default();
    let mut ids = KnownIds::default();
    let mut digest = Digest::default();
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            read_all!(&mut **c, existing, ids, need, digest);
            read_links!(&mut **c, existing, need, digest);
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            read_all!(&mut **c, existing, ids, need, digest);
            sqlite::read_links(c, &mut existing, need, &mut digest).await?;
        }
    }
    existing.digest = digest.finish();
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
        Conn::Pg(c) => sqlx::query_as(COURSE_IDS).fetch_all(&mut **c).await?,
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => sqlx::query_as(COURSE_IDS).fetch_all(&mut **c).await?,
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

/// SQLite reads the link tables in chunks: one `fetch` item per row costs a hand-off between
/// sqlx's SQLite worker thread and the caller (a futex wake-up each, which was 80 % of a plan's
/// time at 1,000,000 attendance rows), so SQLite packs [`CHUNK`] rows at a time into one JSON
/// array (`json_group_array`) that is decoded here: one hand-off per chunk.
#[cfg(feature = "sqlite")]
mod sqlite {
    use super::{stored, Digest, Need};
    use crate::{Error, Result};
    use chrono::NaiveDate;
    use registrar_model::{AttendanceStatus, Existing, LetterGrade, StoredGrade, StoredLink};

    /// Rows per chunk (about 3 MB of JSON for attendance).
    pub(super) const CHUNK: i64 = 20_000;

    const ENROLLMENTS: &str = concat!(
        "SELECT json_group_array(json_array(e, c, d, i)), count(*), max(id) FROM (",
        "SELECT x.id AS id, x.student_id AS e, x.course_id AS c, x.enrollment_date AS d, ",
        origin!("enrollments"),
        " AS i FROM enrollments x WHERE x.id > ?1 ORDER BY x.id LIMIT ?2)"
    );
    const GRADES: &str = concat!(
        "SELECT json_group_array(json_array(e, c, a, s, l, g, i)), count(*), max(id) FROM (",
        "SELECT x.id AS id, x.student_id AS e, x.course_id AS c, x.assessment AS a, ",
        "x.score AS s, x.letter_grade AS l, x.graded_on AS g, ",
        origin!("grades"),
        " AS i FROM grades x WHERE x.id > ?1 ORDER BY x.id LIMIT ?2)"
    );
    const ATTENDANCE: &str = concat!(
        "SELECT json_group_array(json_array(e, c, d, s, i)), count(*), max(id) FROM (",
        "SELECT x.id AS id, x.student_id AS e, x.course_id AS c, x.attendance_date AS d, ",
        "x.status AS s, ",
        origin!("attendances"),
        " AS i FROM attendances x WHERE x.id > ?1 ORDER BY x.id LIMIT ?2)"
    );

    /// Calls `each` with every row of `sql` (one of the chunked queries above), in id order.
    async fn chunks<T: serde::de::DeserializeOwned>(
        conn: &mut sqlx::SqliteConnection,
        table: &str,
        sql: &str,
        mut each: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let mut after = i64::MIN;
        loop {
            let (json, n, last): (String, i64, Option<i64>) = sqlx::query_as(sql)
                .bind(after)
                .bind(CHUNK)
                .fetch_one(&mut *conn)
                .await?;
            let rows: Vec<T> = serde_json::from_str(&json).map_err(|e| unreadable(table, e))?;
            for r in rows {
                each(r)?;
            }
            match last {
                Some(last) if n >= CHUNK => after = last,
                _ => return Ok(()),
            }
        }
    }

    fn unreadable(table: &str, e: impl std::fmt::Display) -> Error {
        Error::Internal(format!(
            "the {table} table holds a value Registrar cannot read ({e}); check that table \
             (registrar check) or report this"
        ))
    }

    /// A stored date: `YYYY-MM-DD` (how sqlx writes a date into SQLite) on a fast path, any
    /// other text through chrono.
    fn date(table: &str, s: &str) -> Result<NaiveDate> {
        let b = s.as_bytes();
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            b.get(r)?.iter().try_fold(0u32, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
            })
        };
        if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
            if let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10)) {
                if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) {
                    return Ok(date);
                }
            }
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| unreadable(table, e))
    }

    fn opt_date(table: &str, s: Option<String>) -> Result<Option<NaiveDate>> {
        s.map(|s| date(table, &s)).transpose()
    }

    /// The enrollments, grades and attendance rows (as many as `need` asks for).
    pub(super) async fn read_links(
        conn: &mut sqlx::SqliteConnection,
        existing: &mut Existing,
        need: Need,
        digest: &mut Digest,
    ) -> Result<()> {
        if need.enrollments {
            digest.table();
            chunks(
                conn,
                "enrollments",
                ENROLLMENTS,
                |(student_id, course_id, d, i): (i64, i64, Option<String>, i64)| {
                    let r = (student_id, course_id, opt_date("enrollments", d)?, i != 0);
                    digest.add(r);
                    existing.enrollments.push(StoredLink {
                        student_id,
                        course_id,
                        key: (),
                        stored: stored(r.2, r.3),
                    });
                    Ok(())
                },
            )
            .await?;
        }
        if need.grades {
            digest.table();
            type Row = (
                i64,
                i64,
                String,
                Option<f64>,
                Option<String>,
                Option<String>,
                i64,
            );
            chunks(conn, "grades", GRADES, |r: Row| {
                let (student_id, course_id, a, score, letter, graded_on, i) = r;
                let graded_on = opt_date("grades", graded_on)?;
                let imported = i != 0;
                digest.add((
                    student_id,
                    course_id,
                    &a,
                    score.map(f64::to_bits),
                    &letter,
                    graded_on,
                    imported,
                ));
                let grade = StoredGrade {
                    score,
                    letter_grade: letter.as_deref().and_then(LetterGrade::parse),
                    graded_on,
                };
                existing.grades.push(StoredLink {
                    student_id,
                    course_id,
                    key: a.to_lowercase(),
                    stored: stored(grade, imported),
                });
                Ok(())
            })
            .await?;
        }
        if need.attendance {
            digest.table();
            chunks(
                conn,
                "attendances",
                ATTENDANCE,
                |(student_id, course_id, d, status, i): (i64, i64, String, String, i64)| {
                    let r = (
                        student_id,
                        course_id,
                        date("attendances", &d)?,
                        status,
                        i != 0,
                    );
                    digest.add(&r);
                    // An SMS status Registrar does not know (None) never equals a file's.
                    existing.attendance.push(StoredLink {
                        student_id,
                        course_id,
                        key: r.2,
                        stored: stored(AttendanceStatus::parse(&r.3), r.4),
                    });
                    Ok(())
                },
            )
            .await?;
        }
        Ok(())
    }
}
