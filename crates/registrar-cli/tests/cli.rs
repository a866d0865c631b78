//! End-to-end tests of the `registrar` binary: exit codes, JSON output, the runbook, and that
//! no password ever reaches an output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_registrar"));
    c.env_remove("REGISTRAR_DATABASE_URL");
    c
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run registrar")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every plain password in a users CSV (column `password`).
fn passwords_of(users_csv: &Path) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(users_csv)
        .expect("users.csv");
    let headers = rdr.headers().expect("header").clone();
    let col = headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("password"));
    let mut out = Vec::new();
    for rec in rdr.records().flatten() {
        if let Some(p) = col.and_then(|c| rec.get(c)) {
            if p.len() >= 4 {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// Runs `set-password` with the two passwords on stdin.
fn set_password(url: &str, email: &str, stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(["set-password", "--database", url, "--email", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn assert_no_secret(outputs: &[String], secrets: &[String]) {
    for o in outputs {
        for s in secrets {
            assert!(
                !o.contains(s.as_str()),
                "a password appeared in the output:\n{o}"
            );
        }
        assert!(
            !o.contains("$argon2"),
            "a password hash appeared in the output:\n{o}"
        );
    }
}

#[test]
fn validate_example_data_is_clean_and_json_matches_spec() {
    let o = run(&[
        "validate",
        "--data",
        examples("data").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(v["mode"], "validate");
    assert_eq!(v["ok"], true);
    assert_eq!(v["files"].as_array().map(Vec::len), Some(5));
    for f in v["files"].as_array().unwrap() {
        assert!(f["rows"].as_u64().unwrap() > 0);
        assert_eq!(f["rows"], f["valid"]);
        assert_eq!(f["invalid"], 0);
    }
    assert!(v["duration_ms"].is_u64());
}

#[test]
fn validate_messy_exits_1_names_cells_and_leaks_no_password() {
    let messy = examples("messy");
    let o = run(&["validate", "--data", messy.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let out = text(&o);
    for c in [
        "invalid-email",
        "weak-password",
        "duplicate-key",
        "training-account",
        "unknown-student",
    ] {
        assert!(out.contains(&format!("[{c}]")), "missing {c} in:\n{out}");
    }
    assert!(out.contains("users.csv:"), "issues are prefixed file:row");
    let j = run(&[
        "validate",
        "--data",
        messy.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&j), 1);
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).expect("JSON");
    assert_eq!(v["ok"], false);
    assert_no_secret(&[out, text(&j)], &passwords_of(&messy.join("users.csv")));
}

#[test]
fn usage_errors_and_bad_urls_exit_2() {
    let o = run(&["validate"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let o = run(&["import", "--data", "x", "--execute", "--validate"]);
    assert_eq!(code(&o), 2);
    let o = run(&["init", "--database", "mysql://nope"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).contains("invalid database URL"), "{}", text(&o));
    assert_eq!(text(&o).trim().lines().count(), 1, "one line: {}", text(&o));
    let o = run(&[
        "init",
        "--database",
        "postgres://u:s3cretpw@127.0.0.1:1/none",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        !text(&o).contains("s3cretpw"),
        "the URL's password is masked: {}",
        text(&o)
    );
    let o = run(&["validate", "--file", "/nonexistent/users.csv"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

#[test]
fn import_execute_into_sqlite_then_rerun_with_on_existing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let data = examples("data");
    let data = data.to_str().unwrap();
    let o = run(&[
        "import",
        "--data",
        data,
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "execute");
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["inserted"], f["rows"], "{f}");
    }
    // Again: every row is unchanged, nothing is written, exit 0 (issue 13).
    let o = run(&["import", "--data", data, "--execute", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("unchanged"), "{}", text(&o));
    assert!(!text(&o).contains("[already-exists]"));
    // With skip: nothing changes, exit 0.
    let o = run(&[
        "import",
        "--data",
        data,
        "--execute",
        "--database",
        &url,
        "--on-existing",
        "skip",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["inserted"], 0);
        assert_eq!(f["unchanged"], f["rows"]);
    }
    let audit = run(&["audit", "--database", &url, "--format", "json"]);
    assert_eq!(code(&audit), 0);
    let runs: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(
        runs.as_array().map(Vec::len),
        Some(3),
        "one audit row per run"
    );
}

#[test]
fn restore_refuses_without_yes_when_not_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let file = dir.path().join("b.gz");
    // `backup` is read-only and never creates a database (issue 10, item 8): create it first.
    let o = run(&["init", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&[
        "backup",
        "--database",
        &url,
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = bin()
        .args([
            "restore",
            "--database",
            &url,
            "--from",
            file.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("--yes"));
    let o = run(&[
        "restore",
        "--database",
        &url,
        "--from",
        file.to_str().unwrap(),
        "--yes",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["verify-backup", file.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn set_password_reads_stdin_never_argv() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let o = run(&["seed-training", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // There is no flag that takes a password.
    let o = run(&[
        "set-password",
        "--database",
        &url,
        "--email",
        "admin1@school.edu",
        "--password",
        "x",
    ]);
    assert_eq!(code(&o), 2);
    let o = set_password(
        &url,
        "admin1@school.edu",
        b"AdminPass123!\nKettle-Orbit-93-Lantern\n",
    );
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_no_secret(
        &[text(&o)],
        &["AdminPass123!".into(), "Kettle-Orbit-93-Lantern".into()],
    );
    // The old password no longer works: changing it again with the old one is refused.
    let o = set_password(
        &url,
        "admin1@school.edu",
        b"AdminPass123!\nAnother-Good-Phrase-77\n",
    );
    assert_eq!(code(&o), 1, "{}", text(&o));
}

/// The whole runbook from a seeded training database, and every output checked for secrets.
fn runbook_on(url: &str, dir: &Path) {
    let data = examples("data");
    let data = data.to_str().unwrap();
    let backups = dir.join("backups");
    let mut outputs = Vec::new();
    // Seeded through the library: `seed-training` is itself an audited run (issue 10, item 6),
    // and this test counts the migration's rows alone.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = registrar::db::Database::open(url).await.unwrap();
        registrar::db::seed::seed_training(&db).await.unwrap();
        db.close().await;
    });
    let o = run(&[
        "migrate",
        "--data",
        data,
        "--validate",
        "--database",
        url,
        "--clean-training-data",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    outputs.push(text(&o));
    let o = run(&[
        "migrate",
        "--data",
        data,
        "--execute",
        "--database",
        url,
        "--backup-dir",
        backups.to_str().unwrap(),
        "--clean-training-data",
        "--force-password-reset",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    outputs.push(text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["backups"].as_array().map(Vec::len), Some(2));
    let o = run(&["check", "--database", url, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    outputs.push(text(&o));
    let checks: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let training = checks["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "training-accounts-left")
        .unwrap();
    assert_eq!(training["count"], 0);
    for b in v["backups"].as_array().unwrap() {
        let o = run(&["verify-backup", b.as_str().unwrap()]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        outputs.push(text(&o));
    }
    let users = examples("data").join("users.csv");
    let o = run(&[
        "verify-logins",
        "--database",
        url,
        "--file",
        users.to_str().unwrap(),
        "--sample",
        "5",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    outputs.push(text(&o));
    let o = run(&["audit", "--database", url, "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let modes: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["mode"].as_str())
        .collect();
    assert_eq!(
        modes,
        ["migrate-execute"],
        "the whole migration is one audit row"
    );
    assert_eq!(runs[0]["outcome"], "success");
    for cmd in ["stats", "audit"] {
        let o = run(&[cmd, "--database", url]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        outputs.push(text(&o));
    }
    assert_no_secret(&outputs, &passwords_of(&users));
}

#[test]
fn runbook_end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    runbook_on(&url, dir.path());
}

#[test]
fn runbook_end_to_end_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(registrar::db::testing::fresh_postgres(
        "runbook_end_to_end_on_postgres",
    )) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    runbook_on(&url, dir.path());
}

/// Table checksums of a database, through the library.
async fn checksums(url: &str) -> Vec<registrar::db::backup::TableChecksum> {
    let db = registrar::db::Database::open(url).await.unwrap();
    let c = registrar::db::backup::table_checksums(&db).await.unwrap();
    db.close().await;
    c
}

/// A database error while the fourth file (grades) loads: `migrate --execute` restores the
/// first backup (same checksums as before the run), exits non-zero and audits the failure.
async fn migrate_rolls_back_on_a_database_error(url: &str, plant: &str, dir: &Path) {
    let o = run(&["seed-training", "--database", url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A rule the validator does not know: no 'final' grades.
    {
        let db = registrar::db::Database::open(url).await.unwrap();
        match &db {
            registrar::db::Database::Postgres(p) => {
                sqlx::query(plant).execute(p).await.unwrap();
            }
            registrar::db::Database::Sqlite(p) => {
                sqlx::query(plant).execute(p).await.unwrap();
            }
        }
        db.close().await;
    }
    let before = checksums(url).await;
    let data = examples("data");
    let backups = dir.join("backups");
    let o = run(&[
        "migrate",
        "--data",
        data.to_str().unwrap(),
        "--execute",
        "--database",
        url,
        "--backup-dir",
        backups.to_str().unwrap(),
        "--clean-training-data",
        "--format",
        "json",
    ]);
    assert_ne!(code(&o), 0, "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(v["ok"], false);
    assert_eq!(v["rolled_back"], true, "{v}");
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert!(
        steps.contains(&"clean") && steps.contains(&"rollback"),
        "{steps:?}"
    );
    assert_eq!(
        checksums(url).await,
        before,
        "the database is exactly as the first backup says"
    );
    let o = run(&["audit", "--database", url, "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(runs[0]["mode"], "migrate-execute");
    assert_eq!(runs[0]["outcome"], "rolled-back");
    assert!(
        runs[0]["error"].as_str().unwrap_or("").contains("import"),
        "{}",
        runs[0]
    );
}

#[test]
fn migrate_rolls_back_on_a_database_error_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(migrate_rolls_back_on_a_database_error(
        &url,
        "CREATE TRIGGER planted_fault BEFORE INSERT ON grades WHEN NEW.assessment = 'final' \
         BEGIN SELECT RAISE(ABORT, 'planted fault'); END",
        dir.path(),
    ));
}

#[test]
fn migrate_rolls_back_on_a_database_error_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(registrar::db::testing::fresh_postgres(
        "migrate_rolls_back_on_postgres",
    )) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(migrate_rolls_back_on_a_database_error(
        &url,
        "ALTER TABLE grades ADD CONSTRAINT planted_fault CHECK (assessment <> 'final')",
        dir.path(),
    ));
}
