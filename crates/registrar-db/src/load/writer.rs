//! The loader: turns validated records into database rows inside the run's transaction.
//!
//! It runs as an async task consuming batches from a bounded channel while a blocking thread
//! reads and validates (so reading overlaps with writing). References are resolved in memory
//! (email / course code → id maps), never with a query per row:
//! - PostgreSQL: new rows go straight into the final tables with `COPY ... FROM STDIN` (text
//!   format). Enrollments, grades and attendance keep ONE COPY open per file and send each
//!   ~1 MiB of encoded rows as it fills (no round trip per buffer, so the server never waits
//!   for the client to start the next COPY); users and courses (few rows) use one COPY per
//!   64k-row buffer. Updates use `UPDATE ... FROM UNNEST($1::bigint[], ...)`; while a COPY is
//!   open the connection belongs to it, so rows to update wait and the COPY is finished before
//!   they are applied (and reopened for the next new rows).
//! - SQLite: multi-row `INSERT ... VALUES (...), (...)` statements under the 32,766
//!   bind-parameter limit; updates use `UPDATE ... FROM (VALUES ...)`.
//!
//! After users and after courses, the id maps are refreshed with one `SELECT` each.

use super::existing::{refresh_courses, refresh_users, KnownIds};
use super::{FileCounts, LoadItem, LoadMsg};
use crate::hash::{HashError, HashResults};
use crate::Conn;
use crate::{Error, Result};
use chrono::NaiveDate;
use registrar_model::{Course, Entity, OnExisting, Record, User};
use std::collections::HashMap;
use std::io::Write;
use tokio::sync::mpsc;

/// SQLite's limit on bind parameters per statement.
const SQLITE_MAX_BINDS: usize = 32_766;
/// Rows buffered before a PostgreSQL COPY (users and courses).
const PG_COPY_ROWS: usize = 65_536;
/// Bytes of COPY text sent per `CopyData` message on a streaming COPY (links tables).
const PG_COPY_BYTES: usize = 1 << 20;
/// Rows per PostgreSQL `UPDATE ... FROM UNNEST` statement.
const PG_UPDATE_ROWS: usize = 50_000;

struct UserRow {
    id: i64,
    email: String,
    password_hash: Option<String>,
    role: &'static str,
    first_name: String,
    last_name: String,
    is_active: bool,
}

struct PendingUser {
    file: usize,
    row: UserRow,
    existing: bool,
    slot: Option<u32>,
}

struct CourseRow {
    id: i64,
    c: Course,
}

#[derive(Clone, Copy)]
struct EnrollRow {
    s: i64,
    c: i64,
    date: Option<NaiveDate>,
}

struct GradeRow {
    s: i64,
    c: i64,
    assessment: String,
    score: Option<f64>,
    letter: Option<&'static str>,
    graded_on: Option<NaiveDate>,
}

#[derive(Clone, Copy)]
struct AttRow {
    s: i64,
    c: i64,
    date: NaiveDate,
    status: &'static str,
}

/// Rows of one table waiting to be written.
enum Rows {
    Users(Vec<UserRow>),
    Courses(Vec<CourseRow>),
    Enrollments(Vec<EnrollRow>),
    Grades(Vec<GradeRow>),
    Attendance(Vec<AttRow>),
}

impl Rows {
    fn empty(entity: Entity) -> Rows {
        match entity {
            Entity::Users => Rows::Users(Vec::new()),
            Entity::Courses => Rows::Courses(Vec::new()),
            Entity::Enrollments => Rows::Enrollments(Vec::new()),
            Entity::Grades => Rows::Grades(Vec::new()),
            Entity::Attendance => Rows::Attendance(Vec::new()),
        }
    }
    fn len(&self) -> usize {
        match self {
            Rows::Users(v) => v.len(),
            Rows::Courses(v) => v.len(),
            Rows::Enrollments(v) => v.len(),
            Rows::Grades(v) => v.len(),
            Rows::Attendance(v) => v.len(),
        }
    }
    fn clear(&mut self) {
        match self {
            Rows::Users(v) => v.clear(),
            Rows::Courses(v) => v.clear(),
            Rows::Enrollments(v) => v.clear(),
            Rows::Grades(v) => v.clear(),
            Rows::Attendance(v) => v.clear(),
        }
    }
    fn columns(&self) -> usize {
        match self {
            Rows::Users(_) | Rows::Courses(_) | Rows::Grades(_) => 7,
            Rows::Enrollments(_) => 3,
            Rows::Attendance(_) => 4,
        }
    }
}

/// What sorting one file's records needs (borrowed from the [`Loader`], so a streaming COPY
/// can hold the connection at the same time).
struct Sort<'s> {
    ids: &'s KnownIds,
    counts: &'s mut FileCounts,
    on_existing: OnExisting,
    pending_users: &'s mut Vec<PendingUser>,
    file: usize,
}

fn no_counts() -> Error {
    Error::Refused("internal error: a file index outside the run's files".into())
}

/// Writes the batches of one run into a transaction the caller owns.
pub struct Loader<'c, 'a> {
    conn: &'a mut Conn<'c>,
    ids: KnownIds,
    counts: Vec<FileCounts>,
    on_existing: OnExisting,
    hashes: HashResults,
    pending_users: Vec<PendingUser>,
    progress: Option<std::sync::Arc<dyn registrar_model::Progress>>,
    copy_buf: Vec<u8>,
    /// Set when the hashes were cancelled (the reading side found the run cannot commit):
    /// nothing more is written, the channel is only drained.
    abandoned: bool,
}

fn unresolved(what: &str, key: &str) -> Error {
    Error::Refused(format!(
        "internal error: the validated {what} {key} has no id in the database; \
         please report this (nothing was written)"
    ))
}

impl<'c, 'a> Loader<'c, 'a> {
    /// A loader writing on `conn` for a run of `files` files, resolving references with
    /// `ids` (from [`super::read_existing`], in the same transaction) and taking the hashes of
    /// plain passwords from `hashes`.
    pub fn new(
        conn: &'a mut Conn<'c>,
        ids: KnownIds,
        files: usize,
        on_existing: OnExisting,
        hashes: HashResults,
        progress: Option<std::sync::Arc<dyn registrar_model::Progress>>,
    ) -> Self {
        Loader {
            conn,
            ids,
            counts: vec![FileCounts::default(); files],
            on_existing,
            hashes,
            pending_users: Vec::new(),
            progress,
            copy_buf: Vec::new(),
            abandoned: false,
        }
    }

    /// Rows written so far, per file index of the run.
    pub fn counts(&self) -> &[FileCounts] {
        &self.counts
    }

    /// True when the hashes were cancelled (the reading side found that the run cannot
    /// commit), so the loader stopped writing and only drained the channel.
    pub fn abandoned(&self) -> bool {
        self.abandoned
    }

    fn is_pg(&self) -> bool {
        matches!(self.conn, Conn::Pg(_))
    }

    /// Consumes the channel until it closes. `failed` is checked at the end: a run whose
    /// validation failed does not bother finishing the users (they are rolled back anyway).
    pub async fn run(
        &mut self,
        rx: &mut mpsc::Receiver<LoadMsg>,
        failed: &std::sync::atomic::AtomicBool,
    ) -> Result<()> {
        while let Some(msg) = rx.recv().await {
            let LoadMsg::Begin { file, entity } = msg else {
                continue; // rows of a skipped (or abandoned) file: drained
            };
            if self.abandoned {
                continue;
            }
            if matches!(
                entity,
                Entity::Enrollments | Entity::Grades | Entity::Attendance
            ) {
                if failed.load(std::sync::atomic::Ordering::Relaxed) {
                    // Validation already failed: drain, write nothing more.
                    continue;
                }
                self.flush_users().await?;
                if self.abandoned {
                    continue;
                }
            }
            self.load_file(file, entity, rx).await?;
        }
        if !self.abandoned && !failed.load(std::sync::atomic::Ordering::Relaxed) {
            self.flush_users().await?;
        }
        Ok(())
    }

    /// Loads one file's batches until its `End` (or the channel closes).
    async fn load_file(
        &mut self,
        file: usize,
        entity: Entity,
        rx: &mut mpsc::Receiver<LoadMsg>,
    ) -> Result<()> {
        if self.is_pg()
            && matches!(
                entity,
                Entity::Enrollments | Entity::Grades | Entity::Attendance
            )
        {
            return self.load_file_pg_stream(file, entity, rx).await;
        }
        let mut new_rows = Rows::empty(entity);
        let mut updates = Rows::empty(entity);
        let insert_at = if self.is_pg() {
            PG_COPY_ROWS
        } else {
            SQLITE_MAX_BINDS / new_rows.columns()
        };
        let update_at = if self.is_pg() {
            PG_UPDATE_ROWS
        } else {
            SQLITE_MAX_BINDS / updates.columns()
        };
        while let Some(msg) = rx.recv().await {
            let items = match msg {
                LoadMsg::Rows(items) => items,
                LoadMsg::End => break,
                LoadMsg::Begin { .. } => {
                    return Err(Error::Refused(
                        "internal error: a file started before the previous one ended".into(),
                    ))
                }
            };
            for item in items {
                self.sort(file)?.accept(item, &mut new_rows, &mut updates)?;
                if new_rows.len() >= insert_at {
                    self.insert(&new_rows).await?;
                    new_rows.clear();
                }
                if updates.len() >= update_at {
                    self.update(&updates).await?;
                    updates.clear();
                }
            }
        }
        if new_rows.len() > 0 {
            self.insert(&new_rows).await?;
        }
        if updates.len() > 0 {
            self.update(&updates).await?;
        }
        if entity == Entity::Courses {
            refresh_courses(self.conn, &mut self.ids).await?;
        }
        Ok(())
    }

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
    async fn load_file_pg_stream(
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
            ..
        } = self;
        let Conn::Pg(conn) = &mut **conn else {
            return Err(Error::Refused(
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
                        Ok(e) => ended = e,
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
                pg_update(conn, &updates).await?;
                updates.clear();
            }
            if ended {
                return Ok(());
            }
        }
    }

    /// The sorting state for `file`.
    fn sort(&mut self, file: usize) -> Result<Sort<'_>> {
        Ok(Sort {
            ids: &self.ids,
            counts: self.counts.get_mut(file).ok_or_else(no_counts)?,
            on_existing: self.on_existing,
            pending_users: &mut self.pending_users,
            file,
        })
    }

    /// Waits for the pending users' hashes, then writes them and refreshes the email map.
    async fn flush_users(&mut self) -> Result<()> {
        if self.pending_users.is_empty() {
            return Ok(());
        }
        let mut users = std::mem::take(&mut self.pending_users);
        let waiting: Vec<u32> = users.iter().filter_map(|u| u.slot).collect();
        if !waiting.is_empty() {
            if let Some(p) = &self.progress {
                p.phase("hashing passwords", Some(waiting.len() as u64));
            }
            let mut got: HashMap<u32, String> = HashMap::with_capacity(waiting.len());
            let wanted: std::collections::HashSet<u32> = waiting.iter().copied().collect();
            while got.len() < wanted.len() {
                let Some((slot, r)) = self.hashes.recv().await else {
                    return Err(Error::Refused(
                        "internal error: the hashing pipeline stopped early".into(),
                    ));
                };
                let hash = match r {
                    Ok(hash) => hash,
                    // The reading side cancelled the hashes because the run can no longer
                    // commit (a validation error): whichever of the two threads gets here
                    // first, the run ends with its report, never with this as an error.
                    Err(HashError::Cancelled) => {
                        self.abandoned = true;
                        return Ok(());
                    }
                    Err(e @ HashError::Refused(_)) => return Err(Error::Refused(e.to_string())),
                };
                if wanted.contains(&slot) {
                    got.insert(slot, hash);
                    if let Some(p) = &self.progress {
                        p.advance(1);
                    }
                }
            }
            for u in &mut users {
                if let Some(slot) = u.slot {
                    u.row.password_hash = got.remove(&slot);
                }
            }
        }
        let cols = 7;
        let insert_at = if self.is_pg() {
            PG_COPY_ROWS
        } else {
            SQLITE_MAX_BINDS / cols
        };
        let mut new_rows = Vec::new();
        let mut updates = Vec::new();
        for u in users {
            if u.existing {
                updates.push(u.row);
            } else {
                if u.row.password_hash.is_none() {
                    return Err(Error::Refused(format!(
                        "internal error: user {} has neither a password nor a hash",
                        u.row.email
                    )));
                }
                self.counts[u.file].inserted += 1;
                new_rows.push(u.row);
            }
        }
        for chunk in new_rows.chunks_mut(insert_at) {
            let rows = Rows::Users(chunk.iter_mut().map(take_user).collect());
            self.insert(&rows).await?;
        }
        for chunk in updates.chunks_mut(insert_at) {
            let rows = Rows::Users(chunk.iter_mut().map(take_user).collect());
            self.update(&rows).await?;
        }
        refresh_users(self.conn, &mut self.ids).await
    }

    async fn insert(&mut self, rows: &Rows) -> Result<()> {
        match &mut *self.conn {
            Conn::Pg(c) => pg_copy(c, rows, &mut self.copy_buf).await,
            Conn::Sqlite(c) => sqlite_insert(c, rows).await,
        }
    }

    async fn update(&mut self, rows: &Rows) -> Result<()> {
        match &mut *self.conn {
            Conn::Pg(c) => pg_update(c, rows).await,
            Conn::Sqlite(c) => sqlite_update(c, rows).await,
        }
    }
}

impl Sort<'_> {
    /// Sorts one validated record into new rows, updates or skips (and counts it).
    fn accept(&mut self, item: LoadItem, new_rows: &mut Rows, updates: &mut Rows) -> Result<()> {
        let LoadItem {
            record,
            existing,
            hash_slot: slot,
        } = item;
        if existing && self.on_existing != OnExisting::Update {
            // `Error` makes such rows invalid in validation, so this is `Skip`.
            self.counts.skipped += 1;
            return Ok(());
        }
        let counts = &mut *self.counts;
        if existing {
            counts.updated += 1;
        } else if !matches!(record, Record::User(_)) {
            counts.inserted += 1;
        }
        let target = if existing { updates } else { new_rows };
        match (record, target) {
            (Record::User(u), _) => {
                // Users wait for their hashes; counted when written.
                let User {
                    email,
                    password_hash,
                    role,
                    first_name,
                    last_name,
                    is_active,
                    password: _,
                } = u;
                let id = if existing {
                    *self
                        .ids
                        .users
                        .get(email.as_str())
                        .ok_or_else(|| unresolved("user", email.as_str()))?
                } else {
                    0
                };
                self.pending_users.push(PendingUser {
                    file: self.file,
                    row: UserRow {
                        id,
                        email: email.as_str().to_owned(),
                        password_hash,
                        role: role.as_str(),
                        first_name,
                        last_name,
                        is_active,
                    },
                    existing,
                    slot,
                });
            }
            (Record::Course(c), Rows::Courses(v)) => {
                let id = if existing {
                    *self
                        .ids
                        .courses
                        .get(c.course_code.as_str())
                        .ok_or_else(|| unresolved("course", c.course_code.as_str()))?
                } else {
                    0
                };
                v.push(CourseRow { id, c });
            }
            (Record::Enrollment(e), Rows::Enrollments(v)) => {
                let (s, c) = resolve(self.ids, e.student_email.as_str(), e.course_code.as_str())?;
                v.push(EnrollRow {
                    s,
                    c,
                    date: e.enrollment_date,
                });
            }
            (Record::Grade(g), Rows::Grades(v)) => {
                let (s, c) = resolve(self.ids, g.student_email.as_str(), g.course_code.as_str())?;
                v.push(GradeRow {
                    s,
                    c,
                    assessment: g.assessment,
                    score: g.score,
                    letter: g.letter_grade.map(|l| l.as_str()),
                    graded_on: g.graded_on,
                });
            }
            (Record::Attendance(a), Rows::Attendance(v)) => {
                let (s, c) = resolve(self.ids, a.student_email.as_str(), a.course_code.as_str())?;
                v.push(AttRow {
                    s,
                    c,
                    date: a.date,
                    status: a.status.as_str(),
                });
            }
            _ => {
                return Err(Error::Refused(
                    "internal error: a record arrived in another entity's file".into(),
                ))
            }
        }
        Ok(())
    }
}

fn resolve(ids: &KnownIds, email: &str, code: &str) -> Result<(i64, i64)> {
    let s = *ids
        .users
        .get(email)
        .ok_or_else(|| unresolved("student", email))?;
    let c = *ids
        .courses
        .get(code)
        .ok_or_else(|| unresolved("course", code))?;
    Ok((s, c))
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
                return Err(Error::Refused(
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

fn take_user(u: &mut UserRow) -> UserRow {
    UserRow {
        id: u.id,
        email: std::mem::take(&mut u.email),
        password_hash: u.password_hash.take(),
        role: u.role,
        first_name: std::mem::take(&mut u.first_name),
        last_name: std::mem::take(&mut u.last_name),
        is_active: u.is_active,
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

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

async fn pg_copy(conn: &mut sqlx::PgConnection, rows: &Rows, buf: &mut Vec<u8>) -> Result<()> {
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

async fn pg_update(conn: &mut sqlx::PgConnection, rows: &Rows) -> Result<()> {
    match rows {
        Rows::Users(v) => {
            sqlx::query(
                "UPDATE users AS u SET role = v.role, first_name = v.first_name, \
                 last_name = v.last_name, is_active = v.is_active, \
                 password_hash = COALESCE(v.password_hash, u.password_hash), updated_at = now() \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::text[]) \
                 AS v(id, role, first_name, last_name, is_active, password_hash) WHERE u.id = v.id",
            )
            .bind(v.iter().map(|u| u.id).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.role).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.first_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.last_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.is_active).collect::<Vec<_>>())
            .bind(v.iter().map(|u| u.password_hash.as_deref()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        Rows::Courses(v) => {
            sqlx::query(
                "UPDATE courses AS c SET course_name = v.n, description = v.d, semester = v.s, \
                 credits = v.cr, status = v.st, updated_at = now() \
                 FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) \
                 AS v(id, n, d, s, cr, st) WHERE c.id = v.id",
            )
            .bind(v.iter().map(|r| r.id).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.course_name.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.description.as_deref()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.semester.as_deref()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.credits).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c.status.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        Rows::Enrollments(v) => {
            sqlx::query(
                "UPDATE enrollments AS e SET enrollment_date = v.d \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::date[]) AS v(s, c, d) \
                 WHERE e.student_id = v.s AND e.course_id = v.c",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.date).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        Rows::Grades(v) => {
            sqlx::query(
                "UPDATE grades AS g SET score = v.sc, letter_grade = v.l, graded_on = v.go \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::float8[], $5::text[], $6::date[]) \
                 AS v(s, c, a, sc, l, go) \
                 WHERE g.student_id = v.s AND g.course_id = v.c AND lower(trim(g.assessment)) = v.a",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.assessment.as_str()).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.score).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.letter).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.graded_on).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        Rows::Attendance(v) => {
            sqlx::query(
                "UPDATE attendances AS a SET status = v.st \
                 FROM UNNEST($1::bigint[], $2::bigint[], $3::date[], $4::text[]) AS v(s, c, d, st) \
                 WHERE a.student_id = v.s AND a.course_id = v.c AND a.attendance_date = v.d",
            )
            .bind(v.iter().map(|r| r.s).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.c).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.date).collect::<Vec<_>>())
            .bind(v.iter().map(|r| r.status).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SQLite

async fn sqlite_insert(conn: &mut sqlx::SqliteConnection, rows: &Rows) -> Result<()> {
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

async fn sqlite_update(conn: &mut sqlx::SqliteConnection, rows: &Rows) -> Result<()> {
    use sqlx::QueryBuilder;
    let per = SQLITE_MAX_BINDS / rows.columns();
    // `UPDATE ... FROM (VALUES ...) AS v`: the VALUES columns are named column1, column2, ...
    macro_rules! update {
        ($v:expr, $head:expr, $tail:expr, |$b:ident, $r:ident| $body:block) => {
            for chunk in $v.chunks(per) {
                let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new($head);
                q.push_values(chunk, |mut $b, $r| $body);
                q.push($tail);
                q.build().execute(&mut *conn).await?;
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
    Ok(())
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
