//! The loader: turns validated records into database rows inside the run's transaction.
//!
//! It runs as an async task consuming batches from a bounded channel while a blocking thread
//! reads and validates (so reading overlaps with writing). References are resolved in memory
//! (email / course code → id maps), never with a query per row:
//! - PostgreSQL: new rows go straight into the final tables with `COPY ... FROM STDIN`.
//!   Enrollments, grades and attendance keep ONE COPY open per file in binary format
//!   (`(FORMAT binary)`, see `postgres.rs`) and send each ~1 MiB of encoded rows as it fills
//!   (no round trip per buffer, so the server never waits for the client to start the next
//!   COPY); users and courses (few rows) use one text-format COPY per 64k-row buffer. Updates use `UPDATE ... FROM UNNEST($1::bigint[], ...)`; while a COPY is
//!   open the connection belongs to it, so rows to update wait and the COPY is finished before
//!   they are applied (and reopened for the next new rows).
//! - SQLite: multi-row `INSERT ... VALUES (...), (...)` statements under the 32,766
//!   bind-parameter limit, double-buffered for the links tables (the next statement is sorted
//!   and bound while SQLite executes the last); updates use `UPDATE ... FROM (VALUES ...)`.
//!
//! After users and after courses, the id maps are refreshed with one `SELECT` each.

use super::existing::{refresh_courses, refresh_users, KnownIds};
use super::{FileCounts, LoadItem, LoadMsg};
use crate::hash::{HashError, HashResults};
use crate::Conn;
use crate::{Error, Result};
use chrono::NaiveDate;
use registrar_model::{Course, Entity, OnExisting, ProgressUnit, Record, User};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// SQLite's limit on bind parameters per statement.
pub(super) const SQLITE_MAX_BINDS: usize = 32_766;
/// Rows buffered before a PostgreSQL COPY (users and courses).
pub(super) const PG_COPY_ROWS: usize = 65_536;
/// Bytes of binary COPY data sent per `CopyData` message on a streaming COPY (links tables).
pub(super) const PG_COPY_BYTES: usize = 1 << 20;
/// Rows per PostgreSQL `UPDATE ... FROM UNNEST` statement.
pub(super) const PG_UPDATE_ROWS: usize = 50_000;

pub(super) struct UserRow {
    pub(super) id: i64,
    pub(super) email: String,
    pub(super) password_hash: Option<String>,
    pub(super) role: &'static str,
    pub(super) first_name: String,
    pub(super) last_name: String,
    pub(super) is_active: bool,
}

pub(super) struct PendingUser {
    pub(super) file: usize,
    pub(super) row: UserRow,
    pub(super) existing: bool,
    pub(super) slot: Option<u32>,
    pub(super) unchanged_if_hash: Option<String>,
    /// The external id to record (`registrar_user_sis_ids`), if the file gives one.
    pub(super) sis_id: Option<String>,
}

pub(super) struct CourseRow {
    pub(super) id: i64,
    pub(super) c: Course,
}

#[derive(Clone, Copy)]
pub(super) struct EnrollRow {
    pub(super) s: i64,
    pub(super) c: i64,
    pub(super) date: Option<NaiveDate>,
}

pub(super) struct GradeRow {
    pub(super) s: i64,
    pub(super) c: i64,
    pub(super) assessment: String,
    pub(super) score: Option<f64>,
    pub(super) letter: Option<&'static str>,
    pub(super) graded_on: Option<NaiveDate>,
}

#[derive(Clone, Copy)]
pub(super) struct AttRow {
    pub(super) s: i64,
    pub(super) c: i64,
    pub(super) date: NaiveDate,
    pub(super) status: &'static str,
}

/// Rows of one table waiting to be written.
pub(super) enum Rows {
    Users(Vec<UserRow>),
    Courses(Vec<CourseRow>),
    Enrollments(Vec<EnrollRow>),
    Grades(Vec<GradeRow>),
    Attendance(Vec<AttRow>),
}

impl Rows {
    pub(super) fn empty(entity: Entity) -> Rows {
        match entity {
            Entity::Users => Rows::Users(Vec::new()),
            Entity::Courses => Rows::Courses(Vec::new()),
            Entity::Enrollments => Rows::Enrollments(Vec::new()),
            Entity::Grades => Rows::Grades(Vec::new()),
            Entity::Attendance => Rows::Attendance(Vec::new()),
        }
    }
    pub(super) fn entity(&self) -> Entity {
        match self {
            Rows::Users(_) => Entity::Users,
            Rows::Courses(_) => Entity::Courses,
            Rows::Enrollments(_) => Entity::Enrollments,
            Rows::Grades(_) => Entity::Grades,
            Rows::Attendance(_) => Entity::Attendance,
        }
    }
    pub(super) fn len(&self) -> usize {
        match self {
            Rows::Users(v) => v.len(),
            Rows::Courses(v) => v.len(),
            Rows::Enrollments(v) => v.len(),
            Rows::Grades(v) => v.len(),
            Rows::Attendance(v) => v.len(),
        }
    }
    pub(super) fn clear(&mut self) {
        match self {
            Rows::Users(v) => v.clear(),
            Rows::Courses(v) => v.clear(),
            Rows::Enrollments(v) => v.clear(),
            Rows::Grades(v) => v.clear(),
            Rows::Attendance(v) => v.clear(),
        }
    }
    pub(super) fn columns(&self) -> usize {
        match self {
            Rows::Users(_) | Rows::Courses(_) | Rows::Grades(_) => 7,
            Rows::Enrollments(_) => 3,
            Rows::Attendance(_) => 4,
        }
    }
}

/// What sorting one file's records needs (borrowed from the [`Loader`], so a streaming COPY
/// can hold the connection at the same time).
pub(super) struct Sort<'s> {
    pub(super) ids: &'s KnownIds,
    pub(super) counts: &'s mut FileCounts,
    pub(super) on_existing: OnExisting,
    pub(super) pending_users: &'s mut Vec<PendingUser>,
    pub(super) file: usize,
}

pub(super) fn no_counts() -> Error {
    Error::Internal("internal error: a file index outside the run's files".into())
}

/// Writes the batches of one run into a transaction the caller owns.
pub struct Loader<'c, 'a> {
    pub(super) conn: &'a mut Conn<'c>,
    pub(super) ids: KnownIds,
    pub(super) counts: Vec<FileCounts>,
    pub(super) on_existing: OnExisting,
    pub(super) hashes: HashResults,
    pub(super) pending_users: Vec<PendingUser>,
    pub(super) progress: Option<std::sync::Arc<dyn registrar_model::Progress>>,
    pub(super) copy_buf: Vec<u8>,
    /// Set when the hashes were cancelled (the reading side found the run cannot commit):
    /// nothing more is written, the channel is only drained.
    pub(super) abandoned: bool,
    /// Ids of the rows updated, per entity (in [`Entity`] order).
    pub(super) updated: [Vec<i64>; 5],
}

pub(super) fn unresolved(what: &str, key: &str) -> Error {
    Error::Internal(format!(
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
            updated: Default::default(),
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

    /// Starts the write phase of a file of `entity`.
    fn write_phase(&self, entity: Entity) {
        if let Some(p) = &self.progress {
            p.write_phase(
                &format!("writing {}", entity.as_str()),
                ProgressUnit::Rows,
                None,
            );
        }
    }

    /// `n` more rows taken into the write phase.
    fn advance_written(&self, n: usize) {
        if let Some(p) = &self.progress {
            p.write_advance(n as u64);
        }
    }

    fn is_pg(&self) -> bool {
        #[cfg(feature = "postgres")]
        return matches!(self.conn, Conn::Pg(_));
        #[cfg(not(feature = "postgres"))]
        false
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
        self.write_phase(entity);
        #[cfg(feature = "postgres")]
        if self.is_pg()
            && matches!(
                entity,
                Entity::Enrollments | Entity::Grades | Entity::Attendance
            )
        {
            return self.load_file_pg_stream(file, entity, rx).await;
        }
        #[cfg(feature = "sqlite")]
        if !self.is_pg()
            && matches!(
                entity,
                Entity::Enrollments | Entity::Grades | Entity::Attendance
            )
        {
            return self.load_file_sqlite_stream(file, entity, rx).await;
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
                    return Err(Error::Internal(
                        "internal error: a file started before the previous one ended".into(),
                    ))
                }
            };
            self.advance_written(items.len());
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
                p.write_phase(
                    "hashing passwords",
                    ProgressUnit::Hashes,
                    Some(waiting.len() as u64),
                );
            }
            let mut got: HashMap<u32, String> = HashMap::with_capacity(waiting.len());
            let wanted: std::collections::HashSet<u32> = waiting.iter().copied().collect();
            while got.len() < wanted.len() {
                let Some((slot, r)) = self.hashes.recv().await else {
                    return Err(Error::Internal(
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
                    Err(e @ HashError::Refused(_)) => return Err(Error::Internal(e.to_string())),
                };
                if wanted.contains(&slot) {
                    got.insert(slot, hash);
                    if let Some(p) = &self.progress {
                        p.write_advance(1);
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
        let mut sis: Vec<(String, String)> = Vec::new();
        for u in &mut users {
            if let Some(s) = u.sis_id.take() {
                sis.push((u.row.email.clone(), s));
            }
        }
        for u in users {
            if u.existing {
                if u.unchanged_if_hash.is_some() && u.unchanged_if_hash == u.row.password_hash {
                    // Only the password differed, and the stored hash verifies it.
                    self.counts[u.file].unchanged += 1;
                    continue;
                }
                self.counts[u.file].updated += 1;
                updates.push(u.row);
            } else {
                if u.row.password_hash.is_none() {
                    return Err(Error::Internal(format!(
                        "internal error: user {} has neither a password nor a hash",
                        u.row.email
                    )));
                }
                self.counts[u.file].inserted += 1;
                new_rows.push(u.row);
            }
        }
        if let Some(p) = &self.progress {
            p.write_phase(
                "writing users",
                ProgressUnit::Rows,
                Some((new_rows.len() + updates.len()) as u64),
            );
        }
        for chunk in new_rows.chunks_mut(insert_at) {
            let rows = Rows::Users(chunk.iter_mut().map(take_user).collect());
            self.insert(&rows).await?;
            self.advance_written(chunk.len());
        }
        for chunk in updates.chunks_mut(insert_at) {
            let rows = Rows::Users(chunk.iter_mut().map(take_user).collect());
            self.update(&rows).await?;
            self.advance_written(chunk.len());
        }
        refresh_users(self.conn, &mut self.ids).await?;
        if !sis.is_empty() {
            let mut pairs = Vec::with_capacity(sis.len());
            for (email, s) in sis {
                let id = *self
                    .ids
                    .users
                    .get(&email)
                    .ok_or_else(|| unresolved("user", &email))?;
                pairs.push((id, s));
            }
            super::sis::write_sis_ids(self.conn, &pairs).await?;
        }
        Ok(())
    }

    async fn insert(&mut self, rows: &Rows) -> Result<()> {
        match &mut *self.conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => super::postgres::pg_copy(c, rows, &mut self.copy_buf).await,
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => super::sqlite::sqlite_insert(c, rows).await,
        }
    }

    async fn update(&mut self, rows: &Rows) -> Result<()> {
        let ids = match &mut *self.conn {
            #[cfg(feature = "postgres")]
            Conn::Pg(c) => super::postgres::pg_update(c, rows).await?,
            #[cfg(feature = "sqlite")]
            Conn::Sqlite(c) => super::sqlite::sqlite_update(c, rows).await?,
        };
        let entity = rows.entity();
        self.updated[entity as usize].extend(ids);
        Ok(())
    }

    /// The ids of the rows this run updated, per entity (in [`Entity`] order).
    pub fn updated_ids(&self) -> &[Vec<i64>; 5] {
        &self.updated
    }
}

impl Sort<'_> {
    /// Sorts one validated record into new rows, updates or skips (and counts it).
    pub(super) fn accept(
        &mut self,
        item: LoadItem,
        new_rows: &mut Rows,
        updates: &mut Rows,
    ) -> Result<()> {
        let LoadItem {
            record,
            existing,
            hash_slot: slot,
            unchanged_if_hash,
        } = item;
        if existing && self.on_existing != OnExisting::Update {
            // `Error` makes such rows invalid in validation, so this is `Skip`.
            self.counts.skipped += 1;
            return Ok(());
        }
        let counts = &mut *self.counts;
        if !matches!(record, Record::User(_)) {
            if existing {
                counts.updated += 1;
            } else {
                counts.inserted += 1;
            }
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
                    sis_id,
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
                    unchanged_if_hash,
                    sis_id,
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
                return Err(Error::Internal(
                    "internal error: a record arrived in another entity's file".into(),
                ))
            }
        }
        Ok(())
    }
}

pub(super) fn resolve(ids: &KnownIds, email: &str, code: &str) -> Result<(i64, i64)> {
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

pub(super) fn take_user(u: &mut UserRow) -> UserRow {
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
