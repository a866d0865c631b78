//! Database files, locks and backups (issue 10, items 2, 6, 7, 8, 12 and 20), proven on the
//! real binary:
//! - the SQLite run lock is taken on the canonical file, so a symlink or another spelling of
//!   the path cannot run beside a run that holds it;
//! - every writing command takes the run lock and writes an audit row;
//! - backups never overwrite a file or the live database without `--force`, and the runbook's
//!   backups cannot collide;
//! - read-only commands never create a database; `verify-backup` never overwrites a non-empty
//!   scratch database without `--yes`;
//! - after every command the SQLite data is in the database file itself (no `-wal` left), and
//!   a database Registrar creates is 0600.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Holds the run lock of `url` (as another migrate would) while `f` runs.
fn while_locked<T>(url: &str, f: impl FnOnce() -> T) -> T {
    let rt = rt();
    let (db, lock) = rt.block_on(async {
        let db = registrar::db::Database::open(url).await.expect("open");
        let lock = db.run_lock().await.expect("lock");
        (db, lock)
    });
    let out = f();
    drop(lock);
    rt.block_on(db.close());
    out
}

fn assert_refused_as_locked(o: &std::process::Output, what: &str) {
    assert_eq!(code(o), 2, "{what}: expected exit 2:\n{}", text(o));
    assert!(
        text(o).contains("another registrar run"),
        "{what}: expected the run-lock refusal:\n{}",
        text(o)
    );
}

// ---------------------------------------------------------------------------------------------
// Item 2: SQLite locks by path, not by database

#[cfg(unix)]
#[test]
fn sqlite_locks_by_path_not_by_database_a_symlink_or_relative_path_is_refused_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let real = dir.path().join("real.db");
    let real_url = format!("sqlite://{}", s(&real));
    let o = run(&["init", "--database", &real_url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let link = dir.path().join("current.db");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let before = checksums(&real_url);
    while_locked(&real_url, || {
        // Through the symlink.
        let o = run(&[
            "import",
            "--data",
            s(&base),
            "--execute",
            "--database",
            &format!("sqlite://{}", s(&link)),
        ]);
        assert_refused_as_locked(&o, "import through a symlink");
        // Through a relative path from the database's folder.
        let o = bin()
            .current_dir(dir.path())
            .args([
                "migrate",
                "--data",
                s(&base),
                "--execute",
                "--database",
                "sqlite://./real.db",
                "--backup-dir",
                s(&dir.path().join("backups")),
            ])
            .output()
            .unwrap();
        assert_refused_as_locked(&o, "migrate through ./real.db");
    });
    assert_eq!(checksums(&real_url), before, "nothing was written");
    assert!(!dir.path().join("current.db.registrar-lock").exists());
    // Released: the run through the symlink goes ahead.
    let o = run(&[
        "import",
        "--data",
        s(&base),
        "--execute",
        "--database",
        &format!("sqlite://{}", s(&link)),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

// ---------------------------------------------------------------------------------------------
// Item 12: the embedded SQLite file is self-contained and private

fn side_file(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut n = db.as_os_str().to_owned();
    n.push(suffix);
    n.into()
}

/// The `-wal` file is gone (or empty), and a copy of the database file alone holds `want`.
fn assert_self_contained(db: &Path, want: &[(String, u64)], what: &str) {
    let wal = side_file(db, "-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(
        wal_len,
        0,
        "{what}: {} holds {wal_len} bytes",
        wal.display()
    );
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("copy.db");
    std::fs::copy(db, &copy).unwrap();
    assert_eq!(
        counts(&format!("sqlite://{}", s(&copy))),
        want,
        "{what}: a copy of the database file alone holds every row"
    );
}

#[cfg(unix)]
#[test]
fn sqlite_file_is_self_contained_after_import_and_migrate_and_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let db = dir.path().join("registrar.db");
    let url = format!("sqlite://{}", s(&db));
    import_ok(&url, &base);
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database Registrar created is private");
    let want = counts(&url);
    assert!(
        want.iter().any(|(t, n)| t == "users" && *n == 4),
        "{want:?}"
    );
    assert_self_contained(&db, &want, "after import --execute");

    // The runbook too (its own connections, backups and verification).
    let db2 = dir.path().join("migrated.db");
    let url2 = format!("sqlite://{}", s(&db2));
    let o = run(&[
        "migrate",
        "--data",
        s(&base),
        "--execute",
        "--database",
        &url2,
        "--backup-dir",
        s(&dir.path().join("backups")),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_self_contained(&db2, &counts(&url2), "after migrate --execute");
    // A command that fails (exit 1: a row already exists with other values) closes cleanly
    // as well.
    let changed = dir.path().join("changed");
    std::fs::create_dir_all(&changed).unwrap();
    let users = std::fs::read_to_string(base.join("users.csv")).unwrap();
    std::fs::write(
        changed.join("users.csv"),
        users.replace(",Ann,Base", ",Ann,Changed"),
    )
    .unwrap();
    let o = run(&[
        "import",
        "--data",
        s(&changed),
        "--execute",
        "--database",
        &url,
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert_self_contained(&db, &want, "after a failed import");
}

#[cfg(unix)]
#[test]
fn sqlite_database_and_its_wal_and_shm_are_created_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", s(&db));
    rt().block_on(async {
        let database = registrar::db::Database::open(&url).await.unwrap();
        registrar::db::seed::seed_training(&database).await.unwrap();
        // While it is open, the log and the shared-memory file exist, private too.
        for f in [db.clone(), side_file(&db, "-wal"), side_file(&db, "-shm")] {
            let mode = std::fs::metadata(&f)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
        database.close().await;
    });
    // Close checkpoints the log into the file (the last connection's close then removes it).
    let wal_len = std::fs::metadata(side_file(&db, "-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal_len, 0, "close leaves no data in the log");
}

// ---------------------------------------------------------------------------------------------
// Item 8: read-only commands never create a database; verify-backup never overwrites one

#[test]
fn sqlite_read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let typo = dir.path().join("typo.db");
    let url = format!("sqlite://{}", s(&typo));
    let users = base.join("users.csv");
    let out = dir.path().join("b.registrar.gz");
    let cases: Vec<Vec<&str>> = vec![
        vec!["check", "--database", &url],
        vec!["stats", "--database", &url],
        vec!["audit", "--database", &url],
        vec!["backup", "--database", &url, "--out", s(&out)],
        vec!["verify-logins", "--database", &url, "--file", s(&users)],
        vec!["validate", "--data", s(&base), "--database", &url],
        vec!["clean", "--dry-run", "--database", &url],
    ];
    for args in &cases {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}:\n{}", text(&o));
        assert!(
            text(&o).contains("no database at") && text(&o).contains("typo.db"),
            "{args:?}: a clear message naming the file:\n{}",
            text(&o)
        );
        assert!(
            !text(&o).contains("all checks passed"),
            "{args:?}:\n{}",
            text(&o)
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("typo.db") || n.starts_with("b.registrar"))
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
    // Plans of a first run are checked against an empty database, and create nothing either.
    for args in [
        vec![
            "import",
            "--data",
            s(&base),
            "--validate",
            "--database",
            &url,
        ],
        vec![
            "migrate",
            "--data",
            s(&base),
            "--validate",
            "--database",
            &url,
        ],
    ] {
        let o = run(&args);
        assert_eq!(code(&o), 0, "{args:?}:\n{}", text(&o));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("typo.db"))
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
    // A writing command still creates it.
    let o = run(&["init", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["check", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn postgres_read_only_commands_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(Engine::Postgres, dir.path(), "read_only_no_create") else {
        return;
    };
    let mut missing = url::Url::parse(&url).unwrap();
    let name = format!("{}_typo", missing.path().trim_start_matches('/'));
    missing.set_path(&format!("/{name}"));
    let o = run(&["check", "--database", missing.as_str()]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(!text(&o).contains("all checks passed"), "{}", text(&o));
    let exists: i64 = rt().block_on(async {
        let pool = sqlx::postgres::PgPool::connect(&url).await.unwrap();
        let n = sqlx::query_scalar("SELECT COUNT(*) FROM pg_database WHERE datname = $1")
            .bind(&name)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    });
    assert_eq!(exists, 0, "no database was created");
}

fn verify_backup_refuses_a_non_empty_scratch(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(src) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&src, &base);
    let file = dir.path().join("b.registrar.gz");
    let o = run(&["backup", "--database", &src, "--out", s(&file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // A scratch database that holds data (here: the training set).
    let scratch = fresh(engine, dir.path(), name).unwrap();
    let o = run(&["seed-training", "--database", &scratch]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let before = checksums(&scratch);
    let o = run(&["verify-backup", s(&file), "--scratch-database", &scratch]);
    assert_eq!(code(&o), 2, "{engine:?}: refused:\n{}", text(&o));
    assert!(
        text(&o).contains("not empty") && text(&o).contains("--yes"),
        "{}",
        text(&o)
    );
    assert_eq!(checksums(&scratch), before, "{engine:?}: nothing replaced");
    // With --yes it is replaced and verified.
    let o = run(&[
        "verify-backup",
        s(&file),
        "--scratch-database",
        &scratch,
        "--yes",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(counts(&scratch), counts(&src));
    // An empty scratch database needs no --yes.
    let empty = fresh(engine, dir.path(), name).unwrap();
    let o = run(&["verify-backup", s(&file), "--scratch-database", &empty]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // The default scratch leaves nothing behind beside the backup.
    let o = run(&["verify-backup", s(&file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("verify"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn sqlite_verify_backup_refuses_a_non_empty_scratch_database_without_yes() {
    verify_backup_refuses_a_non_empty_scratch(Engine::Sqlite, "verify_scratch");
}

#[test]
fn postgres_verify_backup_refuses_a_non_empty_scratch_database_without_yes() {
    verify_backup_refuses_a_non_empty_scratch(Engine::Postgres, "verify_scratch");
}

// ---------------------------------------------------------------------------------------------
// Item 7: backups never overwrite anything

#[cfg(unix)]
#[test]
fn sqlite_backup_out_the_live_database_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let db = dir.path().join("live.db");
    let url = format!("sqlite://{}", s(&db));
    import_ok(&url, &base);
    let before = checksums(&url);
    let link = dir.path().join("current.db");
    std::os::unix::fs::symlink(&db, &link).unwrap();
    let wal = side_file(&db, "-wal");
    let dotted = dir.path().join(".").join("live.db");
    for out in [&db, &link, &wal, &dotted] {
        for force in [false, true] {
            let mut args = vec!["backup", "--database", &url, "--out", s(out)];
            if force {
                args.push("--force");
            }
            let o = run(&args);
            assert_eq!(code(&o), 2, "{args:?}:\n{}", text(&o));
            assert!(
                text(&o).contains("live database"),
                "{args:?}:\n{}",
                text(&o)
            );
        }
    }
    // The database through the symlink, as the --database URL, is the same file too.
    let o = run(&[
        "backup",
        "--database",
        &format!("sqlite://{}", s(&link)),
        "--out",
        s(&db),
        "--force",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert_eq!(checksums(&url), before, "the database is intact");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let o = run(&["check", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

fn backup_out_an_existing_file(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&url, &base);
    let out = dir.path().join("b.registrar.gz");
    std::fs::write(&out, b"an older backup the operator keeps").unwrap();
    let o = run(&["backup", "--database", &url, "--out", s(&out)]);
    assert_eq!(code(&o), 2, "{engine:?}:\n{}", text(&o));
    assert!(
        text(&o).contains("already exists") && text(&o).contains("--force"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"an older backup the operator keeps",
        "{engine:?}: left alone"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(names.is_empty(), "no temporary file left: {names:?}");
    let o = run(&["backup", "--database", &url, "--out", s(&out), "--force"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = run(&["verify-backup", s(&out)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn sqlite_backup_out_an_existing_file_is_refused_without_force() {
    backup_out_an_existing_file(Engine::Sqlite, "backup_existing");
}

#[test]
fn postgres_backup_out_an_existing_file_is_refused_without_force() {
    backup_out_an_existing_file(Engine::Postgres, "backup_existing");
}

fn runbook_backups_never_collide(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    let o = run(&["init", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let backups = dir.path().join("backups");
    // Three migrates in a row (the 2nd and 3rd find every row already there and roll back),
    // well within a second of each other on a quick machine.
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let o = run(&[
            "migrate",
            "--data",
            s(&base),
            "--execute",
            "--database",
            &url,
            "--backup-dir",
            s(&backups),
            "--format",
            "json",
        ]);
        outcomes.push(code(&o));
    }
    assert_eq!(outcomes[0], 0, "{outcomes:?}");
    let mut pre: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| s(p).contains("pre-migration-"))
        .collect();
    pre.sort();
    assert_eq!(pre.len(), 3, "one pre-migration backup per run: {pre:?}");
    // Each one verifies, and one of them is the empty state before the first run: none was
    // overwritten by a later state.
    let mut empty = 0;
    for p in &pre {
        let o = run(&["verify-backup", s(p)]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let summary = registrar::db::backup::read_header(p).unwrap();
        if summary.tables.iter().all(|t| t.rows == 0) {
            empty += 1;
        }
    }
    assert_eq!(empty, 1, "the first run's pre-migration backup is intact");
}

#[test]
fn sqlite_runbook_backups_never_collide_three_migrates_in_a_row() {
    runbook_backups_never_collide(Engine::Sqlite, "backup_names");
}

#[test]
fn postgres_runbook_backups_never_collide_three_migrates_in_a_row() {
    runbook_backups_never_collide(Engine::Postgres, "backup_names");
}

// ---------------------------------------------------------------------------------------------
// Item 6: every writing command takes the run lock and writes an audit row

/// Runs the binary with `stdin` piped in.
fn run_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = bin()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn writing_commands_are_locked_and_audited(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&url, &base);
    let file = dir.path().join("b.registrar.gz");
    let o = run(&["backup", "--database", &url, "--out", s(&file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let new_pw = "Nw8!changedPass-4242";
    let passwords = format!("Generated-Pass-9x!\n{new_pw}\n");
    let commands: Vec<(&str, Vec<&str>)> = vec![
        (
            "restore",
            vec!["restore", "--database", &url, "--from", s(&file), "--yes"],
        ),
        (
            "clean-execute",
            vec!["clean", "--execute", "--database", &url],
        ),
        (
            "force-password-reset",
            vec![
                "force-password-reset",
                "--database",
                &url,
                "--except-role",
                "admin",
            ],
        ),
        ("seed-training", vec!["seed-training", "--database", &url]),
        (
            "set-password",
            vec![
                "set-password",
                "--database",
                &url,
                "--email",
                "ann@realschool.org",
            ],
        ),
        ("init", vec!["init", "--database", &url]),
    ];
    let before = checksums(&url);
    let runs_before = audit_runs(&url).len();
    // While another run (a migrate) holds the lock, each is refused and writes nothing.
    while_locked(&url, || {
        for (mode, args) in &commands {
            let o = run_with_stdin(args, &passwords);
            assert_refused_as_locked(&o, &format!("{engine:?} {mode}"));
        }
    });
    assert_eq!(checksums(&url), before, "{engine:?}: nothing written");
    assert_eq!(audit_runs(&url).len(), runs_before);
    // Once free, each runs and is one finished row of the audit log.
    for (mode, args) in &commands {
        let o = run_with_stdin(args, &passwords);
        assert_eq!(code(&o), 0, "{engine:?} {mode}:\n{}", text(&o));
        let runs = audit_runs(&url);
        let newest = &runs[0];
        assert_eq!(&newest.mode, mode, "{engine:?}: {runs:?}");
        assert_eq!(newest.outcome, "success", "{engine:?} {mode}: {newest:?}");
        assert!(newest.finished_at.is_some(), "{engine:?} {mode}");
    }
    let runs = audit_runs(&url);
    let restore = runs.iter().find(|r| r.mode == "restore").unwrap();
    assert!(
        restore.files.to_string().contains("b.registrar.gz"),
        "{:?}",
        restore.files
    );
    assert_eq!(restore.counts["users"]["restored"], 4);
    let all = format!("{runs:?}");
    assert!(
        !all.contains(new_pw) && !all.contains("Generated-Pass-9x!"),
        "no password in the audit log"
    );
    // A refused restore (a damaged file) is audited with its outcome.
    let bad = dir.path().join("bad.registrar.gz");
    std::fs::write(&bad, b"not a backup").unwrap();
    let o = run(&["restore", "--database", &url, "--from", s(&bad), "--yes"]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    let newest = &audit_runs(&url)[0];
    assert_eq!(newest.mode, "restore");
    assert_eq!(newest.outcome, "error", "{newest:?}");
    assert!(newest
        .error
        .as_deref()
        .unwrap_or("")
        .contains("backup refused"));
}

#[test]
fn sqlite_restore_and_every_writing_command_take_the_run_lock_and_write_an_audit_row() {
    writing_commands_are_locked_and_audited(Engine::Sqlite, "writing_locked");
}

#[test]
fn postgres_restore_and_every_writing_command_take_the_run_lock_and_write_an_audit_row() {
    writing_commands_are_locked_and_audited(Engine::Postgres, "writing_locked");
}
