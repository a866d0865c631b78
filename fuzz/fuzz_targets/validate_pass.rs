//! The whole validation pass: the input is split at NUL bytes into users, courses,
//! enrollments, grades and attendance files (CSV; the first byte may make grades JSON and
//! attendance NDJSON), then `validate_dir` runs on the folder.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, bytes)) = data.split_first() else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else { return };
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
        if std::fs::write(dir.path().join(name), part).is_err() {
            return;
        }
    }
    let options = common::options(knob & 3);
    if let Ok(report) = registrar::validate_dir(dir.path(), &options) {
        // Counts add up: every row is valid or invalid, and an invalid row has an error.
        for f in &report.files {
            assert_eq!(f.valid + f.invalid, f.rows, "every row is valid or invalid");
            // An invalid row has an error on it, or the file has one (a missing column).
            assert!(
                f.invalid == 0
                    || report
                        .issues
                        .iter()
                        .any(|i| i.file == f.file && i.is_error()),
                "invalid rows without an error issue"
            );
        }
    }
});
