//! The SQLite side of the loader: multi-row `INSERT ... VALUES` statements under SQLite's
//! bind-parameter limit, `UPDATE ... FROM (VALUES ...)` for rows that already exist.
//!
//! Enrollments, grades and attendance are double-buffered ([`Loader::load_file_sqlite_stream`]):
//! while SQLite's worker thread executes one statement of 8,191 rows, this task receives, sorts
//! and binds the next one, so the worker is never left waiting for the loader (before, the two
//! took turns, and the loader's share, about a fifth of the load, was added to the wall time).

use super::writer::*;
use super::{LoadItem, LoadMsg, Loader};
use crate::{Conn, Error, Result};
use chrono::{Datelike, NaiveDate};
use registrar_model::{Entity, Progress};
use tokio::sync::mpsc;

/// A date as the schema stores it (`YYYY-MM-DD`, chrono's `%F`), formatted without allocating:
/// binding chrono dates through sqlx formats each with `format("%F").to_string()`, a tenth of
/// the loader's CPU on attendance.
#[derive(Clone, Copy)]
pub(super) struct DateText {
    buf: [u8; 16],
    len: u8,
}

impl DateText {
    /// `d` as `YYYY-MM-DD` (years outside 0..=9999 as chrono writes them).
    pub(super) fn new(d: NaiveDate) -> DateText {
        let mut buf = [0u8; 16];
        let y = d.year();
        if (0..=9999).contains(&y) {
            let (y, m, day) = (y as u32, d.month(), d.day());
            let digits = [
                y / 1000,
                y / 100 % 10,
                y / 10 % 10,
                y % 10,
                m / 10,
                m % 10,
                day / 10,
                day % 10,
            ];
            let at = [0, 1, 2, 3, 5, 6, 8, 9];
            for (i, v) in at.into_iter().zip(digits) {
                buf[i] = b'0' + v as u8;
            }
            buf[4] = b'-';
            buf[7] = b'-';
            return DateText { buf, len: 10 };
        }
        let s = d.format("%F").to_string();
        let n = s.len().min(buf.len());
        buf[..n].copy_from_slice(&s.as_bytes()[..n]);
        DateText { buf, len: n as u8 }
    }

    /// The text to bind.
    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or_default()
    }
}

/// Formats the optional date of every row of a chunk.
fn date_texts<T>(rows: &[T], date: impl Fn(&T) -> Option<NaiveDate>) -> Vec<Option<DateText>> {
    rows.iter().map(|r| date(r).map(DateText::new)).collect()
}

impl Loader<'_, '_> {
    /// SQLite, enrollments / grades / attendance: double-buffered multi-row inserts. One chunk
    /// of [`SQLITE_MAX_BINDS`]` / columns` new rows is executed on SQLite's worker thread while
    /// the next one is received, sorted and bound here (`tokio::join!` on this task). Every full
    /// chunk has the same SQL, so its prepared statement is reused; only the file's last chunk
    /// differs. Rows to update are applied between chunks (they target rows that were in the
    /// database before the run, never rows of this file, so the order does not matter).
    pub(super) async fn load_file_sqlite_stream(
        &mut self,
        file: usize,
        entity: Entity,
        rx: &mut mpsc::Receiver<LoadMsg>,
    ) -> Result<()> {
        let Loader {
            conn,
            ids,
            counts,
            on_existing,
            pending_users,
            progress,
            updated,
            ..
        } = self;
        let updated = &mut updated[entity as usize];
        let Conn::Sqlite(conn) = &mut **conn else {
            return Err(Error::Internal(
                "internal error: a SQLite load on another engine".into(),
            ));
        };
        let progress = progress.as_deref();
        let mut sort = Sort {
            ids,
            counts: counts.get_mut(file).ok_or_else(no_counts)?,
            on_existing: *on_existing,
            pending_users,
            file,
        };
        let mut feed = Feed {
            rx,
            pending: Vec::new().into_iter(),
            ended: false,
        };
        let mut filling = Rows::empty(entity);
        let mut spare = Rows::empty(entity);
        let mut updates = Rows::empty(entity);
        let per = SQLITE_MAX_BINDS / filling.columns();
        let mut ready: Option<Rows> = None;
        loop {
            let fill = feed.fill(&mut sort, progress, &mut filling, &mut updates, per);
            match ready.take() {
                Some(chunk) => {
                    let (written, filled) = tokio::join!(sqlite_insert(conn, &chunk), fill);
                    written?;
                    filled?;
                    spare = chunk;
                    spare.clear();
                }
                None => fill.await?,
            }
            if updates.len() >= per || (feed.ended && updates.len() > 0) {
                updated.extend(sqlite_update(conn, &updates).await?);
                updates.clear();
            }
            if filling.len() >= per || (feed.ended && filling.len() > 0) {
                let next = std::mem::replace(&mut spare, Rows::empty(entity));
                ready = Some(std::mem::replace(&mut filling, next));
            }
            if feed.ended && ready.is_none() {
                return Ok(());
            }
        }
    }
}

/// The records of one file as they arrive, with what is left of a batch that filled a chunk.
struct Feed<'r> {
    rx: &'r mut mpsc::Receiver<LoadMsg>,
    pending: std::vec::IntoIter<LoadItem>,
    ended: bool,
}

impl Feed<'_> {
    /// Receives and sorts records until `new_rows` or `updates` holds `per` rows or the file
    /// ends (`self.ended`).
    async fn fill(
        &mut self,
        sort: &mut Sort<'_>,
        progress: Option<&dyn Progress>,
        new_rows: &mut Rows,
        updates: &mut Rows,
        per: usize,
    ) -> Result<()> {
        loop {
            for item in self.pending.by_ref() {
                sort.accept(item, new_rows, updates)?;
                if new_rows.len() >= per || updates.len() >= per {
                    return Ok(());
                }
            }
            if self.ended {
                return Ok(());
            }
            match self.rx.recv().await {
                Some(LoadMsg::Rows(items)) => {
                    if let Some(p) = progress {
                        p.write_advance(items.len() as u64);
                    }
                    self.pending = items.into_iter();
                }
                // A closed channel ends the file like `End` (the reader stopped).
                Some(LoadMsg::End) | None => self.ended = true,
                Some(LoadMsg::Begin { .. }) => {
                    return Err(Error::Internal(
                        "internal error: a file started before the previous one ended".into(),
                    ))
                }
            }
        }
    }
}

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
    // The same, with each row's date formatted first and bound as borrowed text.
    macro_rules! dated_insert {
        ($v:expr, $date:expr, $sql:expr, |$b:ident, $r:ident, $d:ident| $body:block) => {
            for chunk in $v.chunks(per) {
                let dates = date_texts(chunk, $date);
                let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new($sql);
                q.push_values(chunk.iter().zip(&dates), |mut $b, ($r, $d)| {
                    let $d = $d.as_ref().map(DateText::as_str);
                    $body
                });
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
        Rows::Enrollments(v) => dated_insert!(
            v,
            |r| r.date,
            "INSERT INTO enrollments (student_id, course_id, enrollment_date) ",
            |b, r, d| {
                b.push_bind(r.s).push_bind(r.c).push_bind(d);
            }
        ),
        Rows::Grades(v) => dated_insert!(
            v,
            |r| r.graded_on,
            "INSERT INTO grades (student_id, course_id, assessment, score, letter_grade, graded_on) ",
            |b, r, d| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(r.assessment.as_str())
                    .push_bind(r.score)
                    .push_bind(r.letter)
                    .push_bind(d);
            }
        ),
        Rows::Attendance(v) => dated_insert!(
            v,
            |r| Some(r.date),
            "INSERT INTO attendances (student_id, course_id, attendance_date, status) ",
            |b, r, d| {
                b.push_bind(r.s)
                    .push_bind(r.c)
                    .push_bind(d)
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

#[cfg(test)]
mod tests {
    use super::DateText;
    use chrono::NaiveDate;

    #[test]
    fn date_text_matches_chronos_iso_format() {
        let mut d = NaiveDate::from_ymd_opt(1899, 12, 25).unwrap();
        let end = NaiveDate::from_ymd_opt(2101, 1, 10).unwrap();
        while d < end {
            assert_eq!(DateText::new(d).as_str(), d.format("%F").to_string());
            d = d.succ_opt().unwrap();
        }
        for (y, m, day) in [
            (0, 1, 1),
            (9999, 12, 31),
            (-1, 6, 30),
            (10000, 1, 1),
            (5, 2, 3),
        ] {
            let d = NaiveDate::from_ymd_opt(y, m, day).unwrap();
            assert_eq!(
                DateText::new(d).as_str(),
                d.format("%F").to_string(),
                "{d:?}"
            );
        }
    }
}
