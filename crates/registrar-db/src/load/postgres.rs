//! The PostgreSQL side of the loader: `COPY ... FROM STDIN` in text format (one streaming COPY
//! per links file), `UPDATE ... FROM UNNEST` for rows that already exist.

use super::writer::*;
use super::{FileCounts, LoadMsg, Loader};
use crate::{Conn, Error, Result};
use chrono::NaiveDate;
use registrar_model::Entity;
use std::io::Write;
use tokio::sync::mpsc;

impl Loader<'_, '_> {
    /// PostgreSQL, enrollments / grades / attendance: ONE `COPY ... FROM STDIN` stays open for
    /// the file; each ~1 MiB of encoded rows is sent as soon as it fills ([`PG_COPY_BYTES`]) and
    /// the COPY is finished at the end of the file, so the server loads continuously instead of
    /// waiting for a round trip per buffer.
    ///
    /// Rows to update (`--on-existing update`) cannot go through the connection while the COPY
    /// holds it: they wait in `updates`; when [`PG_UPDATE_ROWS`] of them are waiting, the open
    /// COPY is sent what it has and finished, the `UPDATE ... FROM UNNEST` runs, and the next
    /// new rows open a new COPY. They target rows that were in the database before the run
    /// (never rows of this file), so the order of the two does not matter.
    pub(super) async fn load_file_pg_stream(
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
            copy_buf,
            progress,
            updated,
            ..
        } = self;
        let updated = &mut updated[entity as usize];
        // The write phase counts the rows sorted into the COPY (or the updates) so far.
        let written = |c: &FileCounts| c.inserted + c.updated + c.skipped;
        let mut reported: u64 = 0;
        let mut report = |c: &FileCounts| {
            let now = written(c);
            if let Some(p) = progress.as_ref() {
                p.write_advance(now.saturating_sub(reported));
            }
            reported = now;
        };
        let Conn::Pg(conn) = &mut **conn else {
            return Err(Error::Internal(
                "internal error: a PostgreSQL load on another engine".into(),
            ));
        };
        let mut sort = Sort {
            ids,
            counts: counts.get_mut(file).ok_or_else(no_counts)?,
            on_existing: *on_existing,
            pending_users,
            file,
        };
        let mut new_rows = Rows::empty(entity);
        let mut updates = Rows::empty(entity);
        let sql = copy_sql(&new_rows);
        copy_buf.clear();
        loop {
            // No COPY is open here.
            let mut ended =
                fill_copy_buf(rx, &mut sort, &mut new_rows, &mut updates, copy_buf).await?;
            report(&*sort.counts);
            if !copy_buf.is_empty() {
                let mut copy = conn.copy_in_raw(sql).await?;
                loop {
                    if !copy_buf.is_empty() {
                        copy.send(copy_buf.as_slice()).await?;
                        copy_buf.clear();
                    }
                    if ended || updates.len() >= PG_UPDATE_ROWS {
                        break;
                    }
                    match fill_copy_buf(rx, &mut sort, &mut new_rows, &mut updates, copy_buf).await
                    {
                        Ok(e) => {
                            ended = e;
                            report(&*sort.counts);
                        }
                        Err(e) => {
                            // Leave the connection usable for the rollback.
                            let _ = copy.abort("registrar: the load stopped").await;
                            return Err(e);
                        }
                    }
                }
                copy.finish().await?;
            }
            if updates.len() >= PG_UPDATE_ROWS || (ended && updates.len() > 0) {
                let ids = pg_update(conn, &updates).await?;
                updated.extend(ids);
                updates.clear();
            }
            if ended {
                return Ok(());
            }
        }
    }
}

/// Receives and sorts records until `buf` holds [`PG_COPY_BYTES`] of COPY text, or
/// [`PG_UPDATE_ROWS`] updates wait, or the file ends (`true`).
async fn fill_copy_buf(
    rx: &mut mpsc::Receiver<LoadMsg>,
    sort: &mut Sort<'_>,
    new_rows: &mut Rows,
    updates: &mut Rows,
    buf: &mut Vec<u8>,
) -> Result<bool> {
    while buf.len() < PG_COPY_BYTES && updates.len() < PG_UPDATE_ROWS {
        let items = match rx.recv().await {
            Some(LoadMsg::Rows(items)) => items,
            // A closed channel ends the file like `End` (the reader stopped).
            Some(LoadMsg::End) | None => return Ok(true),
            Some(LoadMsg::Begin { .. }) => {
                return Err(Error::Internal(
                    "internal error: a file started before the previous one ended".into(),
                ))
            }
        };
        for item in items {
            sort.accept(item, new_rows, updates)?;
        }
        encode_rows(new_rows, buf);
        new_rows.clear();
    }
    Ok(false)
}

/// Appends `s` in COPY text format (backslash, tab, newline and CR escaped).
fn copy_text(out: &mut Vec<u8>, s: &str) {
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

fn copy_opt_text(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => copy_text(out, s),
        None => out.extend_from_slice(b"\\N"),
    }
}

fn copy_date(out: &mut Vec<u8>, d: Option<NaiveDate>) {
    match d {
        // `%Y-%m-%d` never needs escaping.
        Some(d) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

fn copy_num<T: std::fmt::Display>(out: &mut Vec<u8>, n: Option<T>) {
    match n {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

/// Encodes `rows` as COPY text into `buf` (cleared first); returns the COPY statement.
fn encode_copy(rows: &Rows, buf: &mut Vec<u8>) -> &'static str {
    buf.clear();
    encode_rows(rows, buf);
    copy_sql(rows)
}

/// The `COPY ... FROM STDIN` statement of `rows`' table.
fn copy_sql(rows: &Rows) -> &'static str {
    match rows {
        Rows::Users(_) => {
            "COPY users (email, password_hash, role, first_name, last_name, is_active) FROM STDIN"
        }
        Rows::Courses(_) => {
            "COPY courses (course_code, course_name, description, semester, credits, status) FROM STDIN"
        }
        Rows::Enrollments(_) => {
            "COPY enrollments (student_id, course_id, enrollment_date) FROM STDIN"
        }
        Rows::Grades(_) => {
            "COPY grades (student_id, course_id, assessment, score, letter_grade, graded_on) FROM STDIN"
        }
        Rows::Attendance(_) => {
            "COPY attendances (student_id, course_id, attendance_date, status) FROM STDIN"
        }
    }
}

/// Appends `rows` as COPY text to `buf`.
fn encode_rows(rows: &Rows, buf: &mut Vec<u8>) {
    match rows {
        Rows::Users(v) => {
            for u in v {
                copy_text(buf, &u.email);
                buf.push(b'\t');
                copy_opt_text(buf, u.password_hash.as_deref());
                buf.push(b'\t');
                copy_text(buf, u.role);
                buf.push(b'\t');
                copy_text(buf, &u.first_name);
                buf.push(b'\t');
                copy_text(buf, &u.last_name);
                buf.extend_from_slice(if u.is_active { b"\tt\n" } else { b"\tf\n" });
            }
        }
        Rows::Courses(v) => {
            for r in v {
                let c = &r.c;
                copy_text(buf, c.course_code.as_str());
                buf.push(b'\t');
                copy_text(buf, &c.course_name);
                buf.push(b'\t');
                copy_opt_text(buf, c.description.as_deref());
                buf.push(b'\t');
                copy_opt_text(buf, c.semester.as_deref());
                buf.push(b'\t');
                copy_num(buf, c.credits);
                buf.push(b'\t');
                copy_text(buf, c.status.as_str());
                buf.push(b'\n');
            }
        }
        Rows::Enrollments(v) => {
            for r in v {
                let _ = write!(buf, "{}\t{}\t", r.s, r.c);
                copy_date(buf, r.date);
                buf.push(b'\n');
            }
        }
        Rows::Grades(v) => {
            for r in v {
                let _ = write!(buf, "{}\t{}\t", r.s, r.c);
                copy_text(buf, &r.assessment);
                buf.push(b'\t');
                copy_num(buf, r.score);
                buf.push(b'\t');
                copy_opt_text(buf, r.letter);
                buf.push(b'\t');
                copy_date(buf, r.graded_on);
                buf.push(b'\n');
            }
        }
        Rows::Attendance(v) => {
            for r in v {
                let _ = write!(buf, "{}\t{}\t", r.s, r.c);
                copy_date(buf, Some(r.date));
                buf.push(b'\t');
                buf.extend_from_slice(r.status.as_bytes());
                buf.push(b'\n');
            }
        }
    }
}

pub(super) async fn pg_copy(
    conn: &mut sqlx::PgConnection,
    rows: &Rows,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let sql = encode_copy(rows, buf);
    let mut copy = conn.copy_in_raw(sql).await?;
    for chunk in buf.chunks(1 << 20) {
        if let Err(e) = copy.send(chunk).await {
            // Best effort: the transaction is rolled back by the caller anyway.
            return Err(e.into());
        }
    }
    copy.finish().await?;
    Ok(())
}

/// Runs the updates; returns the ids of the rows updated (the run records them as its own).
pub(super) async fn pg_update(conn: &mut sqlx::PgConnection, rows: &Rows) -> Result<Vec<i64>> {
    let ids: Vec<(i64,)> = match rows {
        Rows::Users(v) => {
            sqlx::query_as(
                "UPDATE users AS u SET role = v.role, first_name = v.first_name, \
                 last_name = v.last_name, is_active = v.is_active, \
                 password_hash = COALESCE(v.password_hash, u.password_hash), updated_at = now() \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[]) \
                 AS v(id, role, first_name, last_name, is_active, password_hash) WHERE u.id = v.id RETURNING u.id",
            )
            .bind(v.iter().map(|u| u.id).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.role).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.first_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.last_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.is_active).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.password_hash.as_deref()).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?
        }
        Rows::Courses(v) => {
            sqlx::query_as(
                "UPDATE courses AS c SET course_name = v.n, description = v.d, semester = v.s, \
                 credits = v.cr, status = v.st, updated_at = now() \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) \
                 AS v(id, n, d, s, cr, st) WHERE c.id = v.id RETURNING c.id",
            )
            .bind(v.iter().map(|r| r.id).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.course_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.description.as_deref()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.semester.as_deref()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.credits).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.status.as_str()).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?
        }
        Rows::Enrollments(v) => {
            sqlx::query_as(
                "UPDATE enrollments AS e SET enrollment_date = v.d \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::date[]) AS v(s, c, d) \
                 WHERE e.student_id = v.s AND e.course_id = v.c RETURNING e.id",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.date).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?
        }
        Rows::Grades(v) => {
            sqlx::query_as(
                "UPDATE grades AS g SET score = v.sc, letter_grade = v.l, graded_on = v.go \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::float8[], $5::text[], $6::date[]) \
                 AS v(s, c, a, sc, l, go) \
                 WHERE g.student_id = v.s AND g.course_id = v.c AND lower(trim(g.assessment)) = v.a RETURNING g.id",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.assessment.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.score).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.letter).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.graded_on).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?
        }
        Rows::Attendance(v) => {
            sqlx::query_as(
                "UPDATE attendances AS a SET status = v.st \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::date[], $4::text[]) AS v(s, c, d, st) \
                 WHERE a.student_id = v.s AND a.course_id = v.c AND a.attendance_date = v.d RETURNING a.id",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.date).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.status).collect::<Vec<_>>())
            .fetch_all(&mut *conn)
            .await?
        }
    };
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_specials() {
        let mut b = Vec::new();
        copy_text(&mut b, "a\\b\tc\nd\re");
        assert_eq!(b, b"a\\\\b\\tc\\nd\\re");
        let rows = Rows::Attendance(vec![AttRow {
            s: 1,
            c: 2,
            date: NaiveDate::from_ymd_opt(2024, 9, 2).unwrap(),
            status: "late",
        }]);
        let sql = encode_copy(&rows, &mut b);
        assert!(sql.starts_with("COPY attendances"));
        assert_eq!(b, b"1\t2\t2024-09-02\tlate\n");
        let rows = Rows::Enrollments(vec![EnrollRow {
            s: 3,
            c: 4,
            date: None,
        }]);
        encode_copy(&rows, &mut b);
        assert_eq!(b, b"3\t4\t\\N\n");
    }
}
