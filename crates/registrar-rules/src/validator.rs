//! The validation pass: headers, row rules per entity, uniqueness and references across files.
//!
//! State is kept compact so that a 1,000,000-row attendance file validates in constant memory
//! per distinct key: emails, course codes and assessments are interned to `u32` ids, and the
//! uniqueness sets are keyed on ids (and the date as days), holding only the row number of the
//! first valid occurrence. Rows themselves are never kept.

use crate::parse::{self, quote, ParseResult};
use crate::password;
use crate::{Existing, RowOutcome, ValidationOptions};
use chrono::Datelike;
use registrar_model::{
    Attendance, Course, CourseCode, CourseStatus, Email, Enrollment, Entity, Event, FileSummary,
    Grade, Issue, IssueCode, OnExisting, Password, ReadError, Record, Report, Role, RowSource,
    User, Value,
};

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
/// The assessment of a grade row that names none.
pub const DEFAULT_ASSESSMENT: &str = "final";

// ---------------------------------------------------------------------------------------------
// The id-keyed maps and sets use FxHash (`rustc-hash`, as used by rustc): several times faster
// than the default SipHash on short keys. It is not resistant to hash flooding; the keys are ids
// and the operator's own emails and course codes, and a crafted file could at worst slow its own
// validation down (documented in the crate docs).

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

// ---------------------------------------------------------------------------------------------
// Columns

mod col {
    pub const USERS: &[&str] = &[
        "email",
        "password",
        "password_hash",
        "role",
        "first_name",
        "last_name",
        "is_active",
    ];
    pub const U_EMAIL: usize = 0;
    pub const U_PASSWORD: usize = 1;
    pub const U_HASH: usize = 2;
    pub const U_ROLE: usize = 3;
    pub const U_FIRST: usize = 4;
    pub const U_LAST: usize = 5;
    pub const U_ACTIVE: usize = 6;

    pub const COURSES: &[&str] = &[
        "course_code",
        "course_name",
        "description",
        "semester",
        "credits",
        "status",
    ];
    pub const C_CODE: usize = 0;
    pub const C_NAME: usize = 1;
    pub const C_DESCRIPTION: usize = 2;
    pub const C_SEMESTER: usize = 3;
    pub const C_CREDITS: usize = 4;
    pub const C_STATUS: usize = 5;

    pub const ENROLLMENTS: &[&str] = &["student_email", "course_code", "enrollment_date"];
    pub const E_DATE: usize = 2;

    pub const GRADES: &[&str] = &[
        "student_email",
        "course_code",
        "assessment",
        "score",
        "letter_grade",
        "graded_on",
    ];
    pub const G_ASSESSMENT: usize = 2;
    pub const G_SCORE: usize = 3;
    pub const G_LETTER: usize = 4;
    pub const G_GRADED_ON: usize = 5;

    pub const ATTENDANCE: &[&str] = &["student_email", "course_code", "date", "status"];
    pub const A_DATE: usize = 2;
    pub const A_STATUS: usize = 3;

    /// Shared by enrollments, grades and attendance.
    pub const STUDENT: usize = 0;
    /// Shared by enrollments, grades and attendance.
    pub const COURSE: usize = 1;
}

fn columns_of(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Users => col::USERS,
        Entity::Courses => col::COURSES,
        Entity::Enrollments => col::ENROLLMENTS,
        Entity::Grades => col::GRADES,
        Entity::Attendance => col::ATTENDANCE,
    }
}

/// Required column groups: each group needs at least one of its columns; the first names it.
fn required_of(entity: Entity) -> &'static [&'static [usize]] {
    match entity {
        Entity::Users => &[
            &[col::U_EMAIL],
            &[col::U_PASSWORD, col::U_HASH],
            &[col::U_ROLE],
            &[col::U_FIRST],
            &[col::U_LAST],
        ],
        Entity::Courses => &[&[col::C_CODE], &[col::C_NAME]],
        Entity::Enrollments => &[&[col::STUDENT], &[col::COURSE]],
        Entity::Grades => &[
            &[col::STUDENT],
            &[col::COURSE],
            &[col::G_SCORE, col::G_LETTER],
        ],
        Entity::Attendance => &[
            &[col::STUDENT],
            &[col::COURSE],
            &[col::A_DATE],
            &[col::A_STATUS],
        ],
    }
}

/// Where each known column of an entity sits in the file, and its name as written.
struct Layout {
    idx: Vec<Option<usize>>,
    names: Vec<String>,
}

fn normalize_header(h: &str) -> String {
    registrar_model::header_key(h)
}

/// Resolves the header; returns the layout and the file-level errors (which stop row checks).
fn layout(
    entity: Entity,
    headers: &[String],
    file: &str,
    report: &mut Report,
) -> (Layout, Vec<Issue>) {
    let known = columns_of(entity);
    let mut lay = Layout {
        idx: vec![None; known.len()],
        names: known.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut fatal = Vec::new();
    if headers.iter().any(|h| h.contains('@')) {
        // The first line is data (it holds an email address), not a header. Its values are not
        // echoed: in a users file one of them is a password.
        let names: Vec<&str> = required_of(entity).iter().map(|g| known[g[0]]).collect();
        fatal.push(Issue::error(
            IssueCode::MissingColumn,
            file,
            None,
            None,
            format!(
                "the first line of the {entity} file looks like data, not a header; add a header line such as: {}",
                names.join(",")
            ),
        ));
        return (lay, fatal);
    }
    let mut unknown_seen: Vec<String> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let n = normalize_header(h);
        if n.is_empty() {
            // A column without a name (e.g. a trailing delimiter) is ignored silently.
            continue;
        }
        match known.iter().position(|k| *k == n) {
            Some(slot) => match lay.idx[slot] {
                Some(first) => fatal.push(Issue::error(
                    IssueCode::DuplicateColumn,
                    file,
                    None,
                    Some(h.trim()),
                    format!(
                        "the column {} appears twice (columns {} and {}); remove one of them",
                        quote(h.trim()),
                        first + 1,
                        i + 1
                    ),
                )),
                None => {
                    lay.idx[slot] = Some(i);
                    lay.names[slot] = registrar_model::header_name(h).to_owned();
                }
            },
            None => {
                if !unknown_seen.contains(&n) {
                    unknown_seen.push(n);
                    report.push(Issue::warning(
                        IssueCode::UnknownColumn,
                        file,
                        None,
                        Some(h.trim()),
                        format!(
                            "the column {} is not {} {} column and is ignored (known columns: {})",
                            quote(h.trim()),
                            article(entity),
                            entity,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    for group in required_of(entity) {
        if group.iter().all(|&slot| lay.idx[slot].is_none()) {
            let name = known[group[0]];
            let alternatives = if group.len() > 1 {
                let others: Vec<&str> = group[1..].iter().map(|&s| known[s]).collect();
                format!(" (or {})", others.join(" or "))
            } else {
                String::new()
            };
            fatal.push(Issue::error(
                IssueCode::MissingColumn,
                file,
                None,
                Some(name),
                format!(
                    "the {entity} file has no '{name}' column{alternatives}; add it to the header line"
                ),
            ));
        }
    }
    (lay, fatal)
}

/// How many rows after a header with missing columns are searched for the real header.
const HEADER_HINT_ROWS: usize = 20;

/// True when `values` name every required column of `entity` (a header row below a title).
fn looks_like_header(entity: Entity, values: &[Value]) -> bool {
    let known = columns_of(entity);
    let names: Vec<String> = values
        .iter()
        .filter_map(|v| match v {
            Value::Text(t) => Some(normalize_header(t)),
            _ => None,
        })
        .collect();
    required_of(entity)
        .iter()
        .all(|group| group.iter().any(|&c| names.iter().any(|n| n == known[c])))
}

/// "a" or "an" before an entity name in a message ("an enrollments column").
fn article(entity: Entity) -> &'static str {
    match entity.as_str().as_bytes().first() {
        // "users" starts with a consonant sound: "a users column".
        Some(b'a' | b'e' | b'i' | b'o') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn a_title_row_gets_a_hint_naming_the_header_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("courses.csv");
        std::fs::write(
            &path,
            "Course list 2024,\n,\ncourse_code,course_name\nMATH101,Calculus I\n",
        )
        .unwrap();
        let mut source =
            registrar_formats::open(&path, &registrar_formats::ReaderOptions::default()).unwrap();
        let mut report = Report::new(registrar_model::Mode::Validate);
        State::new(ValidationOptions::default())
            .validate_source(Entity::Courses, source.as_mut(), &mut report, &mut |_| {})
            .unwrap();
        let missing: Vec<&str> = report
            .issues
            .iter()
            .filter(|i| i.code == IssueCode::MissingColumn)
            .map(|i| i.message.as_str())
            .collect();
        assert_eq!(missing.len(), 2, "{:?}", report.issues);
        for m in missing {
            assert!(m.contains("row 3 looks like the header"), "{m}");
        }
    }

    #[test]
    fn unknown_column_messages_read_right() {
        let mut report = Report::new(registrar_model::Mode::Validate);
        for entity in [Entity::Users, Entity::Enrollments, Entity::Attendance] {
            layout(entity, &["nickname".to_owned()], "f.csv", &mut report);
        }
        let messages: Vec<&str> = report.issues.iter().map(|i| i.message.as_str()).collect();
        assert!(
            messages[0].contains("is not a users column"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("is not an enrollments column"),
            "{messages:?}"
        );
        assert!(
            messages[2].contains("is not an attendance column"),
            "{messages:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-file state

fn row32(row: u64) -> u32 {
    u32::try_from(row).unwrap_or(u32::MAX)
}

/// A referable key (a user or a course).
#[derive(Debug, Default, Clone, Copy)]
struct RefSlot {
    /// Row of the first valid occurrence in this run (0: none).
    run_row: u32,
    run_file: u16,
    /// Row of the first rejected occurrence in this run (0: none).
    rejected_row: u32,
    rejected_file: u16,
    /// In the database.
    in_db: bool,
    /// Role given by this run (users; not set for rows skipped because they exist).
    run_role: Option<Role>,
    /// Role in the database (users).
    db_role: Option<Role>,
}

/// A uniqueness key (enrollment, grade, attendance).
#[derive(Debug, Default, Clone, Copy)]
struct KeySlot {
    run_row: u32,
    run_file: u16,
    in_db: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct EnrSlot {
    key: KeySlot,
    rejected_row: u32,
    rejected_file: u16,
}

/// Interned users or courses. `get` remembers the last hit: attendance and grade files are
/// usually sorted by course or student, so consecutive rows often name the same key, and one
/// string comparison is cheaper than hashing and probing.
#[derive(Default)]
struct Interner {
    ids: FxMap<Box<str>, u32>,
    keys: Vec<Box<str>>,
    slots: Vec<RefSlot>,
    last: std::cell::Cell<u32>,
}

impl Interner {
    fn get(&self, s: &str) -> Option<u32> {
        let last = self.last.get();
        if let Some(k) = self.keys.get(last as usize) {
            if **k == *s {
                return Some(last);
            }
        }
        let id = self.ids.get(s).copied()?;
        self.last.set(id);
        Some(id)
    }
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        self.slots.push(RefSlot::default());
        self.keys.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
    fn slot(&self, id: u32) -> RefSlot {
        self.slots.get(id as usize).copied().unwrap_or_default()
    }
    /// The normalised key of `id`.
    fn key(&self, id: u32) -> &str {
        self.keys.get(id as usize).map(|k| &**k).unwrap_or("")
    }
    fn slot_mut(&mut self, id: u32) -> Option<&mut RefSlot> {
        self.slots.get_mut(id as usize)
    }
}

/// Raw cell text (trimmed, as written) → id of an interned key that this text was parsed to.
/// Only text that parsed successfully and named a known key is remembered, so a hit is known
/// valid and skips the parser; its normalised value is the interned key. Remembers the last hit
/// too (files are usually sorted by course or student).
#[derive(Default)]
struct RawCache {
    ids: FxMap<Box<str>, u32>,
    last_raw: String,
    last_id: u32,
}

/// At most this many raw spellings are remembered (case variants of the same key each take one).
const RAW_CACHE_MAX: usize = 1 << 20;

impl RawCache {
    fn get(&mut self, raw: &str) -> Option<u32> {
        if !self.last_raw.is_empty() && self.last_raw == raw {
            return Some(self.last_id);
        }
        let id = self.ids.get(raw).copied()?;
        self.last_raw.clear();
        self.last_raw.push_str(raw);
        self.last_id = id;
        Some(id)
    }
    fn remember(&mut self, raw: &str, id: u32) {
        if self.ids.len() < RAW_CACHE_MAX {
            self.ids.insert(raw.into(), id);
        }
    }
}

/// The trimmed text of a text cell (the only kind the raw caches serve).
fn raw_text(v: &Value) -> Option<&str> {
    match v {
        Value::Text(s) => Some(s.trim()),
        _ => None,
    }
}

/// The attendance key (student id, course id, day number) packed into one `u64` (24, 20 and 20
/// bits), or `None` when a part does not fit (the key then goes to the wide set).
fn pack_attendance(sid: u32, cid: u32, day: i32) -> Option<u64> {
    if sid < (1 << 24) && cid < (1 << 20) && (0..(1 << 20)).contains(&day) {
        Some((u64::from(sid) << 40) | (u64::from(cid) << 20) | day as u64)
    } else {
        None
    }
}

/// The enrollment key (student id, course id) as one `u64`.
fn pack_pair(sid: u32, cid: u32) -> u64 {
    (u64::from(sid) << 32) | u64::from(cid)
}

pub(crate) struct State {
    on_existing: OnExisting,
    files: Vec<String>,
    users: Interner,
    courses: Interner,
    assessments: FxMap<Box<str>, u32>,
    /// Raw student email text → user id.
    raw_users: RawCache,
    /// Raw course code text → course id.
    raw_courses: RawCache,
    enrollments: FxMap<u64, EnrSlot>,
    grades: FxMap<(u32, u32, u32), KeySlot>,
    /// Attendance keys packed by [`pack_attendance`] (16 bytes an entry).
    attendance: FxMap<u64, KeySlot>,
    /// Attendance keys that do not pack (ids past 2^24 / 2^20, dates before year 1 or after
    /// about 2870).
    attendance_wide: FxMap<(u32, u32, i32), KeySlot>,
    row_issues: Vec<Issue>,
    /// Warnings about the current row (they do not make it invalid).
    row_warnings: Vec<Issue>,
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
            files: Vec::new(),
            users: Interner::default(),
            courses: Interner::default(),
            assessments: FxMap::default(),
            raw_users: RawCache::default(),
            raw_courses: RawCache::default(),
            enrollments: FxMap::default(),
            grades: FxMap::default(),
            attendance: FxMap::default(),
            attendance_wide: FxMap::default(),
            row_issues: Vec::new(),
            row_warnings: Vec::new(),
        };
        if let Some(existing) = options.existing {
            st.load_existing(existing);
        }
        st
    }

    fn load_existing(&mut self, ex: Existing) {
        for (email, role) in ex.users {
            let id = self.users.intern(&email.trim().to_lowercase());
            if let Some(s) = self.users.slot_mut(id) {
                s.in_db = true;
                s.db_role = Some(role);
            }
        }
        for code in ex.courses {
            let id = self.courses.intern(&code.trim().to_uppercase());
            if let Some(s) = self.courses.slot_mut(id) {
                s.in_db = true;
            }
        }
        for (email, code) in ex.enrollments {
            let key = pack_pair(
                self.users.intern(&email.trim().to_lowercase()),
                self.courses.intern(&code.trim().to_uppercase()),
            );
            self.enrollments.entry(key).or_default().key.in_db = true;
        }
        for (email, code, assessment) in ex.grades {
            let key = (
                self.users.intern(&email.trim().to_lowercase()),
                self.courses.intern(&code.trim().to_uppercase()),
                self.assessment_id(&normalize_assessment(&assessment)),
            );
            self.grades.entry(key).or_default().in_db = true;
        }
        for (email, code, date) in ex.attendance {
            let sid = self.users.intern(&email.trim().to_lowercase());
            let cid = self.courses.intern(&code.trim().to_uppercase());
            self.attendance_slot(sid, cid, date.num_days_from_ce())
                .in_db = true;
        }
    }

    /// The attendance slot of a key, created empty when new (one hash operation).
    fn attendance_slot(&mut self, sid: u32, cid: u32, day: i32) -> &mut KeySlot {
        match pack_attendance(sid, cid, day) {
            Some(k) => self.attendance.entry(k).or_default(),
            None => self.attendance_wide.entry((sid, cid, day)).or_default(),
        }
    }

    fn assessment_id(&mut self, a: &str) -> u32 {
        if let Some(&id) = self.assessments.get(a) {
            return id;
        }
        let id = u32::try_from(self.assessments.len()).unwrap_or(u32::MAX);
        self.assessments.insert(a.into(), id);
        id
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
        let (lay, fatal) = layout(entity, &headers, &file, report);
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
        while let Some(event) = source.next() {
            let event = match event {
                Ok(e) => e,
                Err(ReadError::File(issue)) => {
                    report.push(*issue);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            match event {
                Event::Issue(issue) => {
                    let counts = issue.is_error()
                        && issue.row.is_some()
                        && issue.row != last_reader_issue_row;
                    let values = source.take_malformed_values().unwrap_or_default();
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
                Event::Row(mut row) => {
                    if row.is_blank() {
                        continue;
                    }
                    if rejects_file {
                        unprotect_cells(&mut row.values);
                    }
                    summary.rows += 1;
                    if header_hint_rows > 0 {
                        header_hint_rows -= 1;
                        if looks_like_header(entity, &row.values) {
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
                        continue;
                    }
                    let mut issues = std::mem::take(&mut self.row_issues);
                    issues.clear();
                    let record = {
                        let mut rc = RowCx {
                            cx: &cx,
                            row: row.row,
                            values: &row.values,
                            issues: &mut issues,
                        };
                        self.check_row(&mut rc)
                    };
                    match record {
                        Some((record, existing)) if issues.is_empty() => {
                            summary.valid += 1;
                            sink(RowOutcome::Valid {
                                row: row.row,
                                record,
                                existing,
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
            }
        }
        report.files.push(summary);
        result
    }

    fn check_row(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        match rc.cx.entity {
            Entity::Users => self.check_user(rc),
            Entity::Courses => self.check_course(rc),
            Entity::Enrollments => self.check_enrollment(rc),
            Entity::Grades => self.check_grade(rc),
            Entity::Attendance => self.check_attendance(rc),
        }
    }

    /// Claims a uniqueness key for a row that is otherwise valid. Returns whether the key is in
    /// the database, or the issue.
    fn claim(
        &self,
        slot: &mut KeySlot,
        rc: &RowCx<'_, '_>,
        what: impl FnOnce() -> String,
    ) -> Result<bool, (IssueCode, String)> {
        claim_key(self.on_existing, &self.files, slot, rc, what)
    }

    fn claim_ref(
        &self,
        slot: &mut RefSlot,
        rc: &RowCx<'_, '_>,
        what: impl FnOnce() -> String,
    ) -> Result<bool, (IssueCode, String)> {
        let mut k = KeySlot {
            run_row: slot.run_row,
            run_file: slot.run_file,
            in_db: slot.in_db,
        };
        let r = self.claim(&mut k, rc, what)?;
        slot.run_row = k.run_row;
        slot.run_file = k.run_file;
        Ok(r)
    }

    fn reject_ref(slot: &mut RefSlot, rc: &RowCx<'_, '_>) {
        if slot.run_row == 0 && slot.rejected_row == 0 {
            slot.rejected_row = row32(rc.row).max(1);
            slot.rejected_file = rc.cx.file_idx;
        }
    }

    // -- users ---------------------------------------------------------------------------------

    fn check_user(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        // In the users file no raw value is echoed: a value in the wrong column may be a password.
        let email = rc.required(col::U_EMAIL, |v| parse::email_with(v, false));
        let role = rc.required(col::U_ROLE, |v| parse::role_with(v, false));
        let first_name = rc.required(col::U_FIRST, |v| parse::text(v, MAX_NAME_LEN));
        let last_name = rc.required(col::U_LAST, |v| parse::text(v, MAX_NAME_LEN));
        let is_active = rc
            .optional(col::U_ACTIVE, |v| parse::boolean_with(v, false))
            .map(|b| b.unwrap_or(true));

        // password_hash: never echoed.
        let hash_v = rc.value(col::U_HASH);
        let hash_given = !hash_v.is_blank();
        let password_hash = if !hash_given {
            Some(None)
        } else {
            match hash_v {
                Value::Text(s) => match password::check_hash(s) {
                    Ok(()) => Some(Some(s.trim().to_owned())),
                    Err(m) => {
                        rc.push(col::U_HASH, IssueCode::InvalidHash, m);
                        None
                    }
                },
                _ => {
                    rc.push(
                        col::U_HASH,
                        IssueCode::InvalidHash,
                        "the password hash is not text; expected an argon2 PHC string like $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>".to_owned(),
                    );
                    None
                }
            }
        };

        // password: taken exactly as written (not trimmed), never echoed.
        let pw_v = rc.value(col::U_PASSWORD);
        let password = if pw_v.is_blank() {
            if hash_given {
                Some(None)
            } else {
                rc.push(
                    col::U_PASSWORD,
                    IssueCode::MissingValue,
                    "a password is required unless password_hash is given; fill it in".to_owned(),
                );
                None
            }
        } else if let Value::Error(_) = pw_v {
            rc.push(
                col::U_PASSWORD,
                IssueCode::MissingValue,
                "the password cell holds a spreadsheet error, not a password; type the password as text".to_owned(),
            );
            None
        } else {
            let plain = match pw_v {
                Value::Text(s) => Password::new(s.clone()),
                other => Password::new(other.to_string()),
            };
            if let Some(m) = password::whitespace_warning(plain.expose_secret()) {
                let column = rc.cx.lay.names.get(col::U_PASSWORD).map(String::as_str);
                self.row_warnings.push(Issue::warning(
                    IssueCode::PasswordWhitespace,
                    rc.cx.file,
                    Some(rc.row),
                    column,
                    m,
                ));
            }
            let local = email.as_ref().map(Email::local_part);
            match password::check_password(plain.expose_secret(), local) {
                Ok(()) => Some(Some(plain)),
                Err(m) => {
                    rc.push(col::U_PASSWORD, IssueCode::WeakPassword, m);
                    None
                }
            }
        };

        if let Some(e) = &email {
            if is_training_account(e.as_str()) {
                rc.push(
                    col::U_EMAIL,
                    IssueCode::TrainingAccount,
                    format!(
                        "{} is a training account (admin/teacher/student + number @school.edu); production data must not contain them",
                        quote(e.as_str())
                    ),
                );
            }
        }

        let email = email?;
        let id = self.users.intern(email.as_str());
        let mut slot = self.users.slot(id);
        let mut existing = false;
        if rc.issues.is_empty() {
            match self.claim_ref(&mut slot, rc, || "this email address".to_owned()) {
                Ok(ex) => existing = ex,
                Err((code, m)) => rc.push(col::U_EMAIL, code, m),
            }
        }
        let complete = (
            role,
            first_name,
            last_name,
            is_active,
            password,
            password_hash,
        );
        let out = match complete {
            (
                Some(role),
                Some(first_name),
                Some(last_name),
                Some(is_active),
                Some(password),
                Some(password_hash),
            ) if rc.issues.is_empty() => {
                if !(existing && self.on_existing == OnExisting::Skip) {
                    slot.run_role = Some(role);
                }
                Some((
                    Record::User(User {
                        email,
                        password,
                        password_hash,
                        role,
                        first_name,
                        last_name,
                        is_active,
                    }),
                    existing,
                ))
            }
            _ => {
                Self::reject_ref(&mut slot, rc);
                None
            }
        };
        if let Some(s) = self.users.slot_mut(id) {
            *s = slot;
        }
        out
    }

    // -- courses -------------------------------------------------------------------------------

    fn check_course(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        let code = rc.required(col::C_CODE, parse::course_code);
        let name = rc.required(col::C_NAME, |v| parse::text(v, MAX_COURSE_NAME_LEN));
        let description = rc.optional(col::C_DESCRIPTION, |v| parse::text(v, MAX_DESCRIPTION_LEN));
        let semester = rc.optional(col::C_SEMESTER, |v| parse::text(v, MAX_SEMESTER_LEN));
        let credits = rc.optional(col::C_CREDITS, parse::credits);
        let status = rc
            .optional(col::C_STATUS, parse::course_status)
            .map(|s| s.unwrap_or(CourseStatus::Active));

        let code = code?;
        let id = self.courses.intern(code.as_str());
        let mut slot = self.courses.slot(id);
        let mut existing = false;
        if rc.issues.is_empty() {
            match self.claim_ref(&mut slot, rc, || {
                format!("the course code {}", quote(code.as_str()))
            }) {
                Ok(ex) => existing = ex,
                Err((c, m)) => rc.push(col::C_CODE, c, m),
            }
        }
        let out = match (name, description, semester, credits, status) {
            (Some(course_name), Some(description), Some(semester), Some(credits), Some(status))
                if rc.issues.is_empty() =>
            {
                Some((
                    Record::Course(Course {
                        course_code: code,
                        course_name,
                        description,
                        semester,
                        credits,
                        status,
                    }),
                    existing,
                ))
            }
            _ => {
                Self::reject_ref(&mut slot, rc);
                None
            }
        };
        if let Some(s) = self.courses.slot_mut(id) {
            *s = slot;
        }
        out
    }

    // -- references ----------------------------------------------------------------------------

    /// The student's id and role, or the issue (`unknown-student`).
    fn resolve_student(&self, email: &Email) -> Result<(u32, Role), String> {
        match self.users.get(email.as_str()) {
            Some(id) => self.resolve_student_id(id, email),
            None => Err(format!(
                "no user {} in the users file or the database; add the user first",
                quote(email.as_str())
            )),
        }
    }

    /// [`State::resolve_student`] for an interned id.
    fn resolve_student_id(&self, id: u32, email: &Email) -> Result<(u32, Role), String> {
        let s = self.users.slot(id);
        if let Some(role) = s.run_role.or(s.db_role) {
            return Ok((id, role));
        }
        if s.rejected_row != 0 {
            return Err(format!(
                "{} is not a valid user: the user on {} row {} was rejected; fix it first",
                quote(email.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ));
        }
        Err(format!(
            "no user {} in the users file or the database; add the user first",
            quote(email.as_str())
        ))
    }

    /// The course's id, or the issue (`unknown-course`).
    fn resolve_course(&self, code: &CourseCode) -> Result<u32, String> {
        match self.courses.get(code.as_str()) {
            Some(id) => self.resolve_course_id(id, code),
            None => Err(format!(
                "no course {} in the courses file or the database; add the course first",
                quote(code.as_str())
            )),
        }
    }

    /// [`State::resolve_course`] for an interned id.
    fn resolve_course_id(&self, id: u32, code: &CourseCode) -> Result<u32, String> {
        let s = self.courses.slot(id);
        if s.run_row != 0 || s.in_db {
            return Ok(id);
        }
        if s.rejected_row != 0 {
            return Err(format!(
                "{} is not a valid course: the course on {} row {} was rejected; fix it first",
                quote(code.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ));
        }
        Err(format!(
            "no course {} in the courses file or the database; add the course first",
            quote(code.as_str())
        ))
    }

    /// The student email of a row and its interned id when known. Raw text seen before is
    /// looked up as written (a hit is known valid, and its normalised value is the interned
    /// key); other values are parsed, and remembered when they name a known user.
    fn row_email(&mut self, rc: &mut RowCx<'_, '_>) -> (Option<Email>, Option<u32>) {
        let v = rc.value(col::STUDENT);
        let raw = raw_text(v);
        if let Some(id) = raw.and_then(|r| self.raw_users.get(r)) {
            return (Some(Email::new_unchecked(self.users.key(id))), Some(id));
        }
        let email = rc.required(col::STUDENT, parse::email);
        let id = email.as_ref().and_then(|e| self.users.get(e.as_str()));
        if let (Some(r), Some(id)) = (raw, id) {
            self.raw_users.remember(r, id);
        }
        (email, id)
    }

    /// [`State::row_email`] for the course code.
    fn row_code(&mut self, rc: &mut RowCx<'_, '_>) -> (Option<CourseCode>, Option<u32>) {
        let v = rc.value(col::COURSE);
        let raw = raw_text(v);
        if let Some(id) = raw.and_then(|r| self.raw_courses.get(r)) {
            return (
                Some(CourseCode::new_unchecked(self.courses.key(id))),
                Some(id),
            );
        }
        let code = rc.required(col::COURSE, parse::course_code);
        let id = code.as_ref().and_then(|c| self.courses.get(c.as_str()));
        if let (Some(r), Some(id)) = (raw, id) {
            self.raw_courses.remember(r, id);
        }
        (code, id)
    }

    /// Resolves student and course of an enrollment, grade or attendance row, pushing
    /// `unknown-student` / `unknown-course` issues. Returns the parsed values and ids.
    #[allow(clippy::type_complexity)]
    fn student_and_course(
        &mut self,
        rc: &mut RowCx<'_, '_>,
    ) -> (
        Option<Email>,
        Option<CourseCode>,
        Option<(u32, Role)>,
        Option<u32>,
    ) {
        let (email, uid) = self.row_email(rc);
        let (code, cid) = self.row_code(rc);
        let student = email.as_ref().and_then(|e| {
            let r = match uid {
                Some(id) => self.resolve_student_id(id, e),
                None => self.resolve_student(e),
            };
            match r {
                Ok(s) => Some(s),
                Err(m) => {
                    rc.push(col::STUDENT, IssueCode::UnknownStudent, m);
                    None
                }
            }
        });
        let course = code.as_ref().and_then(|c| {
            let r = match cid {
                Some(id) => self.resolve_course_id(id, c),
                None => self.resolve_course(c),
            };
            match r {
                Ok(id) => Some(id),
                Err(m) => {
                    rc.push(col::COURSE, IssueCode::UnknownCourse, m);
                    None
                }
            }
        });
        (email, code, student, course)
    }

    /// Pushes `not-enrolled` (or `not-a-student`) unless the student is enrolled in the course.
    fn check_enrolled(
        &self,
        rc: &mut RowCx<'_, '_>,
        email: &Email,
        code: &CourseCode,
        (sid, role): (u32, Role),
        cid: u32,
    ) {
        let slot = self.enrollments.get(&pack_pair(sid, cid)).copied();
        if let Some(s) = slot {
            if s.key.run_row != 0 || s.key.in_db {
                return;
            }
        }
        if role != Role::Student {
            rc.push(
                col::STUDENT,
                IssueCode::NotAStudent,
                format!(
                    "{} is a {role}, not a student, and is not enrolled in {}",
                    quote(email.as_str()),
                    quote(code.as_str())
                ),
            );
            return;
        }
        let msg = match slot {
            Some(s) if s.rejected_row != 0 => format!(
                "{} is not enrolled in {}: the enrollment on {} row {} was rejected; fix it first",
                quote(email.as_str()),
                quote(code.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ),
            _ => format!(
                "{} is not enrolled in {}; add the enrollment first",
                quote(email.as_str()),
                quote(code.as_str())
            ),
        };
        rc.push(col::STUDENT, IssueCode::NotEnrolled, msg);
    }

    // -- enrollments ---------------------------------------------------------------------------

    fn check_enrollment(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let date = rc.optional(col::E_DATE, parse::date);
        if let (Some(e), Some((_, role))) = (&email, student) {
            if role != Role::Student {
                rc.push(
                    col::STUDENT,
                    IssueCode::NotAStudent,
                    format!(
                        "{} is a {role}, not a student; only students can be enrolled",
                        quote(e.as_str())
                    ),
                );
            }
        }
        let (email, code, (sid, _), cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        let mut slot = self
            .enrollments
            .get(&pack_pair(sid, cid))
            .copied()
            .unwrap_or_default();
        let mut existing = false;
        if rc.issues.is_empty() {
            match self.claim(&mut slot.key, rc, || {
                format!(
                    "the enrollment of {} in {}",
                    quote(email.as_str()),
                    quote(code.as_str())
                )
            }) {
                Ok(ex) => existing = ex,
                Err((c, m)) => rc.push(col::STUDENT, c, m),
            }
        }
        let out = match date {
            Some(enrollment_date) if rc.issues.is_empty() => Some((
                Record::Enrollment(Enrollment {
                    student_email: email,
                    course_code: code,
                    enrollment_date,
                }),
                existing,
            )),
            _ => {
                if slot.key.run_row == 0 && slot.rejected_row == 0 {
                    slot.rejected_row = row32(rc.row).max(1);
                    slot.rejected_file = rc.cx.file_idx;
                }
                None
            }
        };
        self.enrollments.insert(pack_pair(sid, cid), slot);
        out
    }

    // -- grades --------------------------------------------------------------------------------

    fn check_grade(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let assessment = {
            let v = rc.value(col::G_ASSESSMENT);
            if v.is_blank() {
                Some(DEFAULT_ASSESSMENT.to_owned())
            } else {
                match parse::text(v, MAX_ASSESSMENT_LEN) {
                    Ok(a) => Some(normalize_assessment(&a)),
                    Err(e) => {
                        rc.push(col::G_ASSESSMENT, e.code, e.message);
                        None
                    }
                }
            }
        };
        let score = rc.optional(col::G_SCORE, parse::score);
        let letter = rc.optional(col::G_LETTER, parse::letter_grade);
        if let (Some(None), Some(None)) = (&score, &letter) {
            rc.push(
                col::G_SCORE,
                IssueCode::MissingValue,
                "the row has neither a score nor a letter_grade; give at least one".to_owned(),
            );
        }
        let graded_on = rc.optional(col::G_GRADED_ON, parse::date);
        let (email, code, student, cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        self.check_enrolled(rc, &email, &code, student, cid);
        let assessment = assessment?;
        let mut existing = false;
        if rc.issues.is_empty() {
            let aid = self.assessment_id(&assessment);
            let mut slot = self
                .grades
                .get(&(student.0, cid, aid))
                .copied()
                .unwrap_or_default();
            match self.claim(&mut slot, rc, || {
                format!(
                    "the {} grade of {} in {}",
                    quote(&assessment),
                    quote(email.as_str()),
                    quote(code.as_str())
                )
            }) {
                Ok(ex) => {
                    existing = ex;
                    self.grades.insert((student.0, cid, aid), slot);
                }
                Err((c, m)) => rc.push(col::STUDENT, c, m),
            }
        }
        match (score, letter, graded_on) {
            (Some(score), Some(letter_grade), Some(graded_on)) if rc.issues.is_empty() => Some((
                Record::Grade(Grade {
                    student_email: email,
                    course_code: code,
                    assessment,
                    score,
                    letter_grade,
                    graded_on,
                }),
                existing,
            )),
            _ => None,
        }
    }

    // -- attendance (hot path) -----------------------------------------------------------------

    fn check_attendance(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, bool)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let date = rc.required(col::A_DATE, parse::date);
        let status = rc.required(col::A_STATUS, parse::attendance_status);
        let (email, code, student, cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        self.check_enrolled(rc, &email, &code, student, cid);
        let (date, status) = (date?, status?);
        if !rc.issues.is_empty() {
            return None;
        }
        let day = date.num_days_from_ce();
        // One hash operation: a fresh entry always claims successfully, so no stray entries.
        let slot = match pack_attendance(student.0, cid, day) {
            Some(k) => self.attendance.entry(k).or_default(),
            None => self
                .attendance_wide
                .entry((student.0, cid, day))
                .or_default(),
        };
        match claim_key(self.on_existing, &self.files, slot, rc, || {
            format!(
                "the attendance of {} in {} on {date}",
                quote(email.as_str()),
                quote(code.as_str())
            )
        }) {
            Ok(existing) => Some((
                Record::Attendance(Attendance {
                    student_email: email,
                    course_code: code,
                    date,
                    status,
                }),
                existing,
            )),
            Err((c, m)) => {
                rc.push(col::STUDENT, c, m);
                None
            }
        }
    }
}

/// Claims a uniqueness key for a row that is otherwise valid: `duplicate-key` when an earlier
/// valid row of this run has it (naming that row), `already-exists` when the database has it
/// and `on_existing` is `Error`. Returns whether the key is in the database.
fn claim_key(
    on_existing: OnExisting,
    files: &[String],
    slot: &mut KeySlot,
    rc: &RowCx<'_, '_>,
    what: impl FnOnce() -> String,
) -> Result<bool, (IssueCode, String)> {
    if slot.run_row != 0 {
        let place = if slot.run_file == rc.cx.file_idx {
            format!("row {}", slot.run_row)
        } else {
            let f = files
                .get(slot.run_file as usize)
                .map(String::as_str)
                .unwrap_or("?");
            format!("row {} of {f}", slot.run_row)
        };
        return Err((
            IssueCode::DuplicateKey,
            format!(
                "{} is already used on {place}; remove the duplicate",
                what()
            ),
        ));
    }
    if slot.in_db && on_existing == OnExisting::Error {
        return Err((
            IssueCode::AlreadyExists,
            format!(
                "{} is already in the database; remove the row, or use --on-existing skip or update",
                what()
            ),
        ));
    }
    slot.run_row = row32(rc.row).max(1);
    slot.run_file = rc.cx.file_idx;
    Ok(slot.in_db)
}

// ---------------------------------------------------------------------------------------------
// Row context

struct FileCx<'a> {
    file: &'a str,
    file_idx: u16,
    entity: Entity,
    lay: &'a Layout,
}

struct RowCx<'c, 'a> {
    cx: &'c FileCx<'a>,
    row: u64,
    values: &'c [Value],
    issues: &'c mut Vec<Issue>,
}

static EMPTY: Value = Value::Empty;

impl<'c> RowCx<'c, '_> {
    fn value(&self, slot: usize) -> &'c Value {
        match self.cx.lay.idx.get(slot).copied().flatten() {
            Some(i) => self.values.get(i).unwrap_or(&EMPTY),
            None => &EMPTY,
        }
    }

    fn push(&mut self, slot: usize, code: IssueCode, message: String) {
        let column = self.cx.lay.names.get(slot).map(String::as_str);
        self.issues.push(Issue::error(
            code,
            self.cx.file,
            Some(self.row),
            column,
            message,
        ));
    }

    /// A required value; `None` when it is missing or invalid (the issue is pushed).
    fn required<T>(&mut self, slot: usize, f: impl FnOnce(&Value) -> ParseResult<T>) -> Option<T> {
        match f(self.value(slot)) {
            Ok(x) => Some(x),
            Err(e) => {
                self.push(slot, e.code, e.message);
                None
            }
        }
    }

    /// An optional value: `Some(None)` when blank, `None` when invalid (the issue is pushed).
    fn optional<T>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&Value) -> ParseResult<T>,
    ) -> Option<Option<T>> {
        if self.value(slot).is_blank() {
            return Some(None);
        }
        self.required(slot, f).map(Some)
    }
}

/// True for a rejects file written by `import --skip-invalid` (`<file>.rejects.csv`, any case).
pub(crate) fn is_rejects_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".rejects.csv")
}

/// Undoes the spreadsheet protection of a rejects file: a text cell that is `'` followed by
/// `=`, `+`, `-`, `@`, a tab or a carriage return loses exactly that one `'`, so a fixed rejects
/// file re-imports to the original values. Any other cell is left as it is.
pub(crate) fn unprotect_cells(values: &mut [Value]) {
    for v in values {
        if let Value::Text(t) = v {
            let b = t.as_bytes();
            if b.len() >= 2
                && b[0] == b'\''
                && matches!(b[1], b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
            {
                t.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod rejects_cells_tests {
    use super::*;

    #[test]
    fn exactly_the_protecting_quote_is_stripped() {
        let mut v = vec![
            Value::Text("'=1+2".into()),
            Value::Text("'+44 20".into()),
            Value::Text("'-x".into()),
            Value::Text("'@cmd".into()),
            Value::Text("'\tx".into()),
            Value::Text("'\rx".into()),
            Value::Text("''=x".into()),
            Value::Text("'plain".into()),
            Value::Text("'".into()),
            Value::Text("O'Brien".into()),
            Value::Int(3),
        ];
        unprotect_cells(&mut v);
        let texts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            texts,
            ["=1+2", "+44 20", "-x", "@cmd", "\tx", "\rx", "''=x", "'plain", "'", "O'Brien", "3"]
        );
    }

    #[test]
    fn only_rejects_files_are_unprotected() {
        assert!(is_rejects_file("users.csv.rejects.csv"));
        assert!(is_rejects_file("USERS.CSV.REJECTS.CSV"));
        assert!(!is_rejects_file("users.csv"));
        assert!(!is_rejects_file("rejects.csv.bak"));
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn attendance_keys_pack_only_when_every_part_fits() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 9, 2)
            .map(|d| d.num_days_from_ce())
            .unwrap_or_default();
        let k = pack_attendance(5, 7, day);
        assert_eq!(k, Some((5u64 << 40) | (7u64 << 20) | day as u64));
        assert_ne!(pack_attendance(5, 7, day + 1), k);
        assert_ne!(pack_attendance(5, 8, day), k);
        assert_ne!(pack_attendance(6, 7, day), k);
        assert!(pack_attendance((1 << 24) - 1, (1 << 20) - 1, (1 << 20) - 1).is_some());
        assert_eq!(pack_attendance(1 << 24, 0, day), None);
        assert_eq!(pack_attendance(0, 1 << 20, day), None);
        assert_eq!(pack_attendance(0, 0, 1 << 20), None);
        assert_eq!(pack_attendance(0, 0, -1), None);
        assert_ne!(pack_pair(1, 2), pack_pair(2, 1));
    }

    #[test]
    fn wide_attendance_keys_are_still_unique() {
        let mut st = State::new(ValidationOptions::default());
        st.attendance_slot(1 << 24, 3, 10).run_row = 9;
        assert_eq!(st.attendance_slot(1 << 24, 3, 10).run_row, 9);
        assert_eq!(st.attendance_slot(1 << 24, 3, 11).run_row, 0);
        assert_eq!(st.attendance_wide.len(), 2);
        assert!(st.attendance.is_empty());
        st.attendance_slot(1, 3, 10).run_row = 4;
        assert_eq!(st.attendance.len(), 1);
    }

    #[test]
    fn raw_cache_remembers_exact_text_and_the_last_hit() {
        let mut c = RawCache::default();
        assert_eq!(c.get("Carol@School.edu"), None);
        c.remember("Carol@School.edu", 3);
        c.remember("carol@school.edu", 3);
        assert_eq!(c.get("Carol@School.edu"), Some(3));
        assert_eq!(c.get("Carol@School.edu"), Some(3));
        assert_eq!(c.get("carol@school.edu"), Some(3));
        assert_eq!(c.get("CAROL@SCHOOL.EDU"), None);
        assert_eq!(c.get(""), None);
    }
}
