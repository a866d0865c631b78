//! Writes a [`Roster`] as a OneRoster 1.1 or 1.2 **bulk** bundle: [`render`] makes the files,
//! [`write_zip`] and [`write_folder`] put them somewhere.
//!
//! # The mapping
//!
//! | Registrar | OneRoster |
//! |---|---|
//! | the school (`org_name`) | one `orgs.csv` row, type `school`, sourcedId `registrar-school` |
//! | each distinct course `semester` | an `academicSessions.csv` row of type `term`, titled with the semester; its dates span the activity of its courses (earliest to latest enrollment, grade and attendance date), else the year named in the text (`Fall 2026` → 2026-01-01 to 2026-12-31), else the whole database's span; `schoolYear` is the end date's year. Courses without a semester share the term `term-none` titled `(no semester)`. The exact semester text is in the extension column `metadata.registrar.semester` (empty for `term-none`) |
//! | a course | a `courses.csv` row (`courseCode` = course_code, `title` = course_name) **and** one `classes.csv` row (`classCode` = course_code, `title` = course_name, type `scheduled`, in its semester's term), so a reader maps a class back to the course by `classCode`. description, credits and status ride along as `metadata.registrar.description`, `metadata.registrar.credits`, `metadata.registrar.status` |
//! | a user | a `users.csv` row: `username` and `email` = email, `givenName` / `familyName`, `enabledUser` = is_active; 1.1: `role` and `orgSourcedIds`; 1.2: a `roles.csv` row (`primary`) and `primaryOrgSourcedId`. Roles: [`spec::oneroster_role`] (admin → administrator / siteAdministrator, viewer → proctor). No password or hash is ever written |
//! | an enrollment | an `enrollments.csv` row, role `student`, `beginDate` = enrollment_date |
//! | a teacher / aide link | an `enrollments.csv` row, role `teacher` (`primary` `true`) or, in 1.2, `aide` (`primary` `false`); 1.1 has no aide enrollment role, so an aide is a `teacher` row with `primary` `false` |
//! | each distinct assessment | a `categories.csv` row titled with it |
//! | a (course, assessment) with grades | a `lineItems.csv` row: `title` = assessment, in the course's class and category, grading period = the term, 0 to 100, assigned and due on the earliest and latest graded_on (else the term's dates) |
//! | a grade | a `results.csv` row, `scoreStatus` `fully graded`, `score`, `scoreDate` = graded_on (else the line item's due date); the letter grade is `textScore` in 1.2 and the whole `comment` in 1.1 |
//!
//! Attendance is not part of OneRoster and is not exported. `status` and `dateLastModified`
//! are left empty (the files are bulk), so nothing in a bundle depends on the clock.
//!
//! # sourcedIds
//! A user's is their stored external id (`sis_id`, e.g. the sourcedId an import brought)
//! when they have one, else `user-<key>` (`-r<key>` is appended if that is taken by someone's
//! external id). The others are generated from natural keys: `course-<CODE>`,
//! `class-<CODE>`, `term-<slug>-<hash>` of the semester, `cat-<slug>-<hash>` of the
//! assessment, `li-<CODE>-<slug>-<hash>` of (course, assessment), and from the user's key:
//! `enr-<CODE>-<key>`, `teach-<CODE>-<key>`, `res-<line item>-<key>`, `role-<key>` (1.2).
//! The same database therefore exports byte-identical files, every time.
//!
//! Everything is rendered in memory (the roster is, too), then written.

use super::spec::{self, files, FileSpec, Version};
use registrar_model::{NaiveDate, Roster, RosterCourse, RosterRole, RosterUser};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Seek, Write};
use std::path::Path;

/// The sourcedId of the one org.
pub const ORG_ID: &str = "registrar-school";

/// The sourcedId of the term of courses without a semester.
pub const NO_TERM_ID: &str = "term-none";

/// The extension column of `academicSessions.csv` holding the exact semester text.
pub const SEMESTER_COLUMN: &str = "metadata.registrar.semester";

/// The extension columns of `courses.csv`: description, credits, status.
pub const COURSE_COLUMNS: [&str; 3] = [
    "metadata.registrar.description",
    "metadata.registrar.credits",
    "metadata.registrar.status",
];

/// One rendered file: its name and its bytes (UTF-8 CSV, LF line ends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    /// `users.csv`, ...
    pub name: &'static str,
    /// The CSV text.
    pub bytes: Vec<u8>,
    /// Data rows (not counting the header).
    pub rows: usize,
}

/// Renders `roster` as the files of a bulk bundle of `version` for the school `org_name`,
/// manifest first, then in dependency order.
pub fn render(roster: &Roster, version: Version, org_name: &str) -> Vec<RenderedFile> {
    let r = Renderer::new(roster, version);
    let mut out = Vec::new();
    let mut written: Vec<&'static str> = Vec::new();
    let mut push = |f: RenderedFile, out: &mut Vec<RenderedFile>| {
        written.push(f.name);
        out.push(f);
    };
    push(r.orgs(org_name), &mut out);
    push(r.sessions(), &mut out);
    push(r.courses(), &mut out);
    push(r.classes(), &mut out);
    push(r.users(), &mut out);
    if version == Version::V1_2 {
        push(r.roles(), &mut out);
    }
    push(r.enrollments(), &mut out);
    push(r.categories(), &mut out);
    push(r.line_items(), &mut out);
    push(r.results(), &mut out);
    let manifest = manifest(version, &written);
    out.insert(0, manifest);
    out
}

/// Writes rendered files as a zip to `w`: members in the given order, deflated, all dated
/// 1980-01-01 00:00 with mode 0600, so the same files make the same bytes.
pub fn write_zip<W: Write + Seek>(files: &[RenderedFile], w: W) -> std::io::Result<W> {
    let mut zip = zip::ZipWriter::new(w);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6))
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o600);
    for f in files {
        zip.start_file(f.name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&f.bytes)?;
    }
    zip.finish().map_err(std::io::Error::other)
}

/// Writes rendered files into the folder `dir` (which must exist), each created new with
/// mode 0600 (an existing file of the same name is an error, never overwritten).
pub fn write_folder(files: &[RenderedFile], dir: &Path) -> std::io::Result<()> {
    for f in files {
        let path = dir.join(f.name);
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut file = o.open(&path)?;
        file.write_all(&f.bytes)?;
        file.sync_all()?;
    }
    Ok(())
}

fn manifest(version: Version, written: &[&str]) -> RenderedFile {
    let mut t = Csv::new(&spec::MANIFEST_COLUMNS);
    t.row(vec![
        "manifest.version".into(),
        spec::MANIFEST_VERSION.into(),
    ]);
    t.row(vec!["oneroster.version".into(), version.as_str().into()]);
    let mut props: Vec<(String, &str)> = spec::files(version)
        .iter()
        .map(|f| {
            let mode = if written.contains(&f.name) {
                "bulk"
            } else {
                "absent"
            };
            (f.manifest_property(), mode)
        })
        .collect();
    props.sort();
    for (p, mode) in props {
        t.row(vec![p, mode.into()]);
    }
    t.row(vec!["source.systemName".into(), "Registrar".into()]);
    t.row(vec!["source.systemCode".into(), "registrar".into()]);
    t.finish(spec::MANIFEST_FILE)
}

/// A CSV being written under a header.
struct Csv {
    out: csv::Writer<Vec<u8>>,
    width: usize,
    rows: usize,
}

impl Csv {
    fn new(header: &[&str]) -> Csv {
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        // Writing to a Vec cannot fail.
        let _ = out.write_record(header);
        Csv {
            out,
            width: header.len(),
            rows: 0,
        }
    }

    fn row(&mut self, mut values: Vec<String>) {
        values.resize(self.width, String::new());
        let _ = self.out.write_record(&values);
        self.rows += 1;
    }

    fn finish(self, name: &'static str) -> RenderedFile {
        let rows = self.rows;
        let bytes = self.out.into_inner().unwrap_or_default();
        RenderedFile { name, bytes, rows }
    }
}

/// A file of the specification plus extension columns; rows are given by column name.
struct Table {
    spec: &'static FileSpec,
    columns: Vec<&'static str>,
    csv: Csv,
}

impl Table {
    fn new(version: Version, file: &str, extension: &[&'static str]) -> Table {
        let spec = spec::file_spec(version, file).expect("a file of the specification");
        let mut columns: Vec<&'static str> = spec.columns.iter().map(|c| c.name).collect();
        columns.extend_from_slice(extension);
        let csv = Csv::new(&columns);
        Table { spec, columns, csv }
    }

    fn row(&mut self, cells: &[(&str, String)]) {
        let mut values = vec![String::new(); self.columns.len()];
        for (name, value) in cells {
            if let Some(i) = self.columns.iter().position(|c| c == name) {
                values[i] = value.clone();
            }
        }
        self.csv.row(values);
    }

    fn finish(self) -> RenderedFile {
        self.csv.finish(self.spec.name)
    }
}

/// A term: its id, title, exact semester text and dates.
struct Term {
    id: String,
    title: String,
    semester: Option<String>,
    start: NaiveDate,
    end: NaiveDate,
}

struct LineItem {
    id: String,
    code: String,
    assessment: String,
    assign: NaiveDate,
    due: NaiveDate,
}

struct Renderer<'a> {
    roster: &'a Roster,
    version: Version,
    courses: Vec<&'a RosterCourse>,
    users: Vec<&'a RosterUser>,
    user_ids: HashMap<i64, String>,
    terms: Vec<Term>,
    course_term: HashMap<&'a str, usize>,
    line_items: Vec<LineItem>,
    line_item_of: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> Renderer<'a> {
    fn new(roster: &'a Roster, version: Version) -> Renderer<'a> {
        let mut courses: Vec<&RosterCourse> = roster.courses.iter().collect();
        courses.sort_by(|a, b| a.code.cmp(&b.code));
        let mut users: Vec<&RosterUser> = roster.users.iter().collect();
        users.sort_by_key(|u| u.key);

        // Users' sourcedIds: the external id, else user-<key> (made unique).
        let taken: HashSet<&str> = users.iter().filter_map(|u| u.sis_id.as_deref()).collect();
        let mut user_ids = HashMap::new();
        for u in &users {
            let id = match u.sis_id.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(s) => s.to_owned(),
                None => {
                    let mut id = format!("user-{}", u.key);
                    if taken.contains(id.as_str()) {
                        id = format!("{id}-r{}", u.key);
                    }
                    id
                }
            };
            user_ids.insert(u.key, id);
        }

        // Terms: one per distinct semester.
        let all_span = span(courses.iter().flat_map(|c| [c.first_date, c.last_date]));
        let mut semesters: BTreeMap<Option<&str>, Vec<&RosterCourse>> = BTreeMap::new();
        for c in &courses {
            let s = c
                .semester
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            semesters.entry(s).or_default().push(c);
        }
        let mut terms = Vec::new();
        let mut course_term = HashMap::new();
        for (semester, members) in &semesters {
            let own = span(members.iter().flat_map(|c| [c.first_date, c.last_date]));
            let (start, end) = own
                .or_else(|| semester.and_then(year_of).map(whole_year))
                .or(all_span)
                .unwrap_or_else(|| whole_year(1970));
            let (id, title) = match semester {
                Some(s) => (format!("term-{}", slug_id(s)), (*s).to_owned()),
                None => (NO_TERM_ID.to_owned(), "(no semester)".to_owned()),
            };
            for c in members {
                course_term.insert(c.code.as_str(), terms.len());
            }
            terms.push(Term {
                id,
                title,
                semester: semester.map(str::to_owned),
                start,
                end,
            });
        }

        // Line items: one per (course, assessment) with grades.
        let mut dates: BTreeMap<(&str, &str), Vec<Option<NaiveDate>>> = BTreeMap::new();
        for g in &roster.grades {
            dates
                .entry((g.course_code.as_str(), g.assessment.as_str()))
                .or_default()
                .push(g.graded_on);
        }
        let mut line_items = Vec::new();
        let mut line_item_of = HashMap::new();
        for ((code, assessment), ds) in dates {
            let term = course_term.get(code).map(|&i| &terms[i]);
            let (assign, due) = span(ds.into_iter())
                .or_else(|| term.map(|t| (t.start, t.end)))
                .unwrap_or_else(|| whole_year(1970));
            line_item_of.insert((code, assessment), line_items.len());
            line_items.push(LineItem {
                id: format!(
                    "li-{code}-{}-{:08x}",
                    slug(assessment),
                    fnv(&format!("{code}\u{0}{assessment}"))
                ),
                code: code.to_owned(),
                assessment: assessment.to_owned(),
                assign,
                due,
            });
        }
        Renderer {
            roster,
            version,
            courses,
            users,
            user_ids,
            terms,
            course_term,
            line_items,
            line_item_of,
        }
    }

    fn term_id(&self, code: &str) -> &str {
        self.course_term
            .get(code)
            .map(|&i| self.terms[i].id.as_str())
            .unwrap_or(NO_TERM_ID)
    }

    fn user_id(&self, key: i64) -> String {
        self.user_ids
            .get(&key)
            .cloned()
            .unwrap_or_else(|| format!("user-{key}"))
    }

    fn orgs(&self, org_name: &str) -> RenderedFile {
        let mut t = Table::new(self.version, files::ORGS, &[]);
        t.row(&[
            ("sourcedId", ORG_ID.into()),
            ("name", org_name.into()),
            ("type", "school".into()),
        ]);
        t.finish()
    }

    fn sessions(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::ACADEMIC_SESSIONS, &[SEMESTER_COLUMN]);
        for term in &self.terms {
            t.row(&[
                ("sourcedId", term.id.clone()),
                ("title", term.title.clone()),
                ("type", "term".into()),
                ("startDate", term.start.to_string()),
                ("endDate", term.end.to_string()),
                ("schoolYear", chrono::Datelike::year(&term.end).to_string()),
                (SEMESTER_COLUMN, term.semester.clone().unwrap_or_default()),
            ]);
        }
        t.finish()
    }

    fn courses(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::COURSES, &COURSE_COLUMNS);
        for c in &self.courses {
            t.row(&[
                ("sourcedId", format!("course-{}", c.code)),
                ("title", c.name.clone()),
                ("courseCode", c.code.clone()),
                ("orgSourcedId", ORG_ID.into()),
                (COURSE_COLUMNS[0], c.description.clone().unwrap_or_default()),
                (
                    COURSE_COLUMNS[1],
                    c.credits.map(|n| n.to_string()).unwrap_or_default(),
                ),
                (COURSE_COLUMNS[2], c.status.as_str().into()),
            ]);
        }
        t.finish()
    }

    fn classes(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::CLASSES, &[]);
        for c in &self.courses {
            t.row(&[
                ("sourcedId", format!("class-{}", c.code)),
                ("title", c.name.clone()),
                ("courseSourcedId", format!("course-{}", c.code)),
                ("classCode", c.code.clone()),
                ("classType", "scheduled".into()),
                ("schoolSourcedId", ORG_ID.into()),
                ("termSourcedIds", self.term_id(&c.code).into()),
            ]);
        }
        t.finish()
    }

    fn users(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::USERS, &[]);
        for u in &self.users {
            let mut cells = vec![
                ("sourcedId", self.user_id(u.key)),
                ("enabledUser", u.is_active.to_string()),
                ("username", u.email.clone()),
                ("givenName", u.first_name.clone()),
                ("familyName", u.last_name.clone()),
                ("email", u.email.clone()),
            ];
            match self.version {
                Version::V1_1 => {
                    cells.push(("orgSourcedIds", ORG_ID.into()));
                    cells.push(("role", spec::oneroster_role(u.role, self.version).into()));
                }
                Version::V1_2 => cells.push(("primaryOrgSourcedId", ORG_ID.into())),
            }
            t.row(&cells);
        }
        t.finish()
    }

    fn roles(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::ROLES, &[]);
        for u in &self.users {
            t.row(&[
                ("sourcedId", format!("role-{}", u.key)),
                ("userSourcedId", self.user_id(u.key)),
                ("roleType", "primary".into()),
                ("role", spec::oneroster_role(u.role, self.version).into()),
                ("orgSourcedId", ORG_ID.into()),
            ]);
        }
        t.finish()
    }

    fn enrollments(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::ENROLLMENTS, &[]);
        let known: BTreeSet<&str> = self.courses.iter().map(|c| c.code.as_str()).collect();
        let mut rows: Vec<_> = self
            .roster
            .enrollments
            .iter()
            .filter(|e| known.contains(e.course_code.as_str()))
            .collect();
        rows.sort_by(|a, b| {
            (&a.course_code, a.role, a.user_key).cmp(&(&b.course_code, b.role, b.user_key))
        });
        for e in rows {
            let (id, role, primary) = match e.role {
                RosterRole::Student => ("enr", "student", "false"),
                RosterRole::Teacher => ("teach", "teacher", "true"),
                // 1.1 has no aide enrollment role: a non-primary teacher; 1.2 says aide.
                RosterRole::Aide if self.version == Version::V1_1 => ("teach", "teacher", "false"),
                RosterRole::Aide => ("teach", "aide", "false"),
            };
            t.row(&[
                (
                    "sourcedId",
                    format!("{id}-{}-{}", e.course_code, e.user_key),
                ),
                ("classSourcedId", format!("class-{}", e.course_code)),
                ("schoolSourcedId", ORG_ID.into()),
                ("userSourcedId", self.user_id(e.user_key)),
                ("role", role.into()),
                ("primary", primary.into()),
                (
                    "beginDate",
                    e.begin_date.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ]);
        }
        t.finish()
    }

    fn categories(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::CATEGORIES, &[]);
        let names: BTreeSet<&str> = self
            .line_items
            .iter()
            .map(|l| l.assessment.as_str())
            .collect();
        for a in names {
            t.row(&[("sourcedId", category_id(a)), ("title", a.to_owned())]);
        }
        t.finish()
    }

    fn line_items(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::LINE_ITEMS, &[]);
        for l in &self.line_items {
            t.row(&[
                ("sourcedId", l.id.clone()),
                ("title", l.assessment.clone()),
                ("assignDate", l.assign.to_string()),
                ("dueDate", l.due.to_string()),
                ("classSourcedId", format!("class-{}", l.code)),
                ("categorySourcedId", category_id(&l.assessment)),
                ("gradingPeriodSourcedId", self.term_id(&l.code).into()),
                ("resultValueMin", "0".into()),
                ("resultValueMax", "100".into()),
            ]);
        }
        t.finish()
    }

    fn results(&self) -> RenderedFile {
        let mut t = Table::new(self.version, files::RESULTS, &[]);
        let mut rows: Vec<_> = self
            .roster
            .grades
            .iter()
            .filter_map(|g| {
                let i = *self
                    .line_item_of
                    .get(&(g.course_code.as_str(), g.assessment.as_str()))?;
                Some((i, g))
            })
            .collect();
        rows.sort_by_key(|(i, g)| (*i, g.user_key));
        for (i, g) in rows {
            let l = &self.line_items[i];
            let letter = g.letter_grade.clone().unwrap_or_default();
            let mut cells = vec![
                ("sourcedId", format!("res-{}-{}", l.id, g.user_key)),
                ("lineItemSourcedId", l.id.clone()),
                ("studentSourcedId", self.user_id(g.user_key)),
                ("scoreStatus", "fully graded".into()),
                ("score", g.score.map(|s| s.to_string()).unwrap_or_default()),
                ("scoreDate", g.graded_on.unwrap_or(l.due).to_string()),
            ];
            match self.version {
                Version::V1_1 => cells.push(("comment", letter)),
                Version::V1_2 => cells.push(("textScore", letter)),
            }
            t.row(&cells);
        }
        t.finish()
    }
}

fn category_id(assessment: &str) -> String {
    format!("cat-{}", slug_id(assessment))
}

/// The earliest and latest of some dates.
fn span(dates: impl Iterator<Item = Option<NaiveDate>>) -> Option<(NaiveDate, NaiveDate)> {
    dates.flatten().fold(None, |acc, d| match acc {
        None => Some((d, d)),
        Some((a, b)) => Some((a.min(d), b.max(d))),
    })
}

/// The first four-digit year (1900 to 2199) in a text (`Fall 2026` → 2026).
fn year_of(text: &str) -> Option<i32> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(3)).find_map(|i| {
        let w = &b[i..i + 4];
        let bounded = (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
        if bounded && w.iter().all(u8::is_ascii_digit) {
            let y: i32 = std::str::from_utf8(w).ok()?.parse().ok()?;
            (1900..2200).contains(&y).then_some(y)
        } else {
            None
        }
    })
}

fn whole_year(y: i32) -> (NaiveDate, NaiveDate) {
    let start = NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default();
    let end = NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or_default();
    (start, end)
}

/// Lower-case letters and digits of `text`, other runs as one `-` (at most 40 characters).
fn slug(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
        if s.len() >= 40 {
            break;
        }
    }
    let s = s.trim_matches('-');
    if s.is_empty() {
        "x".to_owned()
    } else {
        s.to_owned()
    }
}

/// `<slug>-<8 hex digits of FNV-1a of the text>`: readable, and distinct for texts whose
/// slugs are the same (`Fall 2026` / `fall-2026`).
fn slug_id(text: &str) -> String {
    format!("{}-{:08x}", slug(text), fnv(text))
}

/// 32-bit FNV-1a.
fn fnv(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_years() {
        assert_eq!(year_of("Fall 2026"), Some(2026));
        assert_eq!(year_of("2025-26"), Some(2025));
        assert_eq!(year_of("Term 12345"), None);
        assert_eq!(year_of("S1"), None);
        assert_ne!(slug_id("Fall 2026"), slug_id("fall-2026"));
        assert!(slug_id("Fall 2026").starts_with("fall-2026-"));
        assert_eq!(slug("  ***  "), "x");
    }
}
