//! The import pipeline reports progress: bytes read of each CSV/NDJSON/JSON file (reaching the
//! file's length at the end) and the database write phase, through a recording `Progress`.

use registrar::db::testing::fresh_sqlite;
use registrar::db::Database;
use registrar::import::{run_import, ImportMode, ImportOptions, Input};
use registrar::model::ProgressUnit;
use registrar::Progress;
use std::sync::{Arc, Mutex};

/// Every call, in order.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Phase(String, ProgressUnit, Option<u64>),
    Position(u64),
    Advance(u64),
    WritePhase(String, ProgressUnit, Option<u64>),
    WriteAdvance(u64),
    Finish,
}

#[derive(Default)]
struct Recording(Mutex<Vec<Call>>);

impl Recording {
    fn push(&self, c: Call) {
        self.0.lock().unwrap().push(c);
    }
    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().clone()
    }
}

impl Progress for Recording {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.push(Call::Phase(name.into(), ProgressUnit::Rows, total));
    }
    fn phase_in(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        self.push(Call::Phase(name.into(), unit, total));
    }
    fn advance(&self, n: u64) {
        self.push(Call::Advance(n));
    }
    fn set_position(&self, pos: u64) {
        self.push(Call::Position(pos));
    }
    fn write_phase(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        self.push(Call::WritePhase(name.into(), unit, total));
    }
    fn write_advance(&self, n: u64) {
        self.push(Call::WriteAdvance(n));
    }
    fn finish(&self) {
        self.push(Call::Finish);
    }
}

const COURSES_HEADER: &str = "course_code,course_name,description,semester,credits,status\n";

/// A courses file of `n` rows.
fn courses_csv(n: usize) -> String {
    let mut s = COURSES_HEADER.to_string();
    for i in 0..n {
        s.push_str(&format!(
            "C{i:06},Course {i},Something to learn,Fall 2024,3,active\n"
        ));
    }
    s
}

/// The positions reported in the byte phase of `file`, in order.
fn byte_positions(calls: &[Call], file: &str) -> (Option<u64>, Vec<u64>) {
    let mut total = None;
    let mut inside = false;
    let mut positions = Vec::new();
    for c in calls {
        match c {
            Call::Phase(name, ProgressUnit::Bytes, t) if name == file => {
                inside = true;
                total = *t;
            }
            Call::Phase(..) | Call::Finish => inside = false,
            Call::Position(p) if inside => positions.push(*p),
            _ => {}
        }
    }
    (total, positions)
}

async fn run(url: &str, input: Input, mode: ImportMode) -> (registrar::Report, Vec<Call>) {
    let db = Database::open(url).await.unwrap();
    let recording = Arc::new(Recording::default());
    let opts = ImportOptions {
        mode,
        progress: Some(recording.clone()),
        ..Default::default()
    };
    let report = run_import(&db, &input, &opts).await.unwrap();
    db.close().await;
    (report, recording.calls())
}

#[tokio::test]
async fn a_csv_import_reports_bytes_read_up_to_the_file_length_and_the_rows_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("courses.csv");
    std::fs::write(&path, courses_csv(20_000)).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    let url = fresh_sqlite(dir.path());

    let (report, calls) = run(
        &url,
        Input::Dir(dir.path().to_path_buf()),
        ImportMode::Execute,
    )
    .await;
    assert!(report.is_ok(), "{report:?}");
    let (total, positions) = byte_positions(&calls, "courses.csv");
    assert_eq!(total, Some(len), "{calls:?}");
    // Several positions on the way (every few thousand rows), never going back, ending at the
    // file's length.
    assert!(positions.len() >= 3, "{positions:?}");
    assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
    assert_eq!(positions.last(), Some(&len));
    assert!(positions[0] < len);
    // A byte phase is never advanced by rows.
    assert!(
        !calls.iter().any(|c| matches!(c, Call::Advance(_))),
        "{calls:?}"
    );
    // The database side shows its own phase, counting every row written.
    assert!(calls.contains(&Call::WritePhase(
        "writing courses".into(),
        ProgressUnit::Rows,
        None
    )));
    let written: u64 = calls
        .iter()
        .map(|c| match c {
            Call::WriteAdvance(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(written, 20_000);
    assert_eq!(calls.last(), Some(&Call::Finish));
}

#[tokio::test]
async fn ndjson_and_json_files_report_bytes_read_up_to_their_length() {
    let dir = tempfile::tempdir().unwrap();
    let mut ndjson = String::new();
    let mut json = Vec::new();
    for i in 0..10_000 {
        let row = serde_json::json!({
            "course_code": format!("C{i:06}"),
            "course_name": format!("Course {i}"),
            "semester": "Fall 2024",
            "credits": 3,
            "status": "active",
        });
        ndjson.push_str(&row.to_string());
        ndjson.push('\n');
        json.push(row);
    }
    let url = fresh_sqlite(dir.path());
    for (name, text) in [
        ("courses.ndjson", ndjson),
        ("courses.json", serde_json::Value::Array(json).to_string()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let len = text.len() as u64;
        let input = Input::File {
            path: path.clone(),
            entity: None,
        };
        let (report, calls) = run(&url, input, ImportMode::Validate).await;
        assert!(report.is_ok(), "{name}: {report:?}");
        let (total, positions) = byte_positions(&calls, name);
        assert_eq!(total, Some(len), "{name}: {calls:?}");
        assert_eq!(positions.last(), Some(&len), "{name}: {positions:?}");
        assert!(positions.len() >= 2, "{name}: {positions:?}");
    }
}
