//! Runs that cannot undo each other or stop half-way (issue 10, items 1, 4 and 5), proven on
//! the real binary:
//! - a migrate whose PostgreSQL run-lock connection is terminated notices that it lost the
//!   lock, and a second migrate started meanwhile never undoes the first one's import;
//! - a migrate killed with SIGKILL right after its import step leaves nothing half-applied
//!   (clean-up, import and password reset commit together), the run is visible as unfinished
//!   in `audit` and `check`, and the re-run finishes with the reset applied (both engines);
//! - a directory at the rejects file's path fails the import before the commit: nothing
//!   written, audited as an error (never exit 2 with data committed) (both engines).
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn migrate_args(url: &str, data: &Path, backups: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "migrate",
        "--data",
        s(data),
        "--execute",
        "--database",
        url,
        "--backup-dir",
        s(backups),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

fn spawn(args: &[String]) -> Child {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn registrar")
}

/// Waits for a child, returning (exit code, stdout + stderr).
fn finish(mut c: Child) -> (i32, String) {
    let mut out = String::new();
    let mut err = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    c.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = c.wait().unwrap();
    (status.code().unwrap_or(-1), format!("{out}{err}"))
}

/// One number from a query, on either engine.
fn scalar(url: &str, sql: &str) -> i64 {
    rt().block_on(async {
        let db = registrar::db::Database::open(url).await.expect("open");
        let n: i64 = match &db {
            registrar::db::Database::Postgres(p) => {
                sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
            }
            registrar::db::Database::Sqlite(p) => {
                sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
            }
        };
        db.close().await;
        n
    })
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Item 1: the PostgreSQL run lock dies with its connection ----

#[test]
fn postgres_a_migrate_that_lost_its_run_lock_is_never_undone_by_a_second_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), 250, 64);
    let Some(url) = fresh(Engine::Postgres, dir.path(), "lock_lost") else {
        return;
    };
    import_ok(&url, &base);
    let other = fresh(Engine::Postgres, dir.path(), "lock_lost").unwrap();
    import_ok(&other, &base);
    import_ok(&other, &big);
    let migrated = counts(&other);
    assert_ne!(counts(&url), migrated);

    let rt = rt();
    // Hold migrate A inside its import: writers of `attendances` wait for this lock (readers,
    // such as backups, do not).
    let mut blocker: sqlx::PgConnection = rt
        .block_on(<sqlx::PgConnection as sqlx::Connection>::connect(&url))
        .unwrap();
    rt.block_on(async {
        sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
        sqlx::query("LOCK TABLE attendances IN EXCLUSIVE MODE")
            .execute(&mut blocker)
            .await
            .unwrap();
    });
    let a = spawn(&migrate_args(
        &url,
        &big,
        &dir.path().join("backups-a"),
        &["--format", "json"],
    ));
    wait_until(
        "migrate A to wait inside its import",
        Duration::from_secs(40),
        || {
            pg_count(
                &url,
                "SELECT count(*) FROM pg_locks WHERE NOT granted \
             AND relation = 'attendances'::regclass",
            ) > 0
        },
    );
    // Cut the connection that holds A's run lock (the session advisory lock).
    let key = registrar::db::PG_RUN_LOCK_KEY;
    let cut = pg_count(
        &url,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
             AND objsubid = 1 AND classid::bigint = {} AND objid::bigint = {} \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            key >> 32,
            key & 0xffff_ffff
        ),
    );
    assert_eq!(cut, 1, "one backend held the run lock");
    // Migrate B gets the lock and takes its first backup while A's import is uncommitted.
    let backups_b = dir.path().join("backups-b");
    let b = spawn(&migrate_args(&url, &big, &backups_b, &["--format", "json"]));
    wait_until("migrate B's first backup", Duration::from_secs(30), || {
        std::fs::read_dir(&backups_b)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                !n.starts_with('.') && n.ends_with(".registrar.gz")
            })
    });
    rt.block_on(async {
        sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();
    });
    let (code_a, out_a) = finish(a);
    let (code_b, out_b) = finish(b);
    let both = format!("A (exit {code_a}):\n{out_a}\nB (exit {code_b}):\n{out_b}");
    assert_eq!(
        counts(&url),
        migrated,
        "the database holds the migration: no run undid another's import\n{both}"
    );
    // A lost its lock before its commit: it stops, says so, restores nothing.
    assert_eq!(code_a, 2, "{both}");
    assert!(out_a.contains("run lock was lost"), "{both}");
    assert_eq!(code_b, 0, "{both}");
    let runs = audit_runs(&url);
    let migrates: Vec<_> = runs
        .iter()
        .filter(|r| r.mode == "migrate-execute")
        .collect();
    assert_eq!(migrates.len(), 2, "{runs:#?}");
    let outcomes: Vec<&str> = migrates.iter().map(|r| r.outcome.as_str()).collect();
    assert!(
        outcomes.contains(&"lock-lost") && outcomes.contains(&"success"),
        "{runs:#?}"
    );
    let c = run(&["check", "--database", &url]);
    assert_eq!(code(&c), 0, "{}", text(&c));
}

fn pg_count(url: &str, sql: &str) -> i64 {
    scalar(url, sql)
}

// ---- Item 4: a killed migrate leaves a half-applied runbook with no trace ----

fn killed_migrate_leaves_no_half_applied_runbook(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let big = write_big(dir.path(), 250, 64);
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    let o = run(&["seed-training", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let before = checksums(&url);
    let extra = ["--clean-training-data", "--force-password-reset"];
    // The end state of an uninterrupted run, on another database.
    let other = fresh(engine, dir.path(), name).unwrap();
    let o = run(&["seed-training", "--database", &other]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let args_other = migrate_args(&other, &big, &dir.path().join("backups-o"), &extra);
    let o = bin().args(&args_other).output().unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    let migrated = counts(&other);
    let not_reset =
        "SELECT COUNT(*) FROM users WHERE role <> 'admin' AND NOT password_reset_required";
    assert_eq!(scalar(&other, not_reset), 0);

    // Kill -9 right after the import step's line.
    let backups = dir.path().join("backups");
    let args = migrate_args(&url, &big, &backups, &extra);
    let mut child = spawn(&args);
    let stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let is_import = line.split_whitespace().nth(1) == Some("import");
        seen.push(line);
        if is_import {
            let _ = child.kill();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "killed after the import step: {status:?}\n{}",
        seen.join("\n")
    );
    // Nothing half-applied: all of clean-up + import + reset, or none of it.
    let now = checksums(&url);
    let was_before = now == before;
    if !was_before {
        let now_counts: Vec<(String, u64)> =
            now.iter().map(|t| (t.table.clone(), t.rows)).collect();
        assert_eq!(now_counts, migrated, "{engine:?}: a half-applied runbook");
        assert_eq!(
            scalar(&url, not_reset),
            0,
            "{engine:?}: imported, not reset"
        );
    }
    // The run is visible as unfinished in the audit log ...
    let runs = audit_runs(&url);
    let killed = runs
        .iter()
        .find(|r| r.mode == "migrate-execute")
        .unwrap_or_else(|| panic!("{engine:?}: the killed run left no audit row: {runs:#?}"));
    assert!(killed.finished_at.is_none(), "{killed:?}");
    assert_eq!(
        killed.outcome,
        if was_before { "running" } else { "committed" },
        "{killed:?}"
    );
    let a = run(&["audit", "--database", &url]);
    assert!(text(&a).contains("UNFINISHED"), "{}", text(&a));
    // ... and in `check`, which fails naming the run and its start time.
    let c = run(&["check", "--database", &url, "--format", "json"]);
    assert_eq!(code(&c), 1, "{}", text(&c));
    let v: serde_json::Value = serde_json::from_slice(&c.stdout).unwrap();
    let unfinished = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "unfinished-runs")
        .expect("an unfinished-runs check");
    assert_eq!(unfinished["passed"], false);
    let detail = unfinished["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("run #{}", killed.id)), "{detail}");
    assert!(
        detail.contains(&killed.started_at.format("%Y-%m-%d %H:%M:%S").to_string()),
        "{detail}"
    );

    // The re-run says so, marks the old run interrupted and finishes with the reset applied.
    let mut rerun = args.clone();
    rerun.extend(["--format".to_string(), "json".to_string()]);
    let o = bin().args(&rerun).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(&o)));
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    assert_eq!(steps.first(), Some(&"previous-run"), "{v}");
    if was_before {
        assert_eq!(code(&o), 0, "{engine:?}: re-run:\n{}", text(&o));
        assert_eq!(counts(&url), migrated);
    } else {
        assert_ne!(code(&o), 0);
        assert!(text(&o).contains("already-exists"), "{}", text(&o));
    }
    assert_eq!(
        scalar(&url, not_reset),
        0,
        "{engine:?}: the reset is applied"
    );
    let runs = audit_runs(&url);
    let old = runs.iter().find(|r| r.id == killed.id).unwrap();
    assert_eq!(old.outcome, "interrupted", "{old:?}");
    let c = run(&["check", "--database", &url]);
    assert_eq!(code(&c), 0, "{}", text(&c));
}

#[test]
fn sqlite_a_migrate_killed_after_its_import_leaves_nothing_half_applied_and_is_visible() {
    killed_migrate_leaves_no_half_applied_runbook(Engine::Sqlite, "killed_migrate");
}

#[test]
fn postgres_a_migrate_killed_after_its_import_leaves_nothing_half_applied_and_is_visible() {
    killed_migrate_leaves_no_half_applied_runbook(Engine::Postgres, "killed_migrate");
}

// ---- Item 5: the audit can lie ----

fn folder_at_rejects_path(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&url, &base);
    let before = checksums(&url);
    let data = dir.path().join("messy");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("users.csv"),
        "email,password,role,first_name,last_name\n\
         new@realschool.org,Correct-Horse-77,student,New,One\n\
         bad-at-nowhere,Correct-Horse-77,student,Bad,Row\n",
    )
    .unwrap();
    let rejects = dir.path().join("rejects");
    std::fs::create_dir_all(rejects.join("users.csv.rejects.csv")).unwrap();
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--execute",
        "--database",
        &url,
        "--skip-invalid",
        "--rejects",
        s(&rejects),
    ]);
    let runs = audit_runs(&url);
    let last = runs.iter().max_by_key(|r| r.id).unwrap();
    // Never exit 2 with the data committed: the run fails before its commit.
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("users.csv.rejects.csv"),
        "names the path: {}",
        text(&o)
    );
    assert_eq!(checksums(&url), before, "{engine:?}: data committed");
    assert_eq!(last.outcome, "error", "{last:?}");
    assert!(
        last.error.as_deref().unwrap_or("").contains("rejects"),
        "{last:?}"
    );
    assert!(last.finished_at.is_some());
    // The folder is untouched and no temporary file is left beside it.
    assert!(rejects.join("users.csv.rejects.csv").is_dir());
    assert_eq!(std::fs::read_dir(&rejects).unwrap().count(), 1);
    // With the folder moved away, the same run succeeds and is audited as such.
    std::fs::remove_dir(rejects.join("users.csv.rejects.csv")).unwrap();
    let o = run(&[
        "import",
        "--data",
        s(&data),
        "--execute",
        "--database",
        &url,
        "--skip-invalid",
        "--rejects",
        s(&rejects),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(rejects.join("users.csv.rejects.csv").is_file());
    let runs = audit_runs(&url);
    assert_eq!(runs.iter().max_by_key(|r| r.id).unwrap().outcome, "success");
    assert_ne!(checksums(&url), before);
}

#[test]
fn sqlite_a_folder_at_the_rejects_path_fails_the_import_before_its_commit() {
    folder_at_rejects_path(Engine::Sqlite, "rejects_folder");
}

#[test]
fn postgres_a_folder_at_the_rejects_path_fails_the_import_before_its_commit() {
    folder_at_rejects_path(Engine::Postgres, "rejects_folder");
}
