//! An in-memory [`RowSource`] for testing the rules without the readers.
#![allow(dead_code)]

use registrar_model::{Entity, Issue, IssueCode, Mode, Report};
use registrar_model::{Event, Format, ReadError as Error, Row, RowSource, Value};
use registrar_rules::{RowOutcome, ValidationOptions, Validator};

/// A `Vec` of events behind the `RowSource` trait.
pub struct MemSource {
    pub headers: Vec<String>,
    pub events: std::vec::IntoIter<Result<Event, Error>>,
    pub file: String,
}

impl Iterator for MemSource {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.events.next()
    }
}

impl RowSource for MemSource {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn header_row(&self) -> u64 {
        1
    }
    fn format(&self) -> Format {
        Format::Csv
    }
    fn file_name(&self) -> &str {
        &self.file
    }
}

/// A cell from simple text: empty is `Value::Empty`.
pub fn cell(s: &str) -> Value {
    if s.is_empty() {
        Value::Empty
    } else {
        Value::Text(s.to_owned())
    }
}

/// A source from simple comma-separated text (no quoting): the first line is the header, data
/// lines are numbered from 2 like CSV lines.
pub fn csv_source(file: &str, text: &str) -> MemSource {
    let mut lines = text.lines();
    let headers = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_owned)
        .collect::<Vec<_>>();
    let n = headers.len();
    let events = lines
        .enumerate()
        .map(|(i, line)| {
            let mut values: Vec<Value> = line.split(',').map(cell).collect();
            values.resize(n, Value::Empty);
            Ok(Event::Row(Row {
                row: i as u64 + 2,
                values,
            }))
        })
        .collect::<Vec<_>>();
    MemSource {
        headers,
        events: events.into_iter(),
        file: file.to_owned(),
    }
}

/// A source from typed rows.
pub fn value_source(file: &str, headers: &[&str], rows: Vec<Vec<Value>>) -> MemSource {
    let events = rows
        .into_iter()
        .enumerate()
        .map(|(i, values)| {
            Ok(Event::Row(Row {
                row: i as u64 + 2,
                values,
            }))
        })
        .collect::<Vec<_>>();
    MemSource {
        headers: headers.iter().map(|s| (*s).to_owned()).collect(),
        events: events.into_iter(),
        file: file.to_owned(),
    }
}

/// What happened to one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub file: String,
    pub row: u64,
    pub valid: bool,
    pub existing: bool,
    /// `Unchanged`, `Changed`, `Skipped` or `New` (for valid rows).
    pub change: &'static str,
    pub record: Option<String>,
}

/// Runs the validator over sources in order; returns the report and every row outcome.
pub fn run(files: Vec<(Entity, MemSource)>, options: ValidationOptions) -> (Report, Vec<Seen>) {
    let mut v = Validator::new(options);
    let mut report = Report::new(Mode::Validate);
    let mut seen = Vec::new();
    for (entity, mut src) in files {
        let file = src.file.clone();
        v.validate_source(entity, &mut src, &mut report, &mut |o| match o {
            RowOutcome::Valid {
                row,
                record,
                change,
            } => seen.push(Seen {
                file: file.clone(),
                row,
                valid: true,
                existing: change.existing(),
                change: match change {
                    registrar_model::RowChange::New => "New",
                    registrar_model::RowChange::Unchanged => "Unchanged",
                    registrar_model::RowChange::Changed(_) => "Changed",
                    registrar_model::RowChange::Skipped => "Skipped",
                },
                record: Some(format!("{record:?}")),
            }),
            RowOutcome::Invalid { row, issues, .. } => {
                assert!(!issues.is_empty(), "an invalid row must carry its issues");
                seen.push(Seen {
                    file: file.clone(),
                    row,
                    valid: false,
                    existing: false,
                    change: "",
                    record: None,
                })
            }
        })
        .expect("in-memory sources do not fail");
    }
    report.finish();
    (report, seen)
}

/// Runs with default options.
pub fn run_default(files: Vec<(Entity, MemSource)>) -> (Report, Vec<Seen>) {
    run(files, ValidationOptions::default())
}

/// The issues with a code.
pub fn with_code(report: &Report, code: IssueCode) -> Vec<&Issue> {
    report.issues.iter().filter(|i| i.code == code).collect()
}

/// The one issue with a code (panics with the report when there is not exactly one).
pub fn one(report: &Report, code: IssueCode) -> Issue {
    let v = with_code(report, code);
    assert_eq!(v.len(), 1, "expected one {code}, got {:#?}", report.issues);
    v[0].clone()
}

/// The codes of the issues on `file` row `row`.
pub fn codes_at(report: &Report, file: &str, row: u64) -> Vec<IssueCode> {
    report
        .issues
        .iter()
        .filter(|i| i.file == file && i.row == Some(row))
        .map(|i| i.code)
        .collect()
}

pub const USERS_HEADER: &str = "email,password,role,first_name,last_name,is_active";
pub const GOOD_PW: &str = "Kq7!mZ2#wLp9";

/// A users source with the standard header and the given data lines.
pub fn users(lines: &[&str]) -> (Entity, MemSource) {
    let text = format!("{USERS_HEADER}\n{}", lines.join("\n"));
    (Entity::Users, csv_source("users.csv", &text))
}

/// A valid student line.
pub fn student(email: &str) -> String {
    format!("{email},{GOOD_PW},student,Ann,Lee,true")
}

pub fn courses(lines: &[&str]) -> (Entity, MemSource) {
    let text = format!(
        "course_code,course_name,description,semester,credits,status\n{}",
        lines.join("\n")
    );
    (Entity::Courses, csv_source("courses.csv", &text))
}

pub fn enrollments(lines: &[&str]) -> (Entity, MemSource) {
    let text = format!(
        "student_email,course_code,enrollment_date\n{}",
        lines.join("\n")
    );
    (Entity::Enrollments, csv_source("enrollments.csv", &text))
}

pub fn grades(lines: &[&str]) -> (Entity, MemSource) {
    let text = format!(
        "student_email,course_code,assessment,score,letter_grade,graded_on\n{}",
        lines.join("\n")
    );
    (Entity::Grades, csv_source("grades.csv", &text))
}

pub fn attendance(lines: &[&str]) -> (Entity, MemSource) {
    let text = format!(
        "student_email,course_code,date,status\n{}",
        lines.join("\n")
    );
    (Entity::Attendance, csv_source("attendance.csv", &text))
}
