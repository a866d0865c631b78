//! The PostgreSQL side of the loader: `COPY ... FROM STDIN` and `UPDATE ... FROM UNNEST` for
//! rows that already exist.
//!
//! Enrollments, grades and attendance go through ONE streaming COPY per file in binary format
//! (`COPY ... FROM STDIN (FORMAT binary)`): each COPY's data starts with the 19-byte header
//! (`PGCOPY\n\xff\r\n\0`, int32 flags 0, int32 extension length 0) and ends with the int16
//! trailer -1; a tuple is an int16 field count and, per field, an int32 length (-1 for NULL)
//! and the value, big-endian: `bigint` 8 bytes, `date` int32 days since 2000-01-01, `double
//! precision` the f64 bits, `text` its UTF-8 bytes. Binary was measured against the text
//! format it replaced (BENCHMARKS.md, "PostgreSQL: binary COPY vs text (item 4)"): the same
//! wall time within noise at 1 M attendance rows, with less CPU on both sides (no number
//! formatting or escaping here, no parsing on the server). Binary needs the columns to have
//! exactly the types of `migrations/postgres/0001_sms_schema.sql` (an adopted table with, say,
//! `integer` ids is refused by the server with an error; the reads of `existing` need the same
//! types when the table holds rows). Users and courses (few rows) keep one text COPY per
//! 64k-row buffer.

use super::writer::*;
use super::{FileCounts, LoadMsg, Loader};
use crate::{Conn, Error, Result};
use chrono::{Datelike, NaiveDate};
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
        let sql = copy_sql_binary(entity)?;
        copy_buf.clear();
        loop {
            // No COPY is open here: the data of the next one starts with the header.
            copy_buf.extend_from_slice(BINARY_HEADER);
            let mut ended =
                fill_copy_buf(rx, &mut sort, &mut new_rows, &mut updates, copy_buf).await?;
            report(&*sort.counts);
            if copy_buf.len() == BINARY_HEADER.len() {
                // No new rows: no COPY.
                copy_buf.clear();
            } else {
                let mut copy = conn.copy_in_raw(sql).await?;
                loop {
                    let last = ended || updates.len() >= PG_UPDATE_ROWS;
                    if last {
                        copy_buf.extend_from_slice(&BINARY_TRAILER);
                    }
                    if !copy_buf.is_empty() {
                        copy.send(copy_buf.as_slice()).await?;
                        copy_buf.clear();
                    }
                    if last {
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

/// Receives and sorts records until `buf` holds [`PG_COPY_BYTES`] of binary COPY data, or
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
        encode_rows_binary(new_rows, buf)?;
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

fn copy_num<T: std::fmt::Display>(out: &mut Vec<u8>, n: Option<T>) {
    match n {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
}

/// What starts the data of a binary COPY: the 11-byte signature, the flags (0: no OIDs) and
/// the length of the header extension (0), both int32.
const BINARY_HEADER: &[u8; 19] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// What ends the data of a binary COPY: a field count of -1 (int16).
const BINARY_TRAILER: [u8; 2] = (-1i16).to_be_bytes();
/// Days from 0001-01-01 (proleptic Gregorian, day 1 of the common era) to 2000-01-01, the
/// epoch of PostgreSQL's binary `date`.
const PG_EPOCH_DAYS_FROM_CE: i32 = 730_120;

/// Starts a tuple of `fields` fields.
fn bin_tuple(out: &mut Vec<u8>, fields: i16) {
    out.extend_from_slice(&fields.to_be_bytes());
}

fn bin_null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_be_bytes());
}

/// A `bigint` field.
fn bin_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
}

/// A `double precision` field (its IEEE 754 bits, big-endian), or NULL.
fn bin_f64(out: &mut Vec<u8>, n: Option<f64>) {
    match n {
        Some(n) => {
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&n.to_bits().to_be_bytes());
        }
        None => bin_null(out),
    }
}

/// A `date` field (int32 days since 2000-01-01), or NULL.
fn bin_date(out: &mut Vec<u8>, d: Option<NaiveDate>) {
    match d {
        Some(d) => {
            // chrono's dates span about ±262,000 years (under 100 M days), so this never
            // overflows; the server refuses a date outside its own range with an error.
            let days = d.num_days_from_ce() - PG_EPOCH_DAYS_FROM_CE;
            out.extend_from_slice(&4i32.to_be_bytes());
            out.extend_from_slice(&days.to_be_bytes());
        }
        None => bin_null(out),
    }
}

/// A `text` field (its UTF-8 bytes, nothing escaped), or NULL.
fn bin_text(out: &mut Vec<u8>, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => {
            let len = i32::try_from(s.len()).map_err(|_| {
                Error::Refused(format!(
                    "a value of {} bytes is longer than a PostgreSQL field can be \
                     (1 GiB at most); nothing was written",
                    s.len()
                ))
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        None => bin_null(out),
    }
    Ok(())
}

/// The `COPY ... FROM STDIN (FORMAT binary)` statement of a streaming links table; the field
/// order is the one [`encode_rows_binary`] writes.
fn copy_sql_binary(entity: Entity) -> Result<&'static str> {
    Ok(match entity {
        Entity::Enrollments => {
            "COPY enrollments (student_id, course_id, enrollment_date) FROM STDIN (FORMAT binary)"
        }
        Entity::Grades => {
            "COPY grades (student_id, course_id, assessment, score, letter_grade, graded_on) \
             FROM STDIN (FORMAT binary)"
        }
        Entity::Attendance => {
            "COPY attendances (student_id, course_id, attendance_date, status) \
             FROM STDIN (FORMAT binary)"
        }
        Entity::Users | Entity::Courses => return Err(not_streamed()),
    })
}

fn not_streamed() -> Error {
    Error::Internal("internal error: users and courses are not loaded with a binary COPY".into())
}

/// Appends `rows` as binary COPY tuples to `buf` (no header or trailer: the caller writes
/// them once per COPY). Column types as in `migrations/postgres/0001_sms_schema.sql`: the ids
/// `bigint`, the dates `date`, `score` `double precision`, the rest `text`.
fn encode_rows_binary(rows: &Rows, buf: &mut Vec<u8>) -> Result<()> {
    match rows {
        Rows::Enrollments(v) => {
            buf.reserve(v.len() * 34);
            for r in v {
                bin_tuple(buf, 3);
                bin_i64(buf, r.s);
                bin_i64(buf, r.c);
                bin_date(buf, r.date);
            }
        }
        Rows::Grades(v) => {
            for r in v {
                bin_tuple(buf, 6);
                bin_i64(buf, r.s);
                bin_i64(buf, r.c);
                bin_text(buf, Some(&r.assessment))?;
                bin_f64(buf, r.score);
                bin_text(buf, r.letter)?;
                bin_date(buf, r.graded_on);
            }
        }
        Rows::Attendance(v) => {
            buf.reserve(v.len() * 45);
            for r in v {
                bin_tuple(buf, 4);
                bin_i64(buf, r.s);
                bin_i64(buf, r.c);
                bin_date(buf, Some(r.date));
                bin_text(buf, Some(r.status))?;
            }
        }
        Rows::Users(_) | Rows::Courses(_) => return Err(not_streamed()),
    }
    Ok(())
}

/// Encodes users or courses as COPY text into `buf` (cleared first); returns the COPY
/// statement.
fn encode_copy(rows: &Rows, buf: &mut Vec<u8>) -> Result<&'static str> {
    buf.clear();
    encode_rows(rows, buf)?;
    copy_sql(rows)
}

/// The text `COPY ... FROM STDIN` statement of the users or courses.
fn copy_sql(rows: &Rows) -> Result<&'static str> {
    Ok(match rows {
        Rows::Users(_) => {
            "COPY users (email, password_hash, role, first_name, last_name, is_active) FROM STDIN"
        }
        Rows::Courses(_) => {
            "COPY courses (course_code, course_name, description, semester, credits, status) FROM STDIN"
        }
        Rows::Enrollments(_) | Rows::Grades(_) | Rows::Attendance(_) => return Err(streamed()),
    })
}

fn streamed() -> Error {
    Error::Internal(
        "internal error: enrollments, grades and attendance are loaded with a binary COPY".into(),
    )
}

/// Appends users or courses as COPY text to `buf`.
fn encode_rows(rows: &Rows, buf: &mut Vec<u8>) -> Result<()> {
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
        Rows::Enrollments(_) | Rows::Grades(_) | Rows::Attendance(_) => return Err(streamed()),
    }
    Ok(())
}

pub(super) async fn pg_copy(
    conn: &mut sqlx::PgConnection,
    rows: &Rows,
    buf: &mut Vec<u8>,
) -> Result<()> {
    let sql = encode_copy(rows, buf)?;
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
        let rows = Rows::Users(vec![UserRow {
            id: 0,
            email: "a.b@x.org".into(),
            password_hash: None,
            role: "student",
            first_name: "A\tB".into(),
            last_name: "C".into(),
            is_active: false,
        }]);
        let sql = encode_copy(&rows, &mut b).unwrap();
        assert!(sql.starts_with("COPY users"));
        assert_eq!(b, b"a.b@x.org\t\\N\tstudent\tA\\tB\tC\tf\n");
        // The links tables go through the binary COPY only.
        let rows = Rows::Enrollments(vec![EnrollRow {
            s: 3,
            c: 4,
            date: None,
        }]);
        assert!(encode_copy(&rows, &mut b).is_err());
    }

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn binary_header_trailer_and_epoch() {
        assert_eq!(&BINARY_HEADER[..11], b"PGCOPY\n\xff\r\n\0");
        assert_eq!(&BINARY_HEADER[11..], &[0u8; 8]);
        assert_eq!(BINARY_TRAILER, [0xff, 0xff]);
        assert_eq!(ymd(2000, 1, 1).num_days_from_ce(), PG_EPOCH_DAYS_FROM_CE);
        assert!(copy_sql_binary(Entity::Users).is_err());
        assert!(encode_rows_binary(&Rows::Courses(Vec::new()), &mut Vec::new()).is_err());
    }

    #[test]
    fn binary_attendance_row_bytes() {
        // A large id (above 2^32), a date before 2000 (day -1).
        let rows = Rows::Attendance(vec![AttRow {
            s: 5_000_000_000,
            c: 7,
            date: ymd(1999, 12, 31),
            status: "late",
        }]);
        let mut b = Vec::new();
        encode_rows_binary(&rows, &mut b).unwrap();
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 4,                                   // 4 fields
            0, 0, 0, 8, 0, 0, 0, 1, 0x2a, 0x05, 0xf2, 0x00, // student_id 5,000,000,000
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7,     // course_id 7
            0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff,     // 1999-12-31 = day -1
            0, 0, 0, 4, b'l', b'a', b't', b'e',     // status
        ];
        assert_eq!(b, want);
        assert!(copy_sql_binary(Entity::Attendance)
            .unwrap()
            .starts_with("COPY attendances (student_id, course_id, attendance_date, status) FROM STDIN (FORMAT binary)"));
    }

    #[test]
    fn binary_enrollment_row_with_null_date_and_a_later_date() {
        let rows = Rows::Enrollments(vec![
            EnrollRow {
                s: 3,
                c: 4,
                date: None,
            },
            EnrollRow {
                s: i64::MAX,
                c: 1,
                date: Some(ymd(2024, 9, 2)),
            },
        ]);
        let mut b = Vec::new();
        encode_rows_binary(&rows, &mut b).unwrap();
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 3,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 4,
            0xff, 0xff, 0xff, 0xff,                 // NULL date
            0, 3,
            0, 0, 0, 8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 4, 0, 0, 0x23, 0x33,           // 2024-09-02 = day 9011
        ];
        assert_eq!(b, want);
    }

    #[test]
    fn binary_grade_rows_bytes() {
        let rows = Rows::Grades(vec![
            GradeRow {
                s: 1,
                c: 2,
                assessment: "quiz é".into(),
                score: Some(87.5),
                letter: None,
                graded_on: Some(ymd(1970, 1, 1)),
            },
            GradeRow {
                s: 1,
                c: 2,
                assessment: "final".into(),
                score: None,
                letter: Some("B+"),
                graded_on: None,
            },
        ]);
        let mut b = Vec::new();
        encode_rows_binary(&rows, &mut b).unwrap();
        #[rustfmt::skip]
        let want: &[u8] = &[
            0, 6,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2,
            0, 0, 0, 7, b'q', b'u', b'i', b'z', b' ', 0xc3, 0xa9, // UTF-8, unescaped
            0, 0, 0, 8, 0x40, 0x55, 0xe0, 0, 0, 0, 0, 0,  // 87.5
            0xff, 0xff, 0xff, 0xff,                       // no letter
            0, 0, 0, 4, 0xff, 0xff, 0xd5, 0x33,           // 1970-01-01 = day -10957
            0, 6,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1,
            0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2,
            0, 0, 0, 5, b'f', b'i', b'n', b'a', b'l',
            0xff, 0xff, 0xff, 0xff,                       // no score
            0, 0, 0, 2, b'B', b'+',
            0xff, 0xff, 0xff, 0xff,                       // no date
        ];
        assert_eq!(b, want);
    }
}
