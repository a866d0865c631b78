//! Issue 10, reading side (helper C): what an import does with data it cannot (fully) read,
//! and races between reading, validation and hashing. Both engines (PostgreSQL when
//! `REGISTRAR_TEST_POSTGRES` is set).

use registrar::db::testing::{fresh_postgres, fresh_sqlite};
use registrar::db::Database;
use registrar::import::{run_import, ImportMode, ImportOptions, Input};
use registrar::model::IssueCode;
use std::path::Path;

async fn count(db: &Database, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Database::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

/// Runs `scenario` on a fresh SQLite file and (when configured) a fresh PostgreSQL database.
macro_rules! both_engines {
    ($sqlite:ident, $pg:ident, $scenario:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            let db = Database::open(&fresh_sqlite(dir.path())).await.unwrap();
            $scenario(&db, dir.path()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $pg() {
            let Some(url) = fresh_postgres(stringify!($pg)).await else {
                return;
            };
            let dir = tempfile::tempdir().unwrap();
            let db = Database::open(&url).await.unwrap();
            $scenario(&db, dir.path()).await;
        }
    };
}

fn execute() -> ImportOptions {
    ImportOptions {
        mode: ImportMode::Execute,
        ..ImportOptions::default()
    }
}

/// Users with plain passwords (so that hashing takes a while), enrollments, and grades whose
/// first row has a bad score: the grades file is read while the loader waits for the hashes.
fn write_set_with_one_bad_score(dir: &Path, users: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut u = String::from("email,password,role,first_name,last_name\n");
    let mut e = String::from("student_email,course_code\n");
    for i in 0..users {
        u.push_str(&format!(
            "s{i}@example.org,Str0ng-Passw0rd-{i},student,S{i},Stu\n"
        ));
        e.push_str(&format!("s{i}@example.org,MATH101\n"));
    }
    std::fs::write(dir.join("users.csv"), u).unwrap();
    std::fs::write(
        dir.join("courses.csv"),
        "course_code,course_name\nMATH101,Calculus I\n",
    )
    .unwrap();
    std::fs::write(dir.join("enrollments.csv"), e).unwrap();
    std::fs::write(
        dir.join("grades.csv"),
        "student_email,course_code,assessment,score\n\
         s0@example.org,MATH101,final,abc\n\
         s1@example.org,MATH101,final,90\n",
    )
    .unwrap();
}

/// Issue 10 item 11: an invalid set got `error: hashing cancelled` (exit 2) in about one run
/// of three, depending on whether the loader was already waiting for the hashes when the
/// reading thread cancelled them. Every run must return the report with the issue.
async fn invalid_set_never_gets_hashing_cancelled(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_set_with_one_bad_score(&data, 24);
    for run in 0..12 {
        let report = run_import(db, &Input::Dir(data.clone()), &execute())
            .await
            .unwrap_or_else(|e| panic!("run {run}: the import failed instead of reporting: {e}"));
        assert!(!report.is_ok(), "run {run}");
        let codes: Vec<_> = report
            .issues
            .iter()
            .filter(|i| i.is_error())
            .map(|i| (i.file.as_str(), i.row, i.code))
            .collect();
        assert_eq!(
            codes,
            [("grades.csv", Some(2), IssueCode::InvalidNumber)],
            "run {run}"
        );
        assert_eq!(count(db, "users").await, 0, "run {run}: nothing written");
    }
}
both_engines!(
    sqlite_invalid_set_never_gets_hashing_cancelled,
    postgres_invalid_set_never_gets_hashing_cancelled,
    invalid_set_never_gets_hashing_cancelled
);

/// Issue 10 item 14: a malformed row (a field count that differs from the header's) reached
/// the rejects file with every cell blank. It is written as read; in a users file, where any
/// misaligned cell may be a password, the cells stay blank and the error names the row.
async fn malformed_row_reaches_rejects_as_read(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("users.csv"),
        "email,password,role,first_name,last_name\n\
         ann@example.org,Str0ng-Passw0rd-1,student,Ann,Lee\n\
         bob@example.org,Secret-Passw0rd-2,student,Bob,Jr,Smith\n",
    )
    .unwrap();
    std::fs::write(
        data.join("courses.csv"),
        "course_code,course_name,credits\n\
         MATH101,Calculus I,4\n\
         ART100,Art, drawing,3\n\
         HIST200,History\n",
    )
    .unwrap();
    let rejects = tmp.join("rejects");
    let options = ImportOptions {
        mode: ImportMode::Execute,
        skip_invalid: true,
        rejects_dir: Some(rejects.clone()),
        ..ImportOptions::default()
    };
    let report = run_import(db, &Input::Dir(data), &options).await.unwrap();
    let malformed: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.code == IssueCode::MalformedRow)
        .map(|i| (i.file.as_str(), i.row))
        .collect();
    assert_eq!(
        malformed,
        [
            ("users.csv", Some(3)),
            ("courses.csv", Some(3)),
            ("courses.csv", Some(4))
        ]
    );
    assert_eq!(count(db, "users").await, 1);
    assert_eq!(count(db, "courses").await, 1);
    let courses = std::fs::read_to_string(rejects.join("courses.csv.rejects.csv")).unwrap();
    let lines: Vec<&str> = courses.lines().collect();
    assert_eq!(lines[0], "course_code,course_name,credits,error");
    assert!(
        lines[1].starts_with("ART100,Art, drawing,3,malformed-row: "),
        "{courses}"
    );
    assert!(
        lines[2].starts_with("HIST200,History,malformed-row: "),
        "{courses}"
    );
    let users = std::fs::read_to_string(rejects.join("users.csv.rejects.csv")).unwrap();
    assert!(!users.contains("Secret-Passw0rd-2"), "{users}");
    assert!(!users.contains("Str0ng-Passw0rd-1"), "{users}");
    assert!(users.contains("row 3 of users.csv"), "{users}");
}
both_engines!(
    sqlite_malformed_row_reaches_rejects_as_read,
    postgres_malformed_row_reaches_rejects_as_read,
    malformed_row_reaches_rejects_as_read
);

/// Issue 10 items 13 and 14: a malformed JSON, NDJSON or spreadsheet row reached the rejects
/// file with every cell blank (only CSV gave its fields back). Now each reader gives the
/// cells it could read: a JSON object with a nested value in header order (the nested value
/// as its JSON text), an item that is an array as its elements, a spreadsheet row with a
/// value under no header as its cells at their columns. A line that is not JSON at all
/// cannot be split and stays blank; password cells stay blank.
async fn json_and_spreadsheet_malformed_rows_reach_rejects_as_read(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("courses.json"),
        r#"[
  {"course_code": "MATH101", "course_name": "Calculus I", "credits": 4},
  {"course_code": "ART100", "course_name": {"en": "Art"}, "credits": 3},
  ["HIST200", "History", 2]
]"#,
    )
    .unwrap();
    std::fs::write(
        data.join("users.ndjson"),
        concat!(
            r#"{"email": "ann@example.org", "password": "Str0ng-Passw0rd-1", "role": "student", "first_name": "Ann", "last_name": "Lee"}"#,
            "\n",
            r#"{"email": "bob@example.org", "password": "Secret-Passw0rd-2", "role": "student", "first_name": ["Bob"], "last_name": "Smith"}"#,
            "\n",
            "not json, Hidden-Passw0rd-3\n",
        ),
    )
    .unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["student_email", "course_code"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "ann@example.org").unwrap();
    ws.write_string(1, 1, "MATH101").unwrap();
    ws.write_string(2, 0, "ann@example.org").unwrap();
    ws.write_string(2, 1, "ART100").unwrap();
    ws.write_string(2, 3, "stray").unwrap();
    wb.save(data.join("enrollments.xlsx")).unwrap();

    let rejects = tmp.join("rejects");
    let options = ImportOptions {
        mode: ImportMode::Execute,
        skip_invalid: true,
        rejects_dir: Some(rejects.clone()),
        ..ImportOptions::default()
    };
    let report = run_import(db, &Input::Dir(data), &options).await.unwrap();
    let malformed: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.code == IssueCode::MalformedRow)
        .map(|i| (i.file.as_str(), i.row))
        .collect();
    assert_eq!(
        malformed,
        [
            ("users.ndjson", Some(2)),
            ("users.ndjson", Some(3)),
            ("courses.json", Some(2)),
            ("courses.json", Some(3)),
            ("enrollments.xlsx", Some(3)),
        ],
        "{:?}",
        report.issues
    );
    assert_eq!(count(db, "users").await, 1);
    assert_eq!(count(db, "courses").await, 1);
    assert_eq!(count(db, "enrollments").await, 1);

    let courses = std::fs::read_to_string(rejects.join("courses.json.rejects.csv")).unwrap();
    let lines: Vec<&str> = courses.lines().collect();
    assert_eq!(
        lines[0], "course_code,course_name,credits,error",
        "{courses}"
    );
    assert!(
        lines[1].starts_with(r#"ART100,"{""en"":""Art""}",3,"malformed-row: "#),
        "{courses}"
    );
    assert!(
        lines[2].starts_with("HIST200,History,2,\"malformed-row: "),
        "{courses}"
    );

    let users = std::fs::read_to_string(rejects.join("users.ndjson.rejects.csv")).unwrap();
    let lines: Vec<&str> = users.lines().collect();
    assert_eq!(
        lines[0], "email,password,role,first_name,last_name,error",
        "{users}"
    );
    assert!(
        lines[1].starts_with(r#"bob@example.org,,student,"[""Bob""]",Smith,"malformed-row: "#),
        "{users}"
    );
    assert!(lines[2].starts_with(",,,,,malformed-row: "), "{users}");
    for secret in [
        "Str0ng-Passw0rd-1",
        "Secret-Passw0rd-2",
        "Hidden-Passw0rd-3",
    ] {
        assert!(!users.contains(secret), "{users}");
    }

    let enrollments =
        std::fs::read_to_string(rejects.join("enrollments.xlsx.rejects.csv")).unwrap();
    let lines: Vec<&str> = enrollments.lines().collect();
    assert_eq!(lines[0], "student_email,course_code,error", "{enrollments}");
    assert!(
        lines[1].starts_with("ann@example.org,ART100,,stray,\"malformed-row: "),
        "{enrollments}"
    );
    assert!(lines[1].contains("column D (column 4)"), "{enrollments}");
}
both_engines!(
    sqlite_json_and_spreadsheet_malformed_rows_reach_rejects_as_read,
    postgres_json_and_spreadsheet_malformed_rows_reach_rejects_as_read,
    json_and_spreadsheet_malformed_rows_reach_rejects_as_read
);
