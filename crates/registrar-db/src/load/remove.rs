//! A sync's removals: what the export no longer holds goes, inside the run's transaction.
//! Enrollments, grades and attendance rows are deleted; users are deactivated (never deleted:
//! their history stays); courses are set inactive. Set-based statements in chunks under
//! SQLite's bind limit, never a statement per row.

use super::writer::{unresolved, SQLITE_MAX_BINDS};
use super::Loader;
use crate::{Conn, Result};
use registrar_model::{Entity, NaturalKey};

/// Rows removed (deleted or deactivated) per entity, in [`Entity`] order.
pub type Removed = [u64; 5];

macro_rules! run_chunks {
    ($conn:expr, $items:expr, $cols:expr, $head:expr, $tail:expr, |$b:ident, $it:ident| $body:block) => {{
        let mut n: u64 = 0;
        let per = (SQLITE_MAX_BINDS / $cols).max(1);
        for chunk in $items.chunks(per) {
            match &mut *$conn {
                #[cfg(feature = "postgres")]
                Conn::Pg(c) => {
                    let mut q: sqlx::QueryBuilder<sqlx::Postgres> = sqlx::QueryBuilder::new($head);
                    q.push_values(chunk, |mut $b, $it| $body);
                    q.push($tail);
                    n += q.build().execute(&mut **c).await?.rows_affected();
                }
                #[cfg(feature = "sqlite")]
                Conn::Sqlite(c) => {
                    let mut q: sqlx::QueryBuilder<sqlx::Sqlite> = sqlx::QueryBuilder::new($head);
                    q.push_values(chunk, |mut $b, $it| $body);
                    q.push($tail);
                    n += q.build().execute(&mut **c).await?.rows_affected();
                }
            }
        }
        n
    }};
}

impl Loader<'_, '_> {
    fn user_id(&self, email: &str) -> Result<i64> {
        self.ids
            .users
            .get(email)
            .copied()
            .ok_or_else(|| unresolved("user", email))
    }

    fn course_id(&self, code: &str) -> Result<i64> {
        self.ids
            .courses
            .get(code)
            .copied()
            .ok_or_else(|| unresolved("course", code))
    }

    /// Removes the rows named by `keys` (what a sync found the export no longer holds):
    /// deletes links, deactivates users, sets courses inactive. Returns the rows changed per
    /// entity. Links go first, so a deactivated user's or course's own rows are already gone
    /// when the export dropped them too.
    pub async fn remove(&mut self, keys: &[NaturalKey]) -> Result<Removed> {
        let mut out: Removed = [0; 5];
        let mut users = Vec::new();
        let mut courses = Vec::new();
        let mut enrollments = Vec::new();
        let mut grades = Vec::new();
        let mut attendance = Vec::new();
        for k in keys {
            match k {
                NaturalKey::User(e) => users.push(self.user_id(e)?),
                NaturalKey::Course(c) => courses.push(self.course_id(c)?),
                NaturalKey::Enrollment(e, c) => {
                    enrollments.push((self.user_id(e)?, self.course_id(c)?))
                }
                NaturalKey::Grade(e, c, a) => {
                    grades.push((self.user_id(e)?, self.course_id(c)?, a.clone()))
                }
                NaturalKey::Attendance(e, c, d) => {
                    attendance.push((self.user_id(e)?, self.course_id(c)?, *d))
                }
            }
        }
        let conn = &mut *self.conn;
        out[Entity::Attendance as usize] = run_chunks!(
            conn,
            attendance,
            3,
            "DELETE FROM attendances WHERE (student_id, course_id, attendance_date) IN (",
            ")",
            |b, r| {
                b.push_bind(r.0).push_bind(r.1).push_bind(r.2);
            }
        );
        out[Entity::Grades as usize] = run_chunks!(
            conn,
            grades,
            3,
            "DELETE FROM grades WHERE (student_id, course_id, lower(trim(assessment))) IN (",
            ")",
            |b, r| {
                b.push_bind(r.0).push_bind(r.1).push_bind(r.2.clone());
            }
        );
        out[Entity::Enrollments as usize] = run_chunks!(
            conn,
            enrollments,
            2,
            "DELETE FROM enrollments WHERE (student_id, course_id) IN (",
            ")",
            |b, r| {
                b.push_bind(r.0).push_bind(r.1);
            }
        );
        let now = match conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(_) => "now()",
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(_) => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        };
        out[Entity::Users as usize] = run_chunks!(
            conn,
            users,
            1,
            format!(
                "UPDATE users SET is_active = FALSE, updated_at = {now} \
                 WHERE is_active AND id IN (SELECT * FROM ("
            ),
            ") AS v)",
            |b, id| {
                b.push_bind(*id);
            }
        );
        out[Entity::Courses as usize] = run_chunks!(
            conn,
            courses,
            1,
            format!(
                "UPDATE courses SET status = 'inactive', updated_at = {now} \
                 WHERE status = 'active' AND id IN (SELECT * FROM ("
            ),
            ") AS v)",
            |b, id| {
                b.push_bind(*id);
            }
        );
        Ok(out)
    }
}
