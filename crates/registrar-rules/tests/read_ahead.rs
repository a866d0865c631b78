//! Reading a file on a second thread (`ValidationOptions::sequential: false`, the default on a
//! machine with more than one core) gives the same report and the same row outcomes, in the
//! same order, as reading it on the validating thread: through the real CSV reader, over
//! several read-ahead batches, with every kind of problem an attendance file can hold.

use registrar_model::{Entity, IssueCode, Mode, Report, RowSource, Value};
use registrar_rules::{RowOutcome, ValidationOptions, Validator};
use std::fmt::Write as _;
use std::path::Path;

/// One row outcome as the sink saw it: row, valid, and the record (valid) or the cells and
/// issue codes (invalid).
#[derive(Debug, PartialEq)]
struct Outcome {
    file: String,
    row: u64,
    valid: bool,
    what: String,
}

const STUDENTS: usize = 40;
const DAYS: usize = 150;

fn write_files(dir: &Path) {
    let mut users = String::from("email,password,role,first_name,last_name\n");
    let mut enrollments = String::from("student_email,course_code,enrollment_date\n");
    for s in 0..STUDENTS {
        writeln!(
            users,
            "s{s}@example.org,Zz9!long-enough,student,Stu,Dent{s}"
        )
        .unwrap();
        writeln!(enrollments, "s{s}@example.org,MATH101,2024-08-20").unwrap();
    }
    std::fs::write(dir.join("users.csv"), users).unwrap();
    std::fs::write(
        dir.join("courses.csv"),
        "course_code,course_name\nMATH101,Algebra I\nENG101,English 9\n",
    )
    .unwrap();
    std::fs::write(dir.join("enrollments.csv"), enrollments).unwrap();

    // 6,000 rows (six read-ahead batches) with a problem every few rows.
    let mut att = String::from("student_email,course_code,date,status\n");
    let day0 = chrono::NaiveDate::from_ymd_opt(2024, 9, 1).unwrap();
    for s in 0..STUDENTS {
        for d in 0..DAYS {
            let date = day0 + chrono::Days::new(d as u64);
            let n = s * DAYS + d;
            let line = match n % 97 {
                7 => format!("s{s}@example.org,MATH101,{date},asleep"), // invalid-status
                13 => format!("s{s}@example.org,MATH101,2024-02-30,absent"), // invalid-date
                19 => format!("s{s}@example.org,MATH101,,absent"),      // missing-value
                23 => format!("s{s}@example.org,ENG101,{date},late"),   // not-enrolled
                29 => format!("nobody{s}@example.org,NOPE,{date},late"), // unknown both
                31 => format!("s{s}@example.org,MATH101,{date},present,extra"), // malformed
                37 => ",,,".to_owned(),                                 // blank
                41 => format!("s{s}@example.org,\"MATH101\",\"{date}\",\"Tardy\""),
                43 => format!("s{s}@example.org,MATH101,09/0{}/2024,present", d % 9 + 1),
                _ => format!("s{s}@example.org,MATH101,{date},present"),
            };
            att.push_str(&line);
            att.push('\n');
            if n % 211 == 5 {
                // The same key again, with another status: duplicate-key naming the first.
                writeln!(att, "S{s}@EXAMPLE.ORG,math101,{date},absent").unwrap();
            }
        }
    }
    std::fs::write(dir.join("attendance.csv"), att).unwrap();
}

fn validate(dir: &Path, sequential: bool) -> (Report, Vec<Outcome>) {
    let mut v = Validator::new(ValidationOptions {
        sequential,
        ..Default::default()
    });
    let mut report = Report::new(Mode::Validate);
    let mut seen = Vec::new();
    let options = registrar_formats::ReaderOptions::default();
    for (entity, name) in [
        (Entity::Users, "users.csv"),
        (Entity::Courses, "courses.csv"),
        (Entity::Enrollments, "enrollments.csv"),
        (Entity::Attendance, "attendance.csv"),
    ] {
        let mut source: Box<dyn RowSource> =
            registrar_formats::open(&dir.join(name), &options).unwrap();
        v.validate_source(entity, source.as_mut(), &mut report, &mut |o| {
            seen.push(match o {
                RowOutcome::Valid {
                    row,
                    record,
                    change,
                } => Outcome {
                    file: name.to_owned(),
                    row,
                    valid: true,
                    what: format!("{record:?} {change:?}"),
                },
                RowOutcome::Invalid {
                    row,
                    values,
                    issues,
                } => Outcome {
                    file: name.to_owned(),
                    row,
                    valid: false,
                    what: format!(
                        "{values:?} {:?}",
                        issues.iter().map(|i| i.code).collect::<Vec<_>>()
                    ),
                },
            });
        })
        .unwrap();
    }
    (report, seen)
}

#[test]
fn reading_ahead_gives_the_same_report_and_outcomes_as_reading_in_line() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let (seq_report, seq_seen) = validate(dir.path(), true);
    let (par_report, par_seen) = validate(dir.path(), false);
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("NOTE: one core: the validator reads in line both times");
    }

    // The fixture holds what it should, so that the comparison means something.
    let codes: std::collections::BTreeSet<IssueCode> =
        seq_report.issues.iter().map(|i| i.code).collect();
    for code in [
        IssueCode::InvalidStatus,
        IssueCode::InvalidDate,
        IssueCode::MissingValue,
        IssueCode::NotEnrolled,
        IssueCode::UnknownStudent,
        IssueCode::UnknownCourse,
        IssueCode::MalformedRow,
        IssueCode::DuplicateKey,
    ] {
        assert!(codes.contains(&code), "no {code:?} in the fixture's report");
    }
    let att = seq_report.file("attendance.csv").unwrap();
    assert!(
        att.rows > 5_900 && att.valid > 5_000 && att.invalid > 400,
        "{att:?}"
    );

    assert_eq!(
        serde_json::to_string_pretty(&seq_report).unwrap(),
        serde_json::to_string_pretty(&par_report).unwrap()
    );
    assert_eq!(seq_seen.len(), par_seen.len());
    for (a, b) in seq_seen.iter().zip(&par_seen) {
        assert_eq!(a, b);
    }
}

/// Regression: with the file read on another thread, the cells of a `malformed-row` must still
/// reach the sink (they are what a rejects file holds), taken right after their issue.
#[test]
fn malformed_row_cells_reach_the_sink_when_reading_ahead() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let (_, seen) = validate(dir.path(), false);
    let malformed: Vec<&Outcome> = seen
        .iter()
        .filter(|o| o.file == "attendance.csv" && o.what.contains("MalformedRow"))
        .collect();
    assert!(malformed.len() > 50, "{}", malformed.len());
    for o in malformed {
        assert!(o.what.contains("\"extra\""), "{o:?}");
        let expected = Value::Text("present".into());
        assert!(o.what.contains(&format!("{expected:?}")), "{o:?}");
    }
}
