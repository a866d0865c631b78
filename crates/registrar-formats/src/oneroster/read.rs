//! Reads a OneRoster 1.1 / 1.2 bundle as Registrar's entities: each bundle file streams
//! through a converting [`RowSource`] whose rows keep the bundle file's name and row numbers,
//! and whose issues name the bundle's own columns ([`RowSource::column_labels`]).
//!
//! # The mapping (the inverse of [`super::write`])
//!
//! | OneRoster | Registrar |
//! |---|---|
//! | `users.csv` | users: `email` (else `username` when it is an address), `password` when the file has one, `givenName` → first_name, `familyName` → last_name, `enabledUser` → is_active, `sourcedId` → sis_id. Role: 1.1 the `role` column, 1.2 the user's `primary` row of `roles.csv` (else its first row), mapped by [`super::spec::registrar_role`]: the administrator roles → admin, teacher and aide → teacher, student → student, proctor → viewer. Users whose role has no account in Registrar (guardian, parent, relative, counselor) are skipped and counted in one `skipped-by-mapping` warning per role |
//! | `classes.csv` (with `courses.csv`, `academicSessions.csv`) | courses, one per class: **course_code = the class's `classCode`**, else its course's `courseCode`, else the class's sourcedId (the validation pass checks and normalises it like any code, and two classes with one code are a `duplicate-key` naming both rows); course_name = the class `title`; semester = the title of the class's first term (or the exact text in `metadata.registrar.semester` that a Registrar export writes); description, credits and status from a Registrar export's `metadata.registrar.*` columns of `courses.csv` |
//! | `enrollments.csv`, role `student` | enrollments: `userSourcedId` → student_sis_id, the class → course_code, `beginDate` → enrollment_date |
//! | `enrollments.csv`, role `teacher` / `aide` | teacher links ([`TeacherLink`], written to `registrar_course_teachers`): never dropped silently; counted in the run |
//! | `lineItems.csv` + `results.csv` | grades: `studentSourcedId` → student_sis_id, the line item's class → course_code, its `title` → assessment, `score`, `scoreDate` → graded_on; the letter grade from 1.2 `textScore`, or from 1.1 `comment` when the comment is a letter grade (free-text comments are not grades). Results whose `scoreStatus` is `exempt` or `not submitted` are skipped and counted |
//! | `status = tobedeleted` (delta files) | a [`Removal`]: the row is not imported, the record it names is removed |
//!
//! Other files (orgs, categories, demographics, resources, ...) are read only by
//! [`super::check::check_bundle`], which lists the unused ones as `ignored-file`.

use super::spec::{self, files as names, FileMode, Version};
use super::Bundle;
use crate::{Error, Format, ReaderOptions, RowSource};
use registrar_model::{Entity, Event, Issue, IssueCode, ReadError, Row, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The prefix of the class sourcedIds a Registrar export writes (`class-<CODE>`, see
/// [`super::write`]).
const EXPORT_CLASS_PREFIX: &str = "class-";

/// How a teacher belongs to a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkRole {
    /// `teacher`.
    Teacher,
    /// `aide`.
    Aide,
}

impl LinkRole {
    /// `"teacher"` or `"aide"` (the `role` column of `registrar_course_teachers`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkRole::Teacher => "teacher",
            LinkRole::Aide => "aide",
        }
    }
}

/// A teacher's or aide's enrollment in a class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeacherLink {
    /// The teacher's sourcedId (their `sis_id`).
    pub teacher_sis_id: String,
    /// The course code of the class.
    pub course_code: String,
    /// Teacher or aide.
    pub role: LinkRole,
    /// The row of `enrollments.csv`.
    pub row: u64,
}

/// What a delta bundle's `tobedeleted` row removes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Removal {
    /// A user by sourcedId (deactivated).
    User(String),
    /// A course by code (set inactive).
    Course(String),
    /// A student's enrollment: (student sourcedId, course code).
    Enrollment(String, String),
    /// A grade: (student sourcedId, course code, assessment).
    Grade(String, String, String),
    /// A teacher link: (teacher sourcedId, course code).
    TeacherLink(String, String),
}

/// What reading the bundle gave besides the rows: teacher links and removals.
#[derive(Debug, Clone, Default)]
pub struct Sidecar {
    /// Teacher and aide enrollments.
    pub teacher_links: Vec<TeacherLink>,
    /// `tobedeleted` rows.
    pub removals: Vec<Removal>,
}

#[derive(Debug, Default)]
struct Lookups {
    /// class sourcedId → course code.
    classes: HashMap<String, String>,
    /// lineItem sourcedId → (class sourcedId, title).
    line_items: HashMap<String, (String, String)>,
    /// user sourcedId → role (1.2 `roles.csv`).
    roles: HashMap<String, String>,
    /// academicSession sourcedId → semester text.
    terms: HashMap<String, String>,
    /// course sourcedId → (courseCode, description, credits, status).
    courses: HashMap<String, [String; 4]>,
}

/// A OneRoster bundle opened for an import (see the module docs).
pub struct RosterRead {
    bundle: Bundle,
    lookups: Lookups,
    sidecar: Arc<Mutex<Sidecar>>,
    issues: Vec<Issue>,
}

impl std::fmt::Debug for RosterRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RosterRead")
            .field("bundle", &self.bundle.name())
            .finish_non_exhaustive()
    }
}

/// A row of a bundle file with its columns found by name.
struct Cols {
    idx: HashMap<String, usize>,
}

impl Cols {
    fn new(headers: &[String]) -> Cols {
        Cols {
            idx: headers
                .iter()
                .enumerate()
                .map(|(i, h)| (h.trim().to_owned(), i))
                .collect(),
        }
    }

    fn get<'r>(&self, row: &'r [Value], name: &str) -> std::borrow::Cow<'r, str> {
        match self.idx.get(name).and_then(|&i| row.get(i)) {
            Some(Value::Text(t)) => std::borrow::Cow::Borrowed(t.trim()),
            Some(Value::Empty) | None => std::borrow::Cow::Borrowed(""),
            Some(v) => std::borrow::Cow::Owned(v.to_string()),
        }
    }
}

fn deleted(status: &str) -> bool {
    status.eq_ignore_ascii_case("tobedeleted")
}

impl RosterRead {
    /// Opens the bundle at `path` (folder or `.zip`), checks it ([`super::check::check_bundle`])
    /// and reads the small files the conversion looks things up in (classes, courses,
    /// sessions, line items, 1.2 roles).
    pub fn open(path: &Path, options: &ReaderOptions) -> Result<RosterRead, Error> {
        let bundle = Bundle::open(path, options)?;
        // The check includes the manifest's own issues.
        let issues = super::check::check_bundle(&bundle);
        let mut r = RosterRead {
            bundle,
            lookups: Lookups::default(),
            sidecar: Arc::default(),
            issues,
        };
        r.read_lookups()?;
        Ok(r)
    }

    /// The bundle's name (folder or zip file name).
    pub fn name(&self) -> &str {
        self.bundle.name()
    }

    /// The manifest's version.
    pub fn version(&self) -> Version {
        self.bundle.manifest().version
    }

    /// True when the manifest lists any file as `delta`.
    pub fn is_delta(&self) -> bool {
        self.bundle
            .manifest()
            .files
            .values()
            .any(|m| *m == FileMode::Delta)
    }

    /// The bundle's structural issues (manifest, check) for the run's report.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// The entities the bundle gives rows for, in import order, each with the bundle file it
    /// comes from.
    pub fn entities(&self) -> Vec<(Entity, &'static str)> {
        [
            (Entity::Users, names::USERS),
            (Entity::Courses, names::CLASSES),
            (Entity::Enrollments, names::ENROLLMENTS),
            (Entity::Grades, names::RESULTS),
        ]
        .into_iter()
        .filter(|(_, f)| self.reads(f))
        .collect()
    }

    /// What reading gave besides rows so far (complete once every source was read).
    pub fn sidecar(&self) -> Sidecar {
        self.sidecar.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn reads(&self, file: &str) -> bool {
        self.bundle.has(file)
            && matches!(
                self.bundle.manifest().mode(file),
                Some(FileMode::Bulk | FileMode::Delta)
            )
    }

    fn each(&self, file: &str, mut f: impl FnMut(&Cols, &Row)) -> Result<(), Error> {
        if !self.bundle.has(file) {
            return Ok(());
        }
        let mut src = self.bundle.open_file(file)?;
        let cols = Cols::new(src.headers());
        for ev in src.by_ref() {
            match ev {
                Ok(Event::Row(row)) => f(&cols, &row),
                Ok(Event::Issue(_)) => {}
                Err(ReadError::File(_)) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read_lookups(&mut self) -> Result<(), Error> {
        let mut l = Lookups::default();
        self.each(names::ACADEMIC_SESSIONS, |c, r| {
            let v = &r.values;
            let text = if c.idx.contains_key(super::write::SEMESTER_COLUMN) {
                c.get(v, super::write::SEMESTER_COLUMN).into_owned()
            } else {
                c.get(v, "title").into_owned()
            };
            l.terms.insert(c.get(v, "sourcedId").into_owned(), text);
        })?;
        self.each(names::COURSES, |c, r| {
            let v = &r.values;
            let [d, cr, st] = super::write::COURSE_COLUMNS;
            l.courses.insert(
                c.get(v, "sourcedId").into_owned(),
                [
                    c.get(v, "courseCode").into_owned(),
                    c.get(v, d).into_owned(),
                    c.get(v, cr).into_owned(),
                    c.get(v, st).into_owned(),
                ],
            );
        })?;
        let courses = &l.courses;
        let mut classes = HashMap::new();
        self.each(names::CLASSES, |c, r| {
            let v = &r.values;
            classes.insert(
                c.get(v, "sourcedId").into_owned(),
                class_code(c, v, courses),
            );
        })?;
        l.classes = classes;
        self.each(names::LINE_ITEMS, |c, r| {
            let v = &r.values;
            l.line_items.insert(
                c.get(v, "sourcedId").into_owned(),
                (
                    c.get(v, "classSourcedId").into_owned(),
                    c.get(v, "title").into_owned(),
                ),
            );
        })?;
        if self.version() == Version::V1_2 {
            let mut primary: HashMap<String, bool> = HashMap::new();
            self.each(names::ROLES, |c, r| {
                let v = &r.values;
                if deleted(&c.get(v, "status")) {
                    return;
                }
                let user = c.get(v, "userSourcedId").into_owned();
                let is_primary = c.get(v, "roleType").eq_ignore_ascii_case("primary");
                let had_primary = primary.get(&user).copied().unwrap_or(false);
                if !l.roles.contains_key(&user) || (is_primary && !had_primary) {
                    l.roles.insert(user.clone(), c.get(v, "role").into_owned());
                    primary.insert(user, is_primary);
                }
            })?;
        }
        self.lookups = l;
        Ok(())
    }

    /// A streaming source of `entity`'s rows (see the module docs).
    pub fn source(self: &Arc<Self>, entity: Entity) -> Result<Box<dyn RowSource>, Error> {
        let (file, headers, labels): (&str, &[&str], &[&str]) = match entity {
            Entity::Users => (
                names::USERS,
                &[
                    "email",
                    "password",
                    "role",
                    "first_name",
                    "last_name",
                    "is_active",
                    "sis_id",
                ],
                &[
                    "email",
                    "password",
                    "role",
                    "givenName",
                    "familyName",
                    "enabledUser",
                    "sourcedId",
                ],
            ),
            Entity::Courses => (
                names::CLASSES,
                &[
                    "course_code",
                    "course_name",
                    "description",
                    "semester",
                    "credits",
                    "status",
                ],
                &[
                    "classCode",
                    "title",
                    "courseSourcedId",
                    "termSourcedIds",
                    "courseSourcedId",
                    "courseSourcedId",
                ],
            ),
            Entity::Enrollments => (
                names::ENROLLMENTS,
                &["student_sis_id", "course_code", "enrollment_date"],
                &["userSourcedId", "classSourcedId", "beginDate"],
            ),
            Entity::Grades => (
                names::RESULTS,
                &[
                    "student_sis_id",
                    "course_code",
                    "assessment",
                    "score",
                    "letter_grade",
                    "graded_on",
                ],
                &[
                    "studentSourcedId",
                    "lineItemSourcedId",
                    "lineItemSourcedId",
                    "score",
                    if self.version() == Version::V1_2 {
                        "textScore"
                    } else {
                        "comment"
                    },
                    "scoreDate",
                ],
            ),
            Entity::Attendance => {
                return Err(crate::file_error(
                    IssueCode::MissingFile,
                    self.bundle.name(),
                    "OneRoster has no attendance; give attendance as its own file".into(),
                ))
            }
        };
        let inner = self.bundle.open_file(file)?;
        let cols = Cols::new(inner.headers());
        Ok(Box::new(Converted {
            inner,
            read: Arc::clone(self),
            entity,
            cols,
            headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            labels: labels.iter().map(|s| (*s).to_owned()).collect(),
            skipped: BTreeMap::new(),
            pending: VecDeque::new(),
            done: false,
            removals: std::cell::Cell::new(0),
        }))
    }
}

/// The course code of a class row (see the module docs).
fn class_code(c: &Cols, v: &[Value], courses: &HashMap<String, [String; 4]>) -> String {
    let code = c.get(v, "classCode");
    if !code.is_empty() {
        return code.into_owned();
    }
    if let Some([cc, ..]) = courses.get(c.get(v, "courseSourcedId").as_ref()) {
        if !cc.is_empty() {
            return cc.clone();
        }
    }
    c.get(v, "sourcedId").into_owned()
}

/// True when `s` is a letter grade as the spec writes them (A, B+, C-, ...).
fn is_letter(s: &str) -> bool {
    registrar_model::LetterGrade::parse(s.trim()).is_some()
}

struct Converted {
    inner: Box<dyn RowSource>,
    read: Arc<RosterRead>,
    entity: Entity,
    cols: Cols,
    headers: Vec<String>,
    labels: Vec<String>,
    /// (column, value) → (rows, first row): rows not imported, said once at the end.
    skipped: BTreeMap<(String, String), (u64, u64, &'static str, String)>,
    pending: VecDeque<Issue>,
    done: bool,
    /// `tobedeleted` rows of this file.
    removals: std::cell::Cell<u64>,
}

fn t(s: impl Into<String>) -> Value {
    let s = s.into();
    if s.is_empty() {
        Value::Empty
    } else {
        Value::Text(s)
    }
}

impl Converted {
    fn skip(&mut self, column: &str, value: &str, row: u64, why: &'static str) {
        let e = self
            .skipped
            .entry((column.to_owned(), value.to_lowercase()))
            .or_insert((0, row, why, value.to_owned()));
        e.0 += 1;
    }

    fn push_side(&self, f: impl FnOnce(&mut Sidecar)) {
        if let Ok(mut s) = self.read.sidecar.lock() {
            let before = s.removals.len();
            f(&mut s);
            let added = s.removals.len().saturating_sub(before) as u64;
            self.removals.set(self.removals.get() + added);
        }
    }

    fn code_of_class(&self, class: &str) -> String {
        self.read
            .lookups
            .classes
            .get(class)
            .cloned()
            .unwrap_or_else(|| {
                // A class this bundle does not define: a Registrar export names classes
                // `class-<CODE>`; anything else stays as given (and names no course).
                class
                    .strip_prefix(EXPORT_CLASS_PREFIX)
                    .unwrap_or(class)
                    .to_owned()
            })
    }

    /// The converted row, or `None` when the row is not imported (skipped or a removal).
    fn convert(&mut self, row: Row) -> Option<Row> {
        let v = &row.values;
        let c = &self.cols;
        let status = c.get(v, "status").into_owned();
        let values = match self.entity {
            Entity::Users => {
                let sid = c.get(v, "sourcedId").into_owned();
                if deleted(&status) {
                    self.push_side(|s| s.removals.push(Removal::User(sid)));
                    return None;
                }
                let raw_role = match self.read.version() {
                    Version::V1_1 => c.get(v, "role").into_owned(),
                    Version::V1_2 => self
                        .read
                        .lookups
                        .roles
                        .get(&sid)
                        .cloned()
                        .unwrap_or_default(),
                };
                let role = match spec::registrar_role(&raw_role) {
                    Some(r) => r.as_str().to_owned(),
                    None if matches!(
                        raw_role.to_ascii_lowercase().as_str(),
                        "guardian" | "parent" | "relative" | "counselor"
                    ) =>
                    {
                        self.skip(
                            "role",
                            &raw_role,
                            row.row,
                            "has no account in Registrar (guardians, parents, relatives and counselors are not imported)",
                        );
                        return None;
                    }
                    None => raw_role,
                };
                let mut email = c.get(v, "email").into_owned();
                if email.is_empty() {
                    let user = c.get(v, "username");
                    if user.contains('@') {
                        email = user.into_owned();
                    }
                }
                vec![
                    t(email),
                    t(c.get(v, "password")),
                    t(role),
                    t(c.get(v, "givenName")),
                    t(c.get(v, "familyName")),
                    t(c.get(v, "enabledUser")),
                    t(sid),
                ]
            }
            Entity::Courses => {
                let code = class_code(c, v, &self.read.lookups.courses);
                if deleted(&status) {
                    self.push_side(|s| s.removals.push(Removal::Course(code)));
                    return None;
                }
                let course = self
                    .read
                    .lookups
                    .courses
                    .get(c.get(v, "courseSourcedId").as_ref());
                let term = c
                    .get(v, "termSourcedIds")
                    .split(',')
                    .map(str::trim)
                    .find(|s| !s.is_empty())
                    .and_then(|s| self.read.lookups.terms.get(s).cloned())
                    .unwrap_or_default();
                let extra = |i: usize| course.map(|c| c[i].clone()).unwrap_or_default();
                vec![
                    t(code),
                    t(c.get(v, "title")),
                    t(extra(1)),
                    t(term),
                    t(extra(2)),
                    t(extra(3)),
                ]
            }
            Entity::Enrollments => {
                let user = c.get(v, "userSourcedId").into_owned();
                let code = self.code_of_class(&c.get(v, "classSourcedId"));
                let role = c.get(v, "role").to_ascii_lowercase();
                let link = match role.as_str() {
                    "teacher" => Some(LinkRole::Teacher),
                    "aide" => Some(LinkRole::Aide),
                    _ => None,
                };
                if let Some(role) = link {
                    let r = row.row;
                    if deleted(&status) {
                        self.push_side(|s| s.removals.push(Removal::TeacherLink(user, code)));
                    } else {
                        self.push_side(|s| {
                            s.teacher_links.push(TeacherLink {
                                teacher_sis_id: user,
                                course_code: code,
                                role,
                                row: r,
                            })
                        });
                    }
                    return None;
                }
                if role != "student" {
                    self.skip(
                        "role",
                        &role,
                        row.row,
                        "is not a student, teacher or aide enrollment: not imported",
                    );
                    return None;
                }
                if deleted(&status) {
                    self.push_side(|s| s.removals.push(Removal::Enrollment(user, code)));
                    return None;
                }
                vec![t(user), t(code), t(c.get(v, "beginDate"))]
            }
            Entity::Grades => {
                let student = c.get(v, "studentSourcedId").into_owned();
                let li = c.get(v, "lineItemSourcedId").into_owned();
                let (code, title) = match self.read.lookups.line_items.get(&li) {
                    Some((class, title)) => (self.code_of_class(class), title.clone()),
                    None => (li.clone(), String::new()),
                };
                if deleted(&status) {
                    self.push_side(|s| s.removals.push(Removal::Grade(student, code, title)));
                    return None;
                }
                let score_status = c.get(v, "scoreStatus").to_ascii_lowercase();
                if score_status == "exempt" || score_status == "not submitted" {
                    self.skip(
                        "scoreStatus",
                        &score_status,
                        row.row,
                        "is not a grade: not imported",
                    );
                    return None;
                }
                let letter = match self.read.version() {
                    Version::V1_2 => c.get(v, "textScore").into_owned(),
                    Version::V1_1 => {
                        let comment = c.get(v, "comment");
                        if is_letter(&comment) {
                            comment.into_owned()
                        } else {
                            String::new()
                        }
                    }
                };
                vec![
                    t(student),
                    t(code),
                    t(title),
                    t(c.get(v, "score")),
                    t(letter),
                    t(c.get(v, "scoreDate")),
                ]
            }
            Entity::Attendance => return None,
        };
        Some(Row {
            row: row.row,
            values,
        })
    }

    fn finish(&mut self) {
        let file = self.inner.file_name().to_owned();
        for ((column, _), (rows, first, why, value)) in std::mem::take(&mut self.skipped) {
            let rows_text = if rows == 1 {
                "1 row".to_owned()
            } else {
                format!("{rows} rows")
            };
            self.pending.push_back(Issue::warning(
                IssueCode::SkippedByMapping,
                &file,
                Some(first),
                Some(&column),
                format!("{rows_text} skipped (first at row {first}): {column} '{value}' {why}"),
            ));
        }
        if self.removals.get() > 0 {
            self.pending.push_back(Issue::warning(
                IssueCode::SkippedByMapping,
                &file,
                None,
                Some("status"),
                format!(
                    "{} tobedeleted rows are not imported as rows: they name records to remove, which import --execute removes (users deactivated, courses set inactive, enrollments, grades and teacher links deleted)",
                    self.removals.get()
                ),
            ));
        }
        if self.entity == Entity::Enrollments {
            let links = self
                .read
                .sidecar
                .lock()
                .map(|s| s.teacher_links.len())
                .unwrap_or(0);
            if links > 0 {
                self.pending.push_back(Issue::warning(
                    IssueCode::SkippedByMapping,
                    &file,
                    None,
                    Some("role"),
                    format!(
                        "{links} teacher and aide enrollments are kept as teacher links (registrar_course_teachers), not as student enrollments"
                    ),
                ));
            }
        }
    }
}

impl Iterator for Converted {
    type Item = Result<Event, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return self.pending.pop_front().map(|i| Ok(Event::Issue(i)));
            }
            match self.inner.next() {
                Some(Ok(Event::Row(row))) => {
                    if let Some(r) = self.convert(row) {
                        return Some(Ok(Event::Row(r)));
                    }
                }
                Some(other) => return Some(other),
                None => {
                    self.done = true;
                    self.finish();
                }
            }
        }
    }
}

impl RowSource for Converted {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn header_row(&self) -> u64 {
        self.inner.header_row()
    }
    fn format(&self) -> Format {
        self.inner.format()
    }
    fn file_name(&self) -> &str {
        self.inner.file_name()
    }
    fn column_labels(&self) -> Option<&[String]> {
        Some(&self.labels)
    }
    fn bytes_read(&self) -> Option<u64> {
        self.inner.bytes_read()
    }
}
