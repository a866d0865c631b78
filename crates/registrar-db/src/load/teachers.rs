//! Teacher links (`registrar_course_teachers`): who teaches a course, from a OneRoster
//! bundle's teacher and aide enrollments. Written in the import's transaction, one set-based
//! statement per batch; a link names its teacher by external id (`registrar_user_sis_ids`) and
//! its course by code, and links whose teacher or course the database does not hold are
//! counted, not written.

use crate::{Conn, Result};

/// Rows per statement (three bind parameters a row, under SQLite's 32,766 limit).
const ROWS: usize = 8_000;

/// A teacher link to write: (teacher's sis_id, course code, `"teacher"` or `"aide"`).
pub type LinkRow = (String, String, &'static str);

/// What [`write_teacher_links`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinksWritten {
    /// Links inserted or updated.
    pub written: u64,
    /// Links whose teacher (by sis_id) or course (by code) is not in the database.
    pub unresolved: u64,
}

/// Writes `links` (a link already there gets the new role) and deletes `removed`
/// ((teacher sis_id, course code) pairs). Returns what was written and how many rows were
/// deleted.
pub async fn write_teacher_links(
    conn: &mut Conn<'_>,
    links: &[LinkRow],
    removed: &[(String, String)],
) -> Result<(LinksWritten, u64)> {
    let mut out = LinksWritten::default();
    let mut deleted = 0u64;
    match conn {
        #[cfg(feature = "postgres")]
        Conn::Pg(c) => {
            for chunk in links.chunks(ROWS) {
                let sis: Vec<&str> = chunk.iter().map(|l| l.0.as_str()).collect();
                let code: Vec<&str> = chunk.iter().map(|l| l.1.as_str()).collect();
                let role: Vec<&str> = chunk.iter().map(|l| l.2).collect();
                let n = sqlx::query(
                    "INSERT INTO registrar_course_teachers (course_id, teacher_id, role) \
                     SELECT c.id, s.user_id, v.role \
                     FROM UNNEST($1::text[], $2::text[], $3::text[]) AS v(sis, code, role) \
                     JOIN registrar_user_sis_ids s ON s.sis_id = v.sis \
                     JOIN courses c ON c.course_code = v.code \
                     ON CONFLICT (course_id, teacher_id) DO UPDATE SET role = EXCLUDED.role",
                )
                .bind(sis)
                .bind(code)
                .bind(role)
                .execute(&mut **c)
                .await?
                .rows_affected();
                out.written += n;
                out.unresolved += chunk.len() as u64 - n.min(chunk.len() as u64);
            }
            for chunk in removed.chunks(ROWS) {
                let sis: Vec<&str> = chunk.iter().map(|l| l.0.as_str()).collect();
                let code: Vec<&str> = chunk.iter().map(|l| l.1.as_str()).collect();
                deleted += sqlx::query(
                    "DELETE FROM registrar_course_teachers t \
                     USING UNNEST($1::text[], $2::text[]) AS v(sis, code), \
                           registrar_user_sis_ids s, courses c \
                     WHERE s.sis_id = v.sis AND c.course_code = v.code \
                       AND t.teacher_id = s.user_id AND t.course_id = c.id",
                )
                .bind(sis)
                .bind(code)
                .execute(&mut **c)
                .await?
                .rows_affected();
            }
        }
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(c) => {
            for chunk in links.chunks(ROWS) {
                let mut sql = String::from("WITH v(sis, code, role) AS (VALUES ");
                for i in 0..chunk.len() {
                    sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
                }
                sql.push_str(
                    ") INSERT INTO registrar_course_teachers (course_id, teacher_id, role) \
                     SELECT c.id, s.user_id, v.role FROM v \
                     JOIN registrar_user_sis_ids s ON s.sis_id = v.sis \
                     JOIN courses c ON c.course_code = v.code WHERE true \
                     ON CONFLICT (course_id, teacher_id) DO UPDATE SET role = excluded.role",
                );
                let mut q = sqlx::query(&sql);
                for (sis, code, role) in chunk {
                    q = q.bind(sis.as_str()).bind(code.as_str()).bind(*role);
                }
                let n = q.execute(&mut **c).await?.rows_affected();
                out.written += n;
                out.unresolved += chunk.len() as u64 - n.min(chunk.len() as u64);
            }
            for chunk in removed.chunks(ROWS) {
                let mut sql = String::from("WITH v(sis, code) AS (VALUES ");
                for i in 0..chunk.len() {
                    sql.push_str(if i == 0 { "(?, ?)" } else { ", (?, ?)" });
                }
                sql.push_str(
                    ") DELETE FROM registrar_course_teachers WHERE (teacher_id, course_id) IN \
                     (SELECT s.user_id, c.id FROM v \
                      JOIN registrar_user_sis_ids s ON s.sis_id = v.sis \
                      JOIN courses c ON c.course_code = v.code)",
                );
                let mut q = sqlx::query(&sql);
                for (sis, code) in chunk {
                    q = q.bind(sis.as_str()).bind(code.as_str());
                }
                deleted += q.execute(&mut **c).await?.rows_affected();
            }
        }
    }
    Ok((out, deleted))
}
