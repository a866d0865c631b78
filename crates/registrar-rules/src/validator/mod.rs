//! The validation pass: headers, row rules per entity, uniqueness and references across files.
//!
//! State is kept compact so that a 1,000,000-row attendance file validates in constant memory
//! per distinct key: emails, course codes and assessments are interned to `u32` ids, and the
//! uniqueness sets are keyed on ids (and the date as days), holding only the row number of the
//! first valid occurrence. Rows themselves are never kept.
//!
//! One file per concern: [`header`] resolves the header line against each entity's columns,
//! [`row`] is the context a row rule works in, [`intern`] and [`keys`] hold the compact
//! cross-file state (interned keys, uniqueness slots, `duplicate-key` / `already-exists`),
//! [`references`] resolves the student and course a row names, and [`users`], [`courses`],
//! [`enrollments`], [`grades`] and [`attendance`] hold the row rules of each entity.
//! [`rejects`] undoes the spreadsheet protection of a rejects file being re-imported.

use crate::{Existing, RowOutcome, ValidationOptions};
use chrono::Datelike;
use registrar_model::{
    AttendanceStatus, Entity, Event, FileSummary, Issue, IssueCode, NaturalKey, OnExisting,
    ReadError, Record, Report, RowChange, RowSource, Stored, StoredCourse, StoredGrade, StoredUser,
};

mod attendance;
mod changes;
mod courses;
mod enrollments;
mod grades;
mod header;
mod intern;
mod key_table;
mod keys;
mod references;
mod rejects;
mod row;
mod users;

use header::{layout, looks_like_header, HEADER_HINT_ROWS};
use intern::{Interner, RawCache};
use keys::{pack_attendance, pack_pair, EnrSlot, KeySlot};
use rejects::{is_rejects_file, unprotect_cells};
use row::{FileCx, RowCx};

/// Longest first or last name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest course name, in characters.
pub const MAX_COURSE_NAME_LEN: usize = 200;
/// Longest course description, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 2000;
/// Longest semester text, in characters.
pub const MAX_SEMESTER_LEN: usize = 50;
/// Longest assessment name, in characters.
pub const MAX_ASSESSMENT_LEN: usize = 100;
/// Longest external id (`sis_id`, `student_sis_id`), in characters.
pub const MAX_SIS_ID_LEN: usize = 255;
/// The assessment of a grade row that names none.
pub const DEFAULT_ASSESSMENT: &str = "final";

// ---------------------------------------------------------------------------------------------
// The id-keyed maps and sets use FxHash (`rustc-hash`, as used by rustc): several times faster
// than the default SipHash on short keys. It is not resistant to hash flooding; the keys are ids
// and the operator's own emails and course codes, and a crafted file could at worst slow its own
// validation down (documented in the crate docs).

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// Who holds an external id: the interned user, and the row of this run that gave it (0: the
/// database).
#[derive(Debug, Clone, Copy)]
struct SisSlot {
    user: u32,
    row: u32,
    file: u16,
}

pub(crate) struct State {
    on_existing: OnExisting,
    update_passwords: bool,
    /// What `password_hash` accepts (`--legacy-hashes`, `--accept-unsalted-hashes`).
    hash_policy: registrar_hashes::HashPolicy,
    /// The mapping file (`--mapping`), if any.
    mapping: Option<std::sync::Arc<crate::mapping::Mapping>>,
    /// `--missing-password`.
    missing_password: registrar_model::MissingPassword,
    /// `--date-order`.
    date_order: Option<crate::parse::DateOrder>,
    /// (file, course code as written) pairs already given a `course-code-normalized` warning.
    normalized_codes: rustc_hash::FxHashSet<(u16, Box<str>)>,
    files: Vec<String>,
    /// Stored values of the database's rows, indexed by the slots' `db`.
    db_users: Vec<Stored<StoredUser>>,
    db_courses: Vec<Stored<StoredCourse>>,
    db_enrollments: Vec<Stored<Option<chrono::NaiveDate>>>,
    db_grades: Vec<Stored<StoredGrade>>,
    db_attendance: Vec<Stored<Option<AttendanceStatus>>>,
    users: Interner,
    courses: Interner,
    assessments: FxMap<Box<str>, u32>,
    /// Raw student email text → user id.
    raw_users: RawCache,
    /// Raw course code text → course id.
    raw_courses: RawCache,
    /// External ids (`sis_id`) → the user that holds it: from the database and this run.
    sis: FxMap<Box<str>, SisSlot>,
    enrollments: FxMap<u64, EnrSlot>,
    grades: FxMap<(u32, u32, u32), KeySlot>,
    /// Attendance keys packed by [`pack_attendance`], about 13 bytes a key; the values are
    /// described in [`attendance`] (a run row, or a database row's status).
    attendance: key_table::KeyTable,
    /// The attendance files' row bases: (file, base), a run row is `base + row`.
    att_files: Vec<(u16, u32)>,
    /// The largest attendance run row given so far.
    att_max: u32,
    /// Attendance keys that do not pack (ids past 2^24 / 2^20, dates before year 1 or after
    /// about 2870).
    attendance_wide: FxMap<(u32, u32, i32), KeySlot>,
    row_issues: Vec<Issue>,
    /// Warnings about the current row (they do not make it invalid).
    row_warnings: Vec<Issue>,
    /// Read each file on a second thread while this one validates ([`read_ahead`]).
    read_ahead: bool,
}

/// True when `email` matches the training-account pattern of SPEC §2 (trimmed, ignoring case;
/// the one definition is [`registrar_model::EmailPattern::training`]).
pub fn is_training_account(email: &str) -> bool {
    registrar_model::is_training_email(email)
}

fn normalize_assessment(s: &str) -> String {
    s.trim().to_lowercase()
}

impl State {
    pub(crate) fn new(options: ValidationOptions) -> State {
        let mut st = State {
            on_existing: options.on_existing,
            update_passwords: options.update_passwords,
            hash_policy: options.hash_policy,
            mapping: options.mapping,
            missing_password: options.missing_password,
            date_order: options.date_order,
            normalized_codes: Default::default(),
            files: Vec::new(),
            db_users: Vec::new(),
            db_courses: Vec::new(),
            db_enrollments: Vec::new(),
            db_grades: Vec::new(),
            db_attendance: Vec::new(),
            users: Interner::default(),
            courses: Interner::default(),
            assessments: FxMap::default(),
            raw_users: RawCache::default(),
            raw_courses: RawCache::default(),
            sis: FxMap::default(),
            enrollments: FxMap::default(),
            grades: FxMap::default(),
            attendance: key_table::KeyTable::default(),
            att_files: Vec::new(),
            att_max: 0,
            attendance_wide: FxMap::default(),
            row_issues: Vec::new(),
            row_warnings: Vec::new(),
            read_ahead: !options.sequential
                && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
        };
        if let Some(existing) = options.existing {
            st.load_existing(existing);
        }
        st
    }

    fn load_existing(&mut self, ex: Existing) {
        let idx = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        for (email, stored) in ex.users {
            let id = self.users.intern(&email.trim().to_lowercase());
            let db = idx(self.db_users.len());
            if let Some(s) = self.users.slot_mut(id) {
                s.in_db = true;
                s.db_role = Some(stored.values.role);
                s.db = db;
            }
            if let Some(sis) = &stored.values.sis_id {
                self.sis.insert(
                    sis.as_str().into(),
                    SisSlot {
                        user: id,
                        row: 0,
                        file: 0,
                    },
                );
            }
            self.db_users.push(stored);
        }
        for (code, stored) in ex.courses {
            let id = self.courses.intern(&code.trim().to_uppercase());
            let db = idx(self.db_courses.len());
            if let Some(s) = self.courses.slot_mut(id) {
                s.in_db = true;
                s.db = db;
            }
            self.db_courses.push(stored);
        }
        // Link rows name their student and course by database id.
        let mut uid: FxMap<i64, u32> = FxMap::default();
        for (email, id) in &ex.user_ids {
            uid.insert(*id, self.users.intern(&email.trim().to_lowercase()));
        }
        let mut cid: FxMap<i64, u32> = FxMap::default();
        for (code, id) in &ex.course_ids {
            cid.insert(*id, self.courses.intern(&code.trim().to_uppercase()));
        }
        let ids = |l_s: i64, l_c: i64| Some((*uid.get(&l_s)?, *cid.get(&l_c)?));
        for l in ex.enrollments {
            // A row whose student or course is not in the tables (no foreign key in an
            // adopted SMS) names nothing a file could name.
            let Some((s, c)) = ids(l.student_id, l.course_id) else {
                continue;
            };
            let slot = &mut self.enrollments.entry(pack_pair(s, c)).or_default().key;
            slot.in_db = true;
            slot.db = idx(self.db_enrollments.len());
            self.db_enrollments.push(l.stored);
        }
        for l in ex.grades {
            let Some((s, c)) = ids(l.student_id, l.course_id) else {
                continue;
            };
            let key = (s, c, self.assessment_id(&normalize_assessment(&l.key)));
            let db = idx(self.db_grades.len());
            let slot = self.grades.entry(key).or_default();
            slot.in_db = true;
            slot.db = db;
            self.db_grades.push(l.stored);
        }
        // No reserve: the keys of one student and course share a part, so parts fill unevenly
        // and an even reserve would leave most of its room unused; parts grow by a quarter.
        // Taken from the end, the list shrinking as the table grows, so the two are not both
        // held whole (a re-import against millions of stored rows).
        let mut stored = ex.attendance;
        let mut taken = 0u32;
        while let Some(l) = stored.pop() {
            taken = taken.wrapping_add(1);
            if taken % (1 << 16) == 0 {
                stored.shrink_to_fit();
            }
            {
                let Some((s, c)) = ids(l.student_id, l.course_id) else {
                    continue;
                };
                let day = l.key.num_days_from_ce();
                match pack_attendance(s, c, day) {
                    Some(k) => {
                        let v = attendance::stored_value(&l.stored);
                        self.attendance.update(k, |_| v);
                    }
                    None => {
                        let db = idx(self.db_attendance.len());
                        let slot = self.wide_attendance_slot(s, c, day);
                        slot.in_db = true;
                        slot.db = db;
                        self.db_attendance.push(l.stored);
                    }
                }
            }
        }
    }

    /// The database rows of `entity` that no valid or rejected row of this run named (what a
    /// sync removes), each with whether an earlier import created or last changed it.
    pub(crate) fn unclaimed(&self, entity: Entity) -> Vec<(NaturalKey, bool)> {
        let user = |id: u32| self.users.key(id).to_owned();
        let course = |id: u32| self.courses.key(id).to_owned();
        let mut out = Vec::new();
        match entity {
            Entity::Users => {
                for id in 0..self.users.len() {
                    let s = self.users.slot(id);
                    // Users are deactivated: one already inactive has nothing to remove.
                    let stored = self.db_users.get(s.db as usize);
                    if s.in_db
                        && s.run_row == 0
                        && s.rejected_row == 0
                        && stored.is_some_and(|d| d.values.is_active)
                    {
                        let imported = stored.is_some_and(|d| d.imported);
                        out.push((NaturalKey::User(user(id)), imported));
                    }
                }
            }
            Entity::Courses => {
                for id in 0..self.courses.len() {
                    let s = self.courses.slot(id);
                    // Courses are set inactive: only an active one has something to remove.
                    let stored = self.db_courses.get(s.db as usize);
                    if s.in_db
                        && s.run_row == 0
                        && s.rejected_row == 0
                        && stored.is_some_and(|d| {
                            d.values.status == registrar_model::CourseStatus::Active
                        })
                    {
                        let imported = stored.is_some_and(|d| d.imported);
                        out.push((NaturalKey::Course(course(id)), imported));
                    }
                }
            }
            Entity::Enrollments => {
                for (&k, s) in &self.enrollments {
                    if s.key.in_db && s.key.run_row == 0 && s.rejected_row == 0 {
                        let imported = self
                            .db_enrollments
                            .get(s.key.db as usize)
                            .is_some_and(|d| d.imported);
                        let (sid, cid) = ((k >> 32) as u32, k as u32);
                        out.push((NaturalKey::Enrollment(user(sid), course(cid)), imported));
                    }
                }
            }
            Entity::Grades => {
                let mut names = vec![String::new(); self.assessments.len()];
                for (a, &id) in &self.assessments {
                    if let Some(n) = names.get_mut(id as usize) {
                        *n = a.to_string();
                    }
                }
                for (&(sid, cid, aid), s) in &self.grades {
                    if s.in_db && s.run_row == 0 {
                        let imported = self
                            .db_grades
                            .get(s.db as usize)
                            .is_some_and(|d| d.imported);
                        let a = names.get(aid as usize).cloned().unwrap_or_default();
                        out.push((NaturalKey::Grade(user(sid), course(cid), a), imported));
                    }
                }
            }
            Entity::Attendance => {
                let packed = self.attendance.iter().filter_map(|(k, v)| {
                    let sid = (k >> 40) as u32;
                    let cid = ((k >> 20) & 0xF_FFFF) as u32;
                    let day = (k & 0xF_FFFF) as i32;
                    attendance::unclaimed_stored(v).map(|imported| ((sid, cid, day), imported))
                });
                let wide = self
                    .attendance_wide
                    .iter()
                    .filter(|(_, s)| s.in_db && s.run_row == 0)
                    .map(|(&k, s)| {
                        let imported = self
                            .db_attendance
                            .get(s.db as usize)
                            .is_some_and(|d| d.imported);
                        (k, imported)
                    });
                for ((sid, cid, day), imported) in packed.chain(wide) {
                    {
                        let Some(date) = chrono::NaiveDate::from_num_days_from_ce_opt(day) else {
                            continue;
                        };
                        out.push((
                            NaturalKey::Attendance(user(sid), course(cid), date),
                            imported,
                        ));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The slot of an attendance key that does not pack, created empty when new.
    fn wide_attendance_slot(&mut self, sid: u32, cid: u32, day: i32) -> &mut KeySlot {
        self.attendance_wide.entry((sid, cid, day)).or_default()
    }

    fn assessment_id(&mut self, a: &str) -> u32 {
        if let Some(&id) = self.assessments.get(a) {
            return id;
        }
        let id = u32::try_from(self.assessments.len()).unwrap_or(u32::MAX);
        self.assessments.insert(a.into(), id);
        id
    }

    pub(crate) fn mapping(&self) -> Option<&crate::mapping::Mapping> {
        self.mapping.as_deref()
    }

    fn file_name(&self, idx: u16) -> &str {
        self.files
            .get(idx as usize)
            .map(String::as_str)
            .unwrap_or("?")
    }

    pub(crate) fn validate_source(
        &mut self,
        entity: Entity,
        source: &mut dyn RowSource,
        report: &mut Report,
        sink: &mut dyn FnMut(RowOutcome<'_>),
    ) -> Result<(), ReadError> {
        let file = source.file_name().to_owned();
        let file_idx = u16::try_from(self.files.len()).unwrap_or(u16::MAX);
        self.files.push(file.clone());
        let mut summary = FileSummary::new(file.clone(), entity, source.format().as_str());
        let headers = source.headers().to_vec();
        let mapping = self.mapping.clone();
        let (lay, fatal) = layout(
            entity,
            &headers,
            &file,
            self.missing_password.passwords_optional(),
            report,
            mapping.as_deref().map(|m| m.entity(entity)),
            source.column_labels(),
        );
        let transforms = lay.transforms();
        // Rows rewritten by the mapping file (value maps, defaults), and the rows it skips:
        // (slot, value as written) → (rows, first row).
        let mut mapped: Vec<registrar_model::Value> = Vec::new();
        // (slot, value lower-cased) → (rows, first row, value as first written).
        let mut excluded: std::collections::BTreeMap<(usize, String), (u64, u64, String)> =
            std::collections::BTreeMap::new();
        let fatal_at = report.issues.len();
        for issue in &fatal {
            report.push(issue.clone());
        }
        // A title row above the header: look for the real header in the first rows.
        let mut header_hint_rows = if fatal.iter().any(|i| i.code == IssueCode::MissingColumn) {
            HEADER_HINT_ROWS
        } else {
            0
        };
        let mut last_reader_issue_row: Option<u64> = None;
        let rejects_file = is_rejects_file(&file);
        let mut result = Ok(());
        let cx = FileCx {
            file: &file,
            file_idx,
            entity,
            lay: &lay,
        };
        let read_ahead_here = self.read_ahead;
        // Attendance rows read as they are have their date and status parsed on the reading
        // side (a second core, with `read_ahead`).
        let prep =
            (entity == Entity::Attendance && fatal.is_empty() && !transforms && !rejects_file)
                .then(|| attendance::Prep::new(&lay, self.date_order));
        {
            // One row (or reader issue) at a time. The row is borrowed: its cells are freed
            // where they were made (see `read_ahead`).
            let mut step = |fed: &mut Fed| match fed {
                Fed::Issue(issue, malformed) => {
                    let issue = Issue::clone(issue);
                    let counts = issue.is_error()
                        && issue.row.is_some()
                        && issue.row != last_reader_issue_row;
                    let values = malformed.take().unwrap_or_default();
                    if counts {
                        last_reader_issue_row = issue.row;
                        summary.rows += 1;
                        summary.invalid += 1;
                        sink(RowOutcome::Invalid {
                            row: issue.row.unwrap_or(0),
                            values: &values,
                            issues: std::slice::from_ref(&issue),
                        });
                    }
                    report.push(issue);
                }
                Fed::Row(row, pre) => {
                    if row.is_blank() {
                        return;
                    }
                    if rejects_file {
                        unprotect_cells(&mut row.values);
                    }
                    summary.rows += 1;
                    if header_hint_rows > 0 {
                        header_hint_rows -= 1;
                        if looks_like_header(
                            entity,
                            &row.values,
                            self.missing_password.passwords_optional(),
                        ) {
                            header_hint_rows = 0;
                            let end = report.issues.len().min(fatal_at + fatal.len());
                            for i in &mut report.issues[fatal_at..end] {
                                if i.code == IssueCode::MissingColumn {
                                    i.message.push_str(&format!(
                                        "; row {} looks like the header: delete the rows above it (a title row, say)",
                                        row.row
                                    ));
                                }
                            }
                        }
                    }
                    if !fatal.is_empty() {
                        summary.invalid += 1;
                        sink(RowOutcome::Invalid {
                            row: row.row,
                            values: &row.values,
                            issues: &fatal,
                        });
                        return;
                    }
                    if transforms {
                        if let Some(skip) = map_row(&lay, headers.len(), &row.values, &mut mapped) {
                            summary.excluded += 1;
                            let key = (skip.0, skip.1.to_lowercase());
                            let e = excluded.entry(key).or_insert((0, row.row, skip.1));
                            e.0 += 1;
                            return;
                        }
                    }
                    let mut issues = std::mem::take(&mut self.row_issues);
                    issues.clear();
                    let record = {
                        let mut rc = RowCx {
                            cx: &cx,
                            row: row.row,
                            values: if transforms { &mapped } else { &row.values },
                            issues: &mut issues,
                            pre: pre.take(),
                        };
                        self.check_row(&mut rc)
                    };
                    match record {
                        Some((record, change)) if issues.is_empty() => {
                            summary.valid += 1;
                            sink(RowOutcome::Valid {
                                row: row.row,
                                record,
                                change,
                            });
                        }
                        _ => {
                            summary.invalid += 1;
                            sink(RowOutcome::Invalid {
                                row: row.row,
                                values: &row.values,
                                issues: &issues,
                            });
                            for i in issues.drain(..) {
                                report.push(i);
                            }
                        }
                    }
                    self.row_issues = issues;
                    for w in self.row_warnings.drain(..) {
                        report.push(w);
                    }
                }
            };
            let failure = if read_ahead_here {
                read_ahead(source, prep.as_ref(), &mut step)
            } else {
                read_all(source, prep.as_ref(), &mut step)
            };
            match failure {
                Some(ReadError::File(issue)) => report.push(*issue),
                Some(e) => result = Err(e),
                None => {}
            }
        }
        for ((slot, _), (rows, first, value)) in excluded {
            let column = lay.names.get(slot).map(String::as_str).unwrap_or("?");
            let field = header::col::of(entity).get(slot).copied().unwrap_or("?");
            let rows_text = if rows == 1 {
                "1 row".to_owned()
            } else {
                format!("{rows} rows")
            };
            report.push(Issue::warning(
                IssueCode::SkippedByMapping,
                &file,
                Some(first),
                Some(column),
                format!(
                    "{rows_text} skipped (first at row {first}): the mapping file maps {field} {} to \"skip\"",
                    crate::parse::quote(&value)
                ),
            ));
        }
        report.files.push(summary);
        result
    }

    fn check_row(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, RowChange)> {
        match rc.cx.entity {
            Entity::Users => self.check_user(rc),
            Entity::Courses => self.check_course(rc),
            Entity::Enrollments => self.check_enrollment(rc),
            Entity::Grades => self.check_grade(rc),
            Entity::Attendance => self.check_attendance(rc),
        }
    }
}

/// What the validation loop is fed: a row read (with its attendance date and status parsed
/// already, when they can be), or a reader issue with the cells of the malformed row it is
/// about ([`RowSource::take_malformed_values`]). Issues are boxed to keep the batches small.
enum Fed {
    Row(registrar_model::Row, Option<attendance::Pre>),
    Issue(Box<Issue>, Option<Vec<registrar_model::Value>>),
}

/// The next event of `source`, with the malformed row's cells taken right after its issue.
fn next_fed(
    source: &mut dyn RowSource,
    prep: Option<&attendance::Prep>,
) -> Option<Result<Fed, ReadError>> {
    Some(match source.next()? {
        Ok(Event::Row(row)) => {
            let pre = prep.map(|p| p.parse(&row.values));
            Ok(Fed::Row(row, pre))
        }
        Ok(Event::Issue(issue)) => Ok(Fed::Issue(Box::new(issue), source.take_malformed_values())),
        Err(e) => Err(e),
    })
}

/// Feeds `step` every event of `source` on this thread; the error that ended the file, if
/// one did.
fn read_all(
    source: &mut dyn RowSource,
    prep: Option<&attendance::Prep>,
    step: &mut dyn FnMut(&mut Fed),
) -> Option<ReadError> {
    while let Some(item) = next_fed(source, prep) {
        match item {
            Ok(mut fed) => {
                step(&mut fed);
                give_back(source, fed);
            }
            Err(e) => return Some(e),
        }
    }
    None
}

/// Hands a validated row back to its source for reuse ([`RowSource::recycle`]).
fn give_back(source: &mut dyn RowSource, fed: Fed) {
    if let Fed::Row(row, _) = fed {
        source.recycle(row);
    }
}

/// Events a reader thread hands over at a time.
const READ_AHEAD_BATCH: usize = 1024;
/// Batches in flight from the reader thread to the validating one: what reading ahead costs in
/// memory is bounded (a few times `READ_AHEAD_BATCH * READ_AHEAD_DEPTH` rows).
const READ_AHEAD_DEPTH: usize = 4;

/// [`read_all`], with `source` read on a second (scoped) thread in batches, so that parsing
/// the file and validating its rows use two cores. `step` sees the same events in the same
/// order, then the error that ended the file, if one did.
///
/// Batches go back to the reader thread once validated, and their rows to the source
/// ([`RowSource::recycle`]): a row's cells are reused, or freed, by the thread that allocated
/// them. (Freeing them on the validating thread made both threads wait on the allocator's
/// arena lock, and two cores slower than one.)
fn read_ahead(
    source: &mut dyn RowSource,
    prep: Option<&attendance::Prep>,
    step: &mut dyn FnMut(&mut Fed),
) -> Option<ReadError> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Fed>>(READ_AHEAD_DEPTH);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<Fed>>();
        let reader = scope.spawn(move || {
            loop {
                let mut batch = back_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(READ_AHEAD_BATCH));
                for fed in batch.drain(..) {
                    give_back(source, fed);
                }
                let mut failure = None;
                let mut end = false;
                while batch.len() < READ_AHEAD_BATCH {
                    match next_fed(source, prep) {
                        Some(Ok(fed)) => batch.push(fed),
                        Some(Err(e)) => {
                            failure = Some(e);
                            break;
                        }
                        None => {
                            end = true;
                            break;
                        }
                    }
                }
                // A send fails only when the validating side is gone: nothing more is wanted.
                if (!batch.is_empty() && tx.send(batch).is_err()) || end || failure.is_some() {
                    return failure;
                }
            }
        });
        for mut batch in rx {
            for fed in &mut batch {
                step(fed);
            }
            // The reader may have finished: then the batch is dropped here.
            let _ = back_tx.send(batch);
        }
        match reader.join() {
            Ok(failure) => failure,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Rewrites a row by the mapping file into `out`: the file's cells (padded or cut to the
/// header), then the defaults, with value maps applied. Returns the (slot, value) that makes
/// the row skipped, if one does.
fn map_row(
    lay: &header::Layout,
    header_len: usize,
    values: &[registrar_model::Value],
    out: &mut Vec<registrar_model::Value>,
) -> Option<(usize, String)> {
    use registrar_model::Value;
    out.clear();
    out.extend_from_slice(&values[..values.len().min(header_len)]);
    out.resize(header_len, Value::Empty);
    out.extend(lay.appended.iter().cloned());
    for (slot, map) in lay.value_maps.iter().enumerate() {
        let (Some(map), Some(i)) = (map, lay.idx.get(slot).copied().flatten()) else {
            continue;
        };
        let Some(cell) = out.get_mut(i) else {
            continue;
        };
        let written = match &*cell {
            Value::Empty => continue,
            Value::Text(t) => t.trim().to_owned(),
            other => other.to_string(),
        };
        if let Some(to) = map.get(&written.to_lowercase()) {
            if to.eq_ignore_ascii_case(crate::mapping::SKIP) {
                return Some((slot, written));
            }
            *cell = Value::Text(to.clone());
        }
    }
    None
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn wide_attendance_keys_are_still_unique() {
        let mut st = State::new(ValidationOptions::default());
        st.wide_attendance_slot(1 << 24, 3, 10).run_row = 9;
        assert_eq!(st.wide_attendance_slot(1 << 24, 3, 10).run_row, 9);
        assert_eq!(st.wide_attendance_slot(1 << 24, 3, 11).run_row, 0);
        assert_eq!(st.attendance_wide.len(), 2);
        assert_eq!(st.attendance.len(), 0);
    }
}
