//! What a run reads, and the one resolver every command uses to turn it into sources.
//!
//! `validate`, `validate --database`, `import --validate`, `import --execute` and `migrate` all
//! call one resolver (`resolve`) and then the same driver (`crate::driver`), so the same input gets the same
//! issues, codes and exit status whichever command reads it:
//! - a folder gives the files found by stem ([`registrar_formats::discover()`]), in import order,
//!   with its `duplicate-file`, `unsupported-format` and `unreadable-file` issues;
//! - one file is checked in this order: its extension names a format (else
//!   `unsupported-format`), it is a regular file (else `unreadable-file`), its stem or `--entity`
//!   names an entity (else [`Error::UnknownEntity`], a usage error: exit status 2);
//! - [`Records`] are rows an embedding program holds in memory, validated by the same rules.
//!
//! A file that then cannot be opened as data (a corrupt workbook, a bad encoding) is a
//! file-level issue of the run, found by the driver; a file that cannot be opened at all (it
//! does not exist, permission denied) is [`Error::Read`].

use crate::Error;
use registrar_formats::{DataFile, Format, ReaderOptions, RowSource};
use registrar_model::{
    Attendance, Course, Enrollment, Entity, Grade, Issue, IssueCode, MemorySource, Record, User,
    Value,
};
use std::path::{Path, PathBuf};

/// What to read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Input {
    /// A data folder: `users`, `courses`, `enrollments`, `grades`, `attendance` found by stem.
    Dir(PathBuf),
    /// One file; the entity comes from its stem when `entity` is `None`.
    File {
        /// The file.
        path: PathBuf,
        /// What it holds (`--entity`).
        entity: Option<Entity>,
    },
    /// Records held in memory, read in the order given (see [`Records`]).
    Records(Vec<Records>),
}

impl Input {
    /// A folder when `path` is a directory, else one file whose stem names its entity (what
    /// `migrate --data PATH` reads).
    pub fn from_path(path: impl AsRef<Path>) -> Input {
        let path = path.as_ref();
        if path.is_dir() {
            Input::Dir(path.to_path_buf())
        } else {
            Input::File {
                path: path.to_path_buf(),
                entity: None,
            }
        }
    }
}

/// Rows of one entity that an embedding program already holds (from its own API or another
/// SIS), validated and loaded with the same rules, issues and all-or-nothing guarantee as a file.
///
/// Issues name the entity as their file (`users`, `courses`, ...) and the record's position,
/// counted from 1, as their row. The rows are held in memory: for millions of rows, a file
/// streams and keeps memory bounded.
///
/// ```
/// use registrar::input::Records;
/// use registrar::model::{Course, CourseCode, CourseStatus, Entity};
///
/// let course = Course {
///     course_code: CourseCode::new_unchecked("MATH101"),
///     course_name: "Algebra".into(),
///     description: None,
///     semester: Some("Fall".into()),
///     credits: Some(3),
///     status: CourseStatus::Active,
/// };
/// let records = Records::from_records([course]);
/// assert_eq!(records.entity(), Entity::Courses);
/// assert_eq!(records.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct Records {
    entity: Entity,
    len: usize,
    source: MemorySource,
}

impl Records {
    /// Typed records of one entity (the entity comes from the type).
    pub fn from_records<R: TypedRecord>(records: impl IntoIterator<Item = R>) -> Records {
        let mut source =
            MemorySource::new(R::ENTITY.as_str(), R::COLUMNS.iter().copied()).with_header_row(0);
        let mut len = 0;
        for r in records {
            len += 1;
            source.push(len as u64, r.into_values());
        }
        Records {
            entity: R::ENTITY,
            len,
            source,
        }
    }

    /// Rows of values under `headers`, as a file of `entity` would hold them (any column the
    /// file format allows, in any order; missing or unknown columns are reported as for a
    /// file).
    pub fn from_rows<H: Into<String>>(
        entity: Entity,
        headers: impl IntoIterator<Item = H>,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Records {
        let mut source = MemorySource::new(entity.as_str(), headers).with_header_row(0);
        let mut len = 0;
        for r in rows {
            len += 1;
            source.push(len as u64, r);
        }
        Records {
            entity,
            len,
            source,
        }
    }

    /// The entity the rows hold.
    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A typed record of the model that [`Records::from_records`] takes: its entity, its columns,
/// and its values in that order.
pub trait TypedRecord {
    /// The entity.
    const ENTITY: Entity;
    /// The columns of the entity's file, in the order of [`TypedRecord::into_values`].
    const COLUMNS: &'static [&'static str];
    /// The values, one per column.
    fn into_values(self) -> Vec<Value>;
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn opt_text(s: Option<impl Into<String>>) -> Value {
    s.map(text).unwrap_or(Value::Empty)
}

fn opt_date(d: Option<chrono::NaiveDate>) -> Value {
    d.map(Value::Date).unwrap_or(Value::Empty)
}

impl TypedRecord for User {
    const ENTITY: Entity = Entity::Users;
    const COLUMNS: &'static [&'static str] = Entity::Users.columns();
    fn into_values(mut self) -> Vec<Value> {
        // The password moves into the row (the validator and the hashing pipeline zeroize it).
        let password = self
            .password
            .take()
            .map(|p| text(p.expose_secret()))
            .unwrap_or(Value::Empty);
        vec![
            text(self.email.as_str()),
            password,
            opt_text(self.password_hash.take()),
            text(self.role.as_str()),
            text(std::mem::take(&mut self.first_name)),
            text(std::mem::take(&mut self.last_name)),
            Value::Bool(self.is_active),
            opt_text(self.sis_id.take()),
        ]
    }
}

impl TypedRecord for Course {
    const ENTITY: Entity = Entity::Courses;
    const COLUMNS: &'static [&'static str] = Entity::Courses.columns();
    fn into_values(self) -> Vec<Value> {
        vec![
            text(self.course_code.as_str()),
            text(self.course_name),
            opt_text(self.description),
            opt_text(self.semester),
            self.credits
                .map(|c| Value::Int(c.into()))
                .unwrap_or(Value::Empty),
            text(self.status.as_str()),
        ]
    }
}

impl TypedRecord for Enrollment {
    const ENTITY: Entity = Entity::Enrollments;
    const COLUMNS: &'static [&'static str] = Entity::Enrollments.columns();
    fn into_values(self) -> Vec<Value> {
        vec![
            text(self.student_email.as_str()),
            text(self.course_code.as_str()),
            opt_date(self.enrollment_date),
        ]
    }
}

impl TypedRecord for Grade {
    const ENTITY: Entity = Entity::Grades;
    const COLUMNS: &'static [&'static str] = Entity::Grades.columns();
    fn into_values(self) -> Vec<Value> {
        vec![
            text(self.student_email.as_str()),
            text(self.course_code.as_str()),
            text(self.assessment),
            self.score.map(Value::Float).unwrap_or(Value::Empty),
            opt_text(self.letter_grade.map(|l| l.as_str())),
            opt_date(self.graded_on),
        ]
    }
}

impl TypedRecord for Attendance {
    const ENTITY: Entity = Entity::Attendance;
    const COLUMNS: &'static [&'static str] = Entity::Attendance.columns();
    fn into_values(self) -> Vec<Value> {
        vec![
            text(self.student_email.as_str()),
            text(self.course_code.as_str()),
            Value::Date(self.date),
            text(self.status.as_str()),
        ]
    }
}

/// Any typed [`Record`] converts to its entity's values (used by [`Records::from_rows`] callers
/// that mix record kinds: group them by [`Record::entity`] first).
pub fn record_values(record: Record) -> (Entity, Vec<Value>) {
    match record {
        Record::User(r) => (Entity::Users, r.into_values()),
        Record::Course(r) => (Entity::Courses, r.into_values()),
        Record::Enrollment(r) => (Entity::Enrollments, r.into_values()),
        Record::Grade(r) => (Entity::Grades, r.into_values()),
        Record::Attendance(r) => (Entity::Attendance, r.into_values()),
    }
}

/// One source of a run: a data file, records in memory, or one entity of a OneRoster bundle.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    File(DataFile),
    Memory(Records),
    Roster {
        entity: Entity,
        file: &'static str,
        read: std::sync::Arc<RosterRead>,
    },
}

pub(crate) use registrar_formats::oneroster::read::RosterRead;

/// The OneRoster bundle a run reads, if it reads one.
pub(crate) fn roster_of(sources: &[Source]) -> Option<std::sync::Arc<RosterRead>> {
    sources.iter().find_map(|s| match s {
        Source::Roster { read, .. } => Some(read.clone()),
        _ => None,
    })
}

/// The sources of a OneRoster bundle (a folder or `.zip` with `manifest.csv`) and its
/// structural issues.
fn roster_sources(path: &Path) -> Result<(Vec<Source>, Vec<Issue>), Error> {
    let read = match RosterRead::open(path, &ReaderOptions::default()) {
        Ok(r) => std::sync::Arc::new(r),
        Err(registrar_formats::Error::File(issue)) => return Ok((Vec::new(), vec![*issue])),
        Err(e) => return Err(e.into()),
    };
    let sources = read
        .entities()
        .into_iter()
        .map(|(entity, file)| Source::Roster {
            entity,
            file,
            read: read.clone(),
        })
        .collect();
    Ok((sources, read.issues().to_vec()))
}

impl Source {
    pub(crate) fn entity(&self) -> Entity {
        match self {
            Source::File(f) => f.entity,
            Source::Memory(r) => r.entity,
            Source::Roster { entity, .. } => *entity,
        }
    }

    /// The name issues and rejects files use.
    pub(crate) fn name(&self) -> String {
        match self {
            Source::File(f) => registrar_formats::file_name_of(&f.path),
            Source::Memory(r) => r.entity.as_str().to_owned(),
            Source::Roster { file, .. } => (*file).to_owned(),
        }
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        match self {
            Source::File(f) => Some(&f.path),
            Source::Memory(_) | Source::Roster { .. } => None,
        }
    }

    /// Opens the source for reading (a file is opened; records are taken).
    pub(crate) fn open(
        &mut self,
        reader: &ReaderOptions,
    ) -> Result<Box<dyn RowSource>, registrar_formats::Error> {
        match self {
            Source::File(f) => registrar_formats::open_as(&f.path, f.format, reader),
            Source::Memory(r) => Ok(Box::new(std::mem::replace(
                &mut r.source,
                MemorySource::new(r.entity.as_str(), Vec::<String>::new()),
            ))),
            Source::Roster { entity, read, .. } => read.source(*entity),
        }
    }
}

/// The sources of a run, in import order (users, courses, enrollments, grades, attendance;
/// sources of the same entity keep their order), plus the file-level issues found while
/// looking for them. See the module docs for what each input gives.
pub(crate) fn resolve(input: &Input) -> Result<(Vec<Source>, Vec<Issue>), Error> {
    let (mut sources, issues) = match input {
        Input::Dir(dir) if registrar_formats::oneroster::is_bundle(dir) => roster_sources(dir)?,
        Input::Dir(dir) => {
            let (files, issues) = registrar_formats::discover(dir)?;
            (files.into_iter().map(Source::File).collect(), issues)
        }
        Input::File { path, entity: None } if registrar_formats::oneroster::is_bundle(path) => {
            roster_sources(path)?
        }
        Input::File { path, entity } => match resolve_file(path, *entity)? {
            Ok(file) => (vec![Source::File(file)], Vec::new()),
            Err(issue) => (Vec::new(), vec![issue]),
        },
        Input::Records(sets) => (
            sets.iter().cloned().map(Source::Memory).collect(),
            Vec::new(),
        ),
    };
    sources.sort_by_key(Source::entity);
    Ok((sources, issues))
}

/// The given files as sources, in import order.
pub(crate) fn sources_of(files: &[DataFile]) -> Vec<Source> {
    let mut sources: Vec<Source> = files.iter().cloned().map(Source::File).collect();
    sources.sort_by_key(Source::entity);
    sources
}

fn resolve_file(path: &Path, entity: Option<Entity>) -> Result<Result<DataFile, Issue>, Error> {
    let name = registrar_formats::file_name_of(path);
    let Some(format) = Format::from_path(path) else {
        return Ok(Err(Issue::error(
            IssueCode::UnsupportedFormat,
            name,
            None,
            None,
            "this file type is not supported; use .csv, .tsv, .xlsx, .xls, .ods, .json, .jsonl \
             or .ndjson",
        )));
    };
    if let Some(what) = registrar_formats::not_regular(path) {
        return Ok(Err(registrar_formats::not_regular_issue(path, &what)));
    }
    let entity = entity
        .or_else(|| registrar_formats::entity_of(path))
        .ok_or(Error::UnknownEntity { file: name })?;
    Ok(Ok(DataFile {
        path: path.to_path_buf(),
        entity,
        format,
    }))
}

pub(crate) use registrar_db::command::sha256_file;
