//! Shared helpers of the hardening tests (faults, concurrency, secrets): running the binary,
//! fresh databases on both engines, a generated data set big enough to kill a run mid-load,
//! and table checksums to compare a database before and after.
#![allow(dead_code)]

use registrar::db::backup::{table_checksums, TableChecksum};
use registrar::db::Database;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The `registrar` binary, with no database URL inherited from the environment.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_registrar"));
    c.env_remove("REGISTRAR_DATABASE_URL");
    c
}

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run registrar")
}

/// stdout and stderr of a run.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The exit code (-1 when killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// A tokio runtime for the library calls of a test.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The two engines every hardening test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in the test's temporary folder.
    Sqlite,
    /// A fresh database on the server of `REGISTRAR_TEST_POSTGRES`.
    Postgres,
}

/// A fresh database URL on `engine`, or `None` (with a loud SKIPPED line) when PostgreSQL is
/// not configured.
pub fn fresh(engine: Engine, dir: &Path, name: &str) -> Option<String> {
    match engine {
        Engine::Sqlite => Some(registrar::db::testing::fresh_sqlite(dir)),
        Engine::Postgres => rt().block_on(registrar::db::testing::fresh_postgres(name)),
    }
}

/// Per-table row counts and checksums of the SMS tables.
pub fn checksums(url: &str) -> Vec<TableChecksum> {
    rt().block_on(async {
        let db = Database::open(url).await.expect("open database");
        let c = table_checksums(&db).await.expect("checksums");
        db.close().await;
        c
    })
}

/// Per-table row counts only (ids differ between runs on PostgreSQL: sequences are not
/// transactional).
pub fn counts(url: &str) -> Vec<(String, u64)> {
    checksums(url)
        .into_iter()
        .map(|t| (t.table.clone(), t.rows))
        .collect()
}

/// One argon2id hash (computed once per process: hashing is deliberately slow).
pub fn one_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        registrar::db::hash::hash_password(&registrar::model::Password::new(
            "Generated-Pass-9x!".to_owned(),
        ))
    })
    .clone()
}

/// A small, valid base data set (an admin, two students, two courses, enrollments, grades).
pub fn write_base(dir: &Path) -> PathBuf {
    let d = dir.join("base");
    std::fs::create_dir_all(&d).unwrap();
    // A PHC string holds commas: quote it.
    let h = format!("\"{}\"", one_hash());
    std::fs::write(
        d.join("users.csv"),
        format!(
            "email,password_hash,role,first_name,last_name\n\
             head@realschool.org,{h},admin,Ada,Head\n\
             ann@realschool.org,{h},student,Ann,Base\n\
             bob@realschool.org,{h},student,Bob,Base\n\
             tea@realschool.org,{h},teacher,Tea,Cher\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("courses.csv"),
        "course_code,course_name,credits\nBASE1,Base one,4\nBASE2,Base two,3\n",
    )
    .unwrap();
    std::fs::write(
        d.join("enrollments.csv"),
        "student_email,course_code,enrollment_date\n\
         ann@realschool.org,BASE1,2025-09-01\nbob@realschool.org,BASE2,2025-09-01\n",
    )
    .unwrap();
    std::fs::write(
        d.join("grades.csv"),
        "student_email,course_code,assessment,score,letter_grade\n\
         ann@realschool.org,BASE1,final,91,A-\n",
    )
    .unwrap();
    d
}

/// A generated data set: `students` pre-hashed students (plus one admin), 10 courses, every
/// student in 5 courses, `days` attendance rows per enrollment. Returns the folder.
pub fn write_big(dir: &Path, students: usize, days: usize) -> PathBuf {
    let d = dir.join("big");
    std::fs::create_dir_all(&d).unwrap();
    let h = format!("\"{}\"", one_hash());
    let mut users = String::from("email,password_hash,role,first_name,last_name\n");
    writeln!(users, "boss@bigschool.org,{h},admin,Big,Boss").unwrap();
    for i in 0..students {
        writeln!(users, "s{i}@bigschool.org,{h},student,First{i},Last{i}").unwrap();
    }
    std::fs::write(d.join("users.csv"), users).unwrap();
    let mut courses = String::from("course_code,course_name,credits\n");
    for c in 0..10 {
        writeln!(courses, "BIG{c},Big course {c},3").unwrap();
    }
    std::fs::write(d.join("courses.csv"), courses).unwrap();
    let mut enr = String::from("student_email,course_code,enrollment_date\n");
    let mut att = String::with_capacity(students * 5 * days * 48);
    att.push_str("student_email,course_code,date,status\n");
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let dates: Vec<String> = (0..days)
        .map(|k| (start + chrono::Duration::days(k as i64)).to_string())
        .collect();
    for i in 0..students {
        for k in 0..5 {
            let c = (i + k * 2) % 10;
            writeln!(enr, "s{i}@bigschool.org,BIG{c},2024-01-01").unwrap();
            for (n, date) in dates.iter().enumerate() {
                let status = ["present", "absent", "late", "excused"][(i + n) % 4];
                writeln!(att, "s{i}@bigschool.org,BIG{c},{date},{status}").unwrap();
            }
        }
    }
    std::fs::write(d.join("enrollments.csv"), enr).unwrap();
    std::fs::write(d.join("attendance.csv"), att).unwrap();
    d
}

/// Loads `data` with `import --execute`, asserting success.
pub fn import_ok(url: &str, data: &Path) {
    let o = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        "--execute",
        "--database",
        url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "import failed:\n{}", text(&o));
}

/// A pseudo-random number in `0..n` (no extra dependency; good enough to vary kill points).
pub fn random_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() % n.max(1)
}

/// A random delay within `[lo, hi]` of `total`.
pub fn random_delay(total: Duration, lo: f64, hi: f64) -> Duration {
    let lo_ms = (total.as_millis() as f64 * lo) as u64;
    let hi_ms = (total.as_millis() as f64 * hi) as u64;
    Duration::from_millis(lo_ms + random_below(hi_ms.saturating_sub(lo_ms) + 1))
}

/// Runs a SQL statement on PostgreSQL from a separate connection.
pub fn pg_exec(url: &str, sql: &str) -> u64 {
    rt().block_on(async {
        let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
        let n = sqlx::query(sql)
            .execute(&pool)
            .await
            .expect("query")
            .rows_affected();
        pool.close().await;
        n
    })
}

/// Every `import_runs` row.
pub fn audit_runs(url: &str) -> Vec<registrar::db::audit::ImportRun> {
    rt().block_on(async {
        let db = Database::open(url).await.expect("open");
        let r = registrar::db::audit::list_runs(&db).await.expect("audit");
        db.close().await;
        r
    })
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs `test` with a fresh database (URL, scratch folder) on each engine; PostgreSQL only when
/// `REGISTRAR_TEST_POSTGRES` is set (SKIPPED is printed otherwise).
pub fn engines(name: &str, test: impl Fn(&str, &Path)) {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let dir = tempfile::tempdir().unwrap();
        let Some(url) = fresh(engine, dir.path(), &format!("{name}_{engine:?}")) else {
            continue;
        };
        test(&url, dir.path());
    }
}

/// Runs the binary: exit code, stdout as JSON (`Null` when it is not JSON), all output as text.
pub fn cli(args: &[&str]) -> (i32, serde_json::Value, String) {
    let o = run(args);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let json = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code(&o), json, text(&o))
}

/// `import --data DATA --execute --database URL --format json` plus `extra`.
pub fn import(url: &str, data: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec![
        "import",
        "--data",
        s(data),
        "--execute",
        "--database",
        url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

/// Rows of `sql`, each as its text columns joined by `|` (NULL as empty).
pub fn rows(url: &str, sql: &str) -> Vec<String> {
    use sqlx::Row;
    fn cell<'r, R: sqlx::Row>(r: &'r R, i: usize) -> String
    where
        usize: sqlx::ColumnIndex<R>,
        Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        if let Ok(v) = r.try_get::<Option<String>, _>(i) {
            return v.unwrap_or_default();
        }
        if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
            return v.map(|v| v.to_string()).unwrap_or_default();
        }
        if let Ok(v) = r.try_get::<Option<bool>, _>(i) {
            return v.map(|v| v.to_string()).unwrap_or_default();
        }
        if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
            return v.map(|v| v.to_string()).unwrap_or_default();
        }
        "?".into()
    }
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            let rs = sqlx::query(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rs.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| cell(r, i))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            let rs = sqlx::query(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            rs.iter()
                .map(|r| {
                    (0..r.len())
                        .map(|i| cell(r, i))
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect()
        }
    })
}
