//! `run_import` against a real SQLite file and a real PostgreSQL server
//! (`REGISTRAR_TEST_POSTGRES`; a fresh database per test).

use registrar::db::audit::list_runs;
use registrar::db::hash::{is_argon2_hash, verify_password};
use registrar::db::testing::{fresh_postgres, fresh_sqlite};
use registrar::db::{Database, Error};
use registrar::import::{run_import, ImportMode, ImportOptions, Input};
use registrar::model::OnExisting;
use std::path::Path;

/// A pre-computed argon2id hash (of "prehashed-secret-1"), made with the argon2 crate.
fn prehash() -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
    argon2::Argon2::default()
        .hash_password(b"prehashed-secret-1", &salt)
        .unwrap()
        .to_string()
}

const USERS_HEADER: &str = "email,password,password_hash,role,first_name,last_name,is_active\n";

fn users_csv() -> String {
    format!(
        "{USERS_HEADER}\
         Alice.Admin@Example.org,Adm1n-Passw0rd-x,,admin,Alice,Admin,true\n\
         bob@example.org,,\"{}\",teacher,Bob,Teach,yes\n\
         carol@example.org,Car0l-Student-pw,,student,Carol,Stu,false\n\
         dave@example.org,Dav3-Student-pw,,student,Dave,Stu,1\n",
        prehash()
    )
}

const COURSES: &str = "course_code,course_name,description,semester,credits,status\n\
    MATH101,Calculus I,Limits and derivatives,Fall 2024,4,active\n\
    hist200,World History,,Fall 2024,3,\n";

const ENROLLMENTS: &str = "student_email,course_code,enrollment_date\n\
    carol@example.org,MATH101,2024-09-01\n\
    dave@example.org,MATH101,\n\
    DAVE@example.org,HIST200,2024-09-02\n";

const GRADES: &str = "student_email,course_code,assessment,score,letter_grade,graded_on\n\
    carol@example.org,MATH101,final,91.5,A-,2024-12-15\n\
    dave@example.org,HIST200,midterm,,b,\n";

const ATTENDANCE: &str = "student_email,course_code,date,status\n\
    carol@example.org,MATH101,2024-09-02,present\n\
    carol@example.org,MATH101,2024-09-03,late\n\
    dave@example.org,HIST200,2024-09-02,absent\n";

fn write_dataset(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("users.csv"), users_csv()).unwrap();
    std::fs::write(dir.join("courses.csv"), COURSES).unwrap();
    std::fs::write(dir.join("enrollments.csv"), ENROLLMENTS).unwrap();
    std::fs::write(dir.join("grades.csv"), GRADES).unwrap();
    std::fs::write(dir.join("attendance.csv"), ATTENDANCE).unwrap();
}

fn execute() -> ImportOptions {
    ImportOptions {
        mode: ImportMode::Execute,
        ..ImportOptions::default()
    }
}

async fn count(db: &Database, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    match db {
        Database::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

async fn counts(db: &Database) -> [i64; 5] {
    [
        count(db, "users").await,
        count(db, "courses").await,
        count(db, "enrollments").await,
        count(db, "grades").await,
        count(db, "attendances").await,
    ]
}

/// (email, password_hash, is_active, last_name) of every user.
async fn users(db: &Database) -> Vec<(String, String, bool, String)> {
    let sql = "SELECT email, password_hash, is_active, last_name FROM users ORDER BY email";
    match db {
        Database::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

async fn exec(db: &Database, sql: &str) {
    match db {
        Database::Postgres(p) => {
            sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
        Database::Sqlite(p) => {
            sqlx::raw_sql(sql).execute(p).await.unwrap();
        }
    }
}

async fn text(db: &Database, sql: &str) -> String {
    match db {
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
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

async fn full_load(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    let report = run_import(db, &Input::Dir(data.clone()), &execute())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(report.mode, registrar::model::Mode::Execute);
    assert_eq!(counts(db).await, [4, 2, 3, 2, 3]);
    let inserted: Vec<u64> = report.files.iter().map(|f| f.inserted).collect();
    assert_eq!(inserted, vec![4, 2, 3, 2, 3]);

    let users = users(db).await;
    let emails: Vec<&str> = users.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(
        emails,
        [
            "alice.admin@example.org",
            "bob@example.org",
            "carol@example.org",
            "dave@example.org"
        ]
    );
    assert!(verify_password("Adm1n-Passw0rd-x", &users[0].1));
    assert_eq!(users[1].1, prehash(), "pre-hashed row kept verbatim");
    assert!(verify_password("prehashed-secret-1", &users[1].1));
    assert!(verify_password("Car0l-Student-pw", &users[2].1));
    assert!(verify_password("Dav3-Student-pw", &users[3].1));
    assert!(users.iter().all(|u| is_argon2_hash(&u.1)));
    assert!(users[0].2 && users[1].2 && !users[2].2 && users[3].2);

    assert_eq!(
        text(db, "SELECT course_code FROM courses ORDER BY course_code").await,
        "HIST200"
    );
    assert_eq!(
        text(
            db,
            "SELECT letter_grade FROM grades WHERE assessment = 'midterm'"
        )
        .await,
        "B"
    );

    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.outcome, "success");
    assert_eq!(run.mode, "execute");
    assert_eq!(run.files.as_array().unwrap().len(), 5);
    assert_eq!(run.files[0]["name"], "users.csv");
    assert_eq!(run.files[0]["rows"], 4);
    assert_eq!(run.files[0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(run.counts["attendance"]["inserted"], 3);
    assert_eq!(run.tool_version, env!("CARGO_PKG_VERSION"));
    let audit_text = format!("{run:?}");
    assert!(!audit_text.contains("Car0l-Student-pw"));
}
both_engines!(full_load_sqlite, full_load_postgres, full_load);

async fn any_error_writes_nothing(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    let mut att = ATTENDANCE.to_string();
    att.push_str("dave@example.org,HIST200,2024-09-03,sleeping\n");
    std::fs::write(data.join("attendance.csv"), att).unwrap();
    let report = run_import(db, &Input::Dir(data), &execute()).await.unwrap();
    assert!(!report.is_ok());
    assert!(!report.ok);
    assert!(report
        .issues
        .iter()
        .any(|i| i.code.as_str() == "invalid-status" && i.row == Some(5)));
    assert_eq!(counts(db).await, [0; 5]);
    assert!(report.files.iter().all(|f| f.inserted == 0));
    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "validation-failed");
    assert_eq!(runs[0].counts["attendance"]["rejected"], 1);
}
both_engines!(
    any_error_writes_nothing_sqlite,
    any_error_writes_nothing_postgres,
    any_error_writes_nothing
);

async fn database_error_rolls_back(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    // A rule the validator does not know: the database refuses the second attendance row,
    // after users, courses, enrollments and grades were written.
    match db {
        Database::Postgres(_) => {
            exec(
                db,
                "ALTER TABLE attendances ADD CONSTRAINT no_late CHECK (status <> 'late')",
            )
            .await
        }
        Database::Sqlite(_) => {
            exec(
                db,
                "CREATE TRIGGER no_late BEFORE INSERT ON attendances WHEN NEW.status = 'late' \
                 BEGIN SELECT RAISE(ABORT, 'late is forbidden here'); END",
            )
            .await
        }
    }
    let err = run_import(db, &Input::Dir(data), &execute())
        .await
        .unwrap_err();
    assert!(matches!(err, registrar::Error::Db(Error::Sqlx(_))), "{err}");
    assert_eq!(counts(db).await, [0; 5], "everything rolled back");
    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "database-error");
    assert!(runs[0].error.as_deref().unwrap_or("").contains("late"));
}
both_engines!(
    database_error_rolls_back_sqlite,
    database_error_rolls_back_postgres,
    database_error_rolls_back
);

async fn skip_invalid_loads_valid_rows(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    // A bad user (invalid role) and everything that depends on it; a bad course code.
    let mut users = users_csv();
    users.push_str("erin@example.org,Er1n-Secret-pw,,janitor,Erin,Bad,true\n");
    std::fs::write(data.join("users.csv"), users).unwrap();
    let mut enr = ENROLLMENTS.to_string();
    enr.push_str("erin@example.org,MATH101,2024-09-01\n");
    std::fs::write(data.join("enrollments.csv"), enr).unwrap();
    let mut courses = COURSES.to_string();
    courses.push_str("=BAD,Formula,,,,\n");
    std::fs::write(data.join("courses.csv"), courses).unwrap();
    let rejects = tmp.join("rejects");
    let opts = ImportOptions {
        skip_invalid: true,
        rejects_dir: Some(rejects.clone()),
        ..execute()
    };
    let report = run_import(db, &Input::Dir(data), &opts).await.unwrap();
    assert_eq!(counts(db).await, [4, 2, 3, 2, 3]);
    assert_eq!(report.file("users.csv").unwrap().invalid, 1);
    assert_eq!(report.file("users.csv").unwrap().inserted, 4);
    assert_eq!(report.file("enrollments.csv").unwrap().invalid, 1);

    let path = rejects.join("users.csv.rejects.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with(",error"));
    assert!(lines[1].starts_with("erin@example.org,,,janitor,Erin,Bad,true,"));
    assert!(lines[1].contains("invalid-role"));
    assert!(
        !text.contains("Er1n-Secret-pw"),
        "passwords are never written"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let enr_rejects = std::fs::read_to_string(rejects.join("enrollments.csv.rejects.csv")).unwrap();
    assert!(enr_rejects.contains("erin@example.org,MATH101"));
    assert!(enr_rejects.contains("unknown-student"));
    let course_rejects = std::fs::read_to_string(rejects.join("courses.csv.rejects.csv")).unwrap();
    assert!(course_rejects.contains("'=BAD"), "{course_rejects}");
    assert!(!rejects.join("grades.csv.rejects.csv").exists());
    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs[0].outcome, "success");
    assert_eq!(runs[0].counts["users"]["rejected"], 1);
}
both_engines!(
    skip_invalid_sqlite,
    skip_invalid_postgres,
    skip_invalid_loads_valid_rows
);

async fn on_existing_skip_and_update(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    run_import(db, &Input::Dir(data.clone()), &execute())
        .await
        .unwrap();
    let before = users(db).await;

    // The default (error): an identical re-run succeeds and writes nothing (issue 13).
    let report = run_import(db, &Input::Dir(data.clone()), &execute())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    let unchanged: Vec<u64> = report.files.iter().map(|f| f.unchanged).collect();
    assert_eq!(unchanged, vec![4, 2, 3, 2, 3]);
    assert_eq!(counts(db).await, [4, 2, 3, 2, 3]);
    assert_eq!(
        users(db).await,
        before,
        "an unchanged re-run changes nothing"
    );

    // skip: a second identical run changes nothing.
    let skip = ImportOptions {
        on_existing: OnExisting::Skip,
        ..execute()
    };
    let report = run_import(db, &Input::Dir(data.clone()), &skip)
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(counts(db).await, [4, 2, 3, 2, 3]);
    let unchanged: Vec<u64> = report.files.iter().map(|f| f.unchanged).collect();
    assert_eq!(unchanged, vec![4, 2, 3, 2, 3]);
    assert!(report
        .files
        .iter()
        .all(|f| f.inserted == 0 && f.updated == 0));
    assert_eq!(users(db).await, before, "skip changes nothing");

    // update: changed names, statuses and one new password (with --update-passwords); a new
    // attendance row is inserted; only the rows that differ are written.
    let users_v2 = users_csv()
        .replace("Carol,Stu,false", "Carol,Student-Smith,true")
        .replace("Dav3-Student-pw", "N3w-Secret-Phrase-9");
    std::fs::write(data.join("users.csv"), users_v2).unwrap();
    let att_v2 = ATTENDANCE.replace("2024-09-03,late", "2024-09-03,excused")
        + "dave@example.org,HIST200,2024-09-04,present\n";
    std::fs::write(data.join("attendance.csv"), att_v2).unwrap();
    let update = ImportOptions {
        on_existing: OnExisting::Update,
        update_passwords: true,
        max_changes: Some(100.0),
        ..execute()
    };
    let report = run_import(db, &Input::Dir(data.clone()), &update)
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(counts(db).await, [4, 2, 3, 2, 4]);
    let att = report.file("attendance.csv").unwrap();
    assert_eq!((att.inserted, att.updated, att.unchanged), (1, 1, 2));
    assert_eq!(report.file("users.csv").unwrap().updated, 2);
    let after = users(db).await;
    assert_eq!(after[2].3, "Student-Smith");
    assert!(after[2].2, "is_active updated");
    assert!(verify_password("N3w-Secret-Phrase-9", &after[3].1));
    assert_eq!(after[1].1, prehash());
    assert_eq!(
        text(
            db,
            "SELECT status FROM attendances WHERE attendance_date = '2024-09-03'"
        )
        .await,
        "excused"
    );
    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r.outcome == "success"), "{runs:?}");
    assert_eq!(runs[2].counts["users"]["unchanged"], 4);
}
both_engines!(
    on_existing_sqlite,
    on_existing_postgres,
    on_existing_skip_and_update
);

async fn validate_mode_writes_nothing(db: &Database, tmp: &Path) {
    let data = tmp.join("data");
    write_dataset(&data);
    // Users and courses already loaded from single files; the rest validates against them.
    for f in ["users.csv", "courses.csv"] {
        let r = run_import(
            db,
            &Input::File {
                path: data.join(f),
                entity: None,
            },
            &execute(),
        )
        .await
        .unwrap();
        assert!(r.is_ok(), "{:#?}", r.issues);
    }
    let report = run_import(
        db,
        &Input::File {
            path: data.join("enrollments.csv"),
            entity: None,
        },
        &ImportOptions::default(),
    )
    .await
    .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(report.mode, registrar::model::Mode::Validate);
    assert_eq!(counts(db).await, [4, 2, 0, 0, 0]);
    // Validate against the database: users are already there, with the same values.
    let report = run_import(db, &Input::Dir(data), &ImportOptions::default())
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(report.file("users.csv").unwrap().unchanged, 4);
    assert_eq!(counts(db).await, [4, 2, 0, 0, 0]);
    let runs = list_runs(db).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[0].outcome, "validated");
    assert_eq!(runs[1].outcome, "validated");
    assert_eq!(runs[1].mode, "validate");
}
both_engines!(
    validate_mode_sqlite,
    validate_mode_postgres,
    validate_mode_writes_nothing
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_is_refused_while_one_holds_the_lock_postgres() {
    let Some(url) = fresh_postgres("lock").await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_dataset(&data);
    let db = Database::open(&url).await.unwrap();
    let other = sqlx::PgPool::connect(&url).await.unwrap();
    let mut holder = other.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(registrar::db::load::PG_LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    let err = run_import(&db, &Input::Dir(data.clone()), &execute())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another registrar run"), "{err}");
    assert_eq!(counts(&db).await, [0; 5]);
    assert_eq!(list_runs(&db).await.unwrap()[0].outcome, "database-error");
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(registrar::db::load::PG_LOCK_KEY)
        .execute(&mut *holder)
        .await
        .unwrap();
    let report = run_import(&db, &Input::Dir(data), &execute())
        .await
        .unwrap();
    assert!(report.is_ok());
    assert_eq!(counts(&db).await, [4, 2, 3, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_sqlite_runs_never_interleave() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_dataset(&data);
    let url = fresh_sqlite(tmp.path());
    let db = Database::open(&url).await.unwrap();
    let skip = ImportOptions {
        on_existing: OnExisting::Skip,
        ..execute()
    };
    let input = Input::Dir(data);
    let (a, b) = tokio::join!(
        run_import(&db, &input, &skip),
        run_import(&db, &input, &skip)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_ok() && b.is_ok());
    // One run inserted everything, the other (serialised behind it) found it all unchanged.
    let inserted: u64 = a.files.iter().chain(&b.files).map(|f| f.inserted).sum();
    let unchanged: u64 = a.files.iter().chain(&b.files).map(|f| f.unchanged).sum();
    assert_eq!((inserted, unchanged), (14, 14));
    assert_eq!(counts(&db).await, [4, 2, 3, 2, 3]);
}

/// A mixed data set: users CSV, courses and enrollments as `.xlsx` (date cells, numeric
/// credits, boolean cells), grades JSON, attendance NDJSON.
fn write_mixed_dataset(dir: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("users.csv"), users_csv()).unwrap();

    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["course_code", "course_name", "credits", "status"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "MATH101").unwrap();
    ws.write_string(1, 1, "Calculus I").unwrap();
    ws.write_number(1, 2, 4.0).unwrap();
    ws.write_string(2, 0, "HIST200").unwrap();
    ws.write_string(2, 1, "World History").unwrap();
    ws.write_number(2, 2, 3.0).unwrap();
    ws.write_string(2, 3, "Archived").unwrap();
    wb.save(dir.join("courses.xlsx")).unwrap();

    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["student_email", "course_code", "enrollment_date"]
        .iter()
        .enumerate()
    {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        ("carol@example.org", "MATH101", Some((2024, 9, 1))),
        ("dave@example.org", "MATH101", None),
        ("dave@example.org", "HIST200", Some((2025, 1, 31))),
    ];
    for (r, (e, c, d)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, *e).unwrap();
        ws.write_string(r, 1, *c).unwrap();
        if let Some((y, m, day)) = d {
            let dt = ExcelDateTime::from_ymd(*y, *m, *day).unwrap();
            ws.write_datetime_with_format(r, 2, &dt, &date).unwrap();
        }
    }
    wb.save(dir.join("enrollments.xlsx")).unwrap();

    std::fs::write(
        dir.join("grades.json"),
        r#"{"data": [
            {"student_email": "carol@example.org", "course_code": "MATH101", "score": 91.5},
            {"student_email": "dave@example.org", "course_code": "HIST200", "assessment": "midterm", "letter_grade": "B", "score": null}
        ]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("attendance.ndjson"),
        "{\"student_email\": \"carol@example.org\", \"course_code\": \"MATH101\", \"date\": \"2024-09-02\", \"status\": \"present\"}\n\
         {\"student_email\": \"carol@example.org\", \"course_code\": \"MATH101\", \"date\": \"2024-09-03\", \"status\": \"Late\"}\n\
         {\"student_email\": \"dave@example.org\", \"course_code\": \"HIST200\", \"date\": \"2024-09-02\", \"status\": \"absent\"}\n",
    )
    .unwrap();
}

async fn mixed_formats(db: &Database, tmp: &Path) {
    let data = tmp.join("mixed");
    write_mixed_dataset(&data);
    let report = run_import(db, &Input::Dir(data), &execute()).await.unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    assert_eq!(counts(db).await, [4, 2, 3, 2, 3]);
    let formats: Vec<&str> = report.files.iter().map(|f| f.format.as_str()).collect();
    assert_eq!(formats, ["csv", "xlsx", "xlsx", "json", "ndjson"]);
    // Excel date cells are stored as the right dates.
    let dates = match db {
        Database::Postgres(p) => sqlx::query_scalar::<_, Option<String>>(
            "SELECT enrollment_date::text FROM enrollments ORDER BY id",
        )
        .fetch_all(p)
        .await
        .unwrap(),
        Database::Sqlite(p) => sqlx::query_scalar::<_, Option<String>>(
            "SELECT enrollment_date FROM enrollments ORDER BY id",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    };
    assert_eq!(
        dates,
        [
            Some("2024-09-01".to_string()),
            None,
            Some("2025-01-31".to_string())
        ]
    );
    assert_eq!(
        text(
            db,
            "SELECT status FROM courses WHERE course_code = 'HIST200'"
        )
        .await,
        "archived"
    );
    assert_eq!(
        text(
            db,
            "SELECT CAST(credits AS TEXT) FROM courses WHERE course_code = 'MATH101'"
        )
        .await,
        "4"
    );
    assert_eq!(
        text(db, "SELECT assessment FROM grades ORDER BY id LIMIT 1").await,
        "final"
    );
}
both_engines!(mixed_formats_sqlite, mixed_formats_postgres, mixed_formats);

/// The streaming COPY on PostgreSQL: a file large enough for several 1 MiB sends, then an
/// `--on-existing update` run whose updates (more than the loader's 50,000 rows per `UPDATE ... FROM UNNEST`) interleave with
/// new rows, so the COPY is finished for an UPDATE mid-file and reopened after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_streaming_copy_with_updates_mid_file() {
    let Some(url) = fresh_postgres("pg_streaming_copy").await else {
        return;
    };
    let db = Database::open(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (students, courses, days, first_days) = (5, 12, 1_500, 1_000);
    let mut users =
        String::from("email,password,password_hash,role,first_name,last_name,is_active\n");
    let hash = {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        argon2::Argon2::default()
            .hash_password(b"prehashed-secret-1", &salt)
            .unwrap()
            .to_string()
    };
    for s in 0..students {
        users.push_str(&format!(
            "s{s}@example.org,,\"{hash}\",student,S{s},Stu,true\n"
        ));
    }
    std::fs::write(data.join("users.csv"), users).unwrap();
    let mut course_csv =
        String::from("course_code,course_name,description,semester,credits,status\n");
    let mut enroll = String::from("student_email,course_code,enrollment_date\n");
    for c in 0..courses {
        course_csv.push_str(&format!("C{c:03},Course {c},,Fall 2024,3,active\n"));
        for s in 0..students {
            enroll.push_str(&format!("s{s}@example.org,C{c:03},\n"));
        }
    }
    std::fs::write(data.join("courses.csv"), course_csv).unwrap();
    std::fs::write(data.join("enrollments.csv"), enroll).unwrap();
    let day0 = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
    let attendance = |upto: usize, status: &str| {
        let mut a = String::from("student_email,course_code,date,status\n");
        for s in 0..students {
            for c in 0..courses {
                for d in 0..upto {
                    let date = day0 + chrono::Days::new(d as u64);
                    a.push_str(&format!("s{s}@example.org,C{c:03},{date},{status}\n"));
                }
            }
        }
        a
    };
    std::fs::write(
        data.join("attendance.csv"),
        attendance(first_days, "present"),
    )
    .unwrap();
    let execute = ImportOptions {
        mode: ImportMode::Execute,
        ..ImportOptions::default()
    };
    let report = run_import(&db, &Input::Dir(data.clone()), &execute)
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    let first = (students * courses * first_days) as u64;
    assert_eq!(report.file("attendance.csv").unwrap().inserted, first);

    // Every old row changes status and 500 new days per (student, course) come in between.
    std::fs::write(data.join("attendance.csv"), attendance(days, "late")).unwrap();
    let update = ImportOptions {
        on_existing: OnExisting::Update,
        max_changes: Some(100.0),
        ..execute
    };
    let report = run_import(&db, &Input::Dir(data.clone()), &update)
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    let att = report.file("attendance.csv").unwrap();
    assert!(att.updated > 50_000);
    assert_eq!(
        (att.inserted, att.updated),
        ((students * courses * (days - first_days)) as u64, first)
    );
    let Database::Postgres(pool) = &db else {
        panic!("a PostgreSQL database");
    };
    let by_status: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM attendances GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await
            .unwrap();
    assert_eq!(
        by_status,
        vec![("late".to_owned(), (students * courses * days) as i64)]
    );
}
