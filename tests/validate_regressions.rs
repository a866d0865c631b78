//! Inputs found by `fuzz/validate_pass` (see fuzz/README.md), replayed as the target runs
//! them: byte 0 picks options, the rest is split at NUL bytes into the five data files, then
//! the whole validation pass runs. Each named test pins the fault its input showed;
//! `every_fuzz_input_validates_cleanly` replays all of `tests/fixtures/regressions/validate_pass/`.

use registrar::formats::ReaderOptions;
use registrar::model::{IssueCode, Report};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions/validate_pass")
}

fn replay(input: &[u8]) -> Option<Report> {
    let (&knob, bytes) = input.split_first()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let json = knob & 0x40 != 0;
    let names = [
        "users.csv",
        "courses.csv",
        "enrollments.csv",
        if json { "grades.json" } else { "grades.csv" },
        if json {
            "attendance.ndjson"
        } else {
            "attendance.csv"
        },
    ];
    for (part, name) in bytes.split(|b| *b == 0).zip(names) {
        std::fs::write(dir.path().join(name), part).expect("write");
    }
    let mut options = ReaderOptions::default();
    if knob & 1 == 1 {
        options.max_field_size = 64;
    }
    if knob & 2 == 2 {
        options.max_rows = 3;
    }
    let report = registrar::validate_dir(dir.path(), &options).ok()?;
    for f in &report.files {
        assert_eq!(f.valid + f.invalid, f.rows, "every row is valid or invalid");
        assert!(
            f.invalid == 0
                || report
                    .issues
                    .iter()
                    .any(|i| i.file == f.file && i.is_error()),
            "invalid rows come with an error"
        );
    }
    Some(report)
}

#[test]
fn every_fuzz_input_validates_cleanly() {
    let mut count = 0;
    for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
        let input = std::fs::read(entry.expect("entry").path()).expect("read");
        let _ = replay(&input);
        count += 1;
    }
    assert!(count >= 1);
}

/// A courses file without `course_name` makes every row invalid with one file-level
/// `missing-column` error and no issue per row (and an undecodable users file stops at the
/// first bad line with one `invalid-encoding`).
#[test]
fn missing_column_invalid_rows_without_row_issue() {
    let input = std::fs::read(fixtures().join("missing-column-invalid-rows-without-row-issue"))
        .expect("fixture");
    let report = replay(&input).expect("a report");
    let courses = report.file("courses.csv").expect("courses summary");
    assert_eq!(courses.valid, 0);
    assert!(courses.invalid > 0);
    assert!(report
        .issues
        .iter()
        .any(|i| i.file == "courses.csv" && i.code == IssueCode::MissingColumn && i.row.is_none()));
    assert!(report
        .issues
        .iter()
        .any(|i| i.file == "users.csv" && i.code == IssueCode::InvalidEncoding));
}
