//! Issue 10, reading side (helper C): what an import does with data it cannot (fully) read,
//! and races between reading, validation and hashing. Both engines (PostgreSQL when
//! `REGISTRAR_TEST_POSTGRES` is set).

use registrar_db::import::{run_import, ImportMode, ImportOptions, Input};
use registrar_db::testing::{fresh_postgres, fresh_sqlite};
use registrar_db::Database;
use registrar_model::IssueCode;
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
