//! The SQLite side of the loader: multi-row `INSERT ... VALUES` statements under SQLite's
//! bind-parameter limit, `UPDATE ... FROM (VALUES ...)` for rows that already exist.

use super::writer::*;
use crate::Result;

pub(super) async fn sqlite_insert(conn: &mut sqlx::SqliteConnection, rows: &Rows) -> Result<()> {
    use sqlx::QueryBuilder;
    let per = SQLITE_MAX_BINDS / rows.columns();
    macro_rules! insert {
        ($v:expr, $sql:expr, |$b:ident, $r:ident| $body:block) => {
            for chunk in $v.chunks(per) {
                let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new($sql);
                q.push_values(chunk, |mut $b, $r| $body);
                q.build().execute(&mut *conn).await?;
            }
        };
    }
    match rows {
        Rows::Users(v) => insert!(
            v,
            "INSERT INTO users (email, password_hash, role, first_name, last_name, is_active) ",
            |b, u| {
                b.push_bind(u.email.as_str())
                    .push_bind(u.password_hash.as_deref())
                    .push_bind(u.role)
                    .push_bind(u.first_name.as_str())
                    .push_bind(u.last_name.as_str())
                    .push_bind(u.is_active);
            }
        ),
        Rows::Courses(v) => insert!(
            v,
            "INSERT INTO courses (course_code, course_name, description, semester, credits, status) ",
            |b, r| {
                b.push_bind(r.c.course_code.as_str())
                    .push_bind(r.c.course_name.as_str())
                    .push_bind(r.c.description.as_deref())
                    .push_bind(r.c.semester.as_deref())
                    .push_bind(r.c.credits)
                    .push_bind(r.c.status.as_str());
            }
        ),
        Rows::Enrollments(v) => insert!(
            v,
            "INSERT INTO enrollments (student_id, course_id, enrollment_date) ",
            |b, r| {
                b.push_bind(r.s).push_bind(r.c).push_bind(r.date);
            }
        ),
        Rows::Grades(v) => insert!(
            v,
            "INSERT INTO grades (student_id, course_id, assessment, score, letter_grade, graded_on) ",
            |b, r| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(r.assessment.as_str())
                    .push_bind(r.score)
                    .push_bind(r.letter)
                    .push_bind(r.graded_on);
            }
        ),
        Rows::Attendance(v) => insert!(
            v,
            "INSERT INTO attendances (student_id, course_id, attendance_date, status) ",
            |b, r| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(r.date)
                    .push_bind(r.status);
            }
        ),
    }
    Ok(())
}

/// Runs the updates; returns the ids of the rows updated (the run records them as its own).
pub(super) async fn sqlite_update(
    conn: &mut sqlx::SqliteConnection,
    rows: &Rows,
) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = Vec::new();
    use sqlx::QueryBuilder;
    let per = SQLITE_MAX_BINDS / rows.columns();
    // `UPDATE ... FROM (VALUES ...) AS v`: the VALUES columns are named column1, column2, ...
    macro_rules! update {
        ($v:expr, $head:expr, $tail:expr, |$b:ident, $r:ident| $body:block) => {
            for chunk in $v.chunks(per) {
                let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new($head);
                q.push_values(chunk, |mut $b, $r| $body);
                q.push($tail);
                q.push(" RETURNING id");
                let got: Vec<(i64,)> = q.build_query_as().fetch_all(&mut *conn).await?;
                ids.extend(got.into_iter().map(|(id,)| id));
            }
        };
    }
    const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
    match rows {
        Rows::Users(v) => update!(
            v,
            format!(
                "UPDATE users SET role = v.column2, first_name = v.column3, last_name = v.column4, \
                 is_active = v.column5, password_hash = COALESCE(v.column6, users.password_hash), \
                 updated_at = {NOW} FROM ("
            ),
            ") AS v WHERE users.id = v.column1",
            |b, u| {
                b.push_bind(u.id)
                    .push_bind(u.role)
                    .push_bind(u.first_name.as_str())
                    .push_bind(u.last_name.as_str())
                    .push_bind(u.is_active)
                    .push_bind(u.password_hash.as_deref());
            }
        ),
        Rows::Courses(v) => update!(
            v,
            format!(
                "UPDATE courses SET course_name = v.column2, description = v.column3, \
                 semester = v.column4, credits = v.column5, status = v.column6, \
                 updated_at = {NOW} FROM ("
            ),
            ") AS v WHERE courses.id = v.column1",
            |b, r| {
                b.push_bind(r.id)
                    .push_bind(r.c.course_name.as_str())
                    .push_bind(r.c.description.as_deref())
                    .push_bind(r.c.semester.as_deref())
                    .push_bind(r.c.credits)
                    .push_bind(r.c.status.as_str());
            }
        ),
        Rows::Enrollments(v) => update!(
            v,
            "UPDATE enrollments SET enrollment_date = v.column3 FROM (",
            ") AS v WHERE enrollments.student_id = v.column1 AND enrollments.course_id = v.column2",
            |b, r| {
                b.push_bind(r.s).push_bind(r.c).push_bind(r.date);
            }
        ),
        Rows::Grades(v) => update!(
            v,
            "UPDATE grades SET score = v.column4, letter_grade = v.column5, graded_on = v.column6 FROM (",
            ") AS v WHERE grades.student_id = v.column1 AND grades.course_id = v.column2 \
             AND lower(trim(grades.assessment)) = v.column3",
            |b, r| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(r.assessment.as_str())
                    .push_bind(r.score)
                    .push_bind(r.letter)
                    .push_bind(r.graded_on);
            }
        ),
        Rows::Attendance(v) => update!(
            v,
            "UPDATE attendances SET status = v.column4 FROM (",
            ") AS v WHERE attendances.student_id = v.column1 AND attendances.course_id = v.column2 \
             AND attendances.attendance_date = v.column3",
            |b, r| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(r.date)
                    .push_bind(r.status);
            }
        ),
    }
    Ok(ids)
}
