//! Concurrency (issue 7, item 4): two `import --execute` or two `migrate --execute` runs
//! against the same database at once never interleave. The second waits for the first and
//! then finds the rows already there (`already-exists`, exit 1), or refuses at once with a
//! clear message (exit 2); the database ends holding exactly one load.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Output, Stdio};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn spawn(args: &[&str]) -> Child {
    bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn registrar")
}

/// Starts two runs of `args_a` / `args_b` at the same moment and waits for both.
fn race(args_a: &[&str], args_b: &[&str]) -> (Output, Output) {
    let a = spawn(args_a);
    let b = spawn(args_b);
    (a.wait_with_output().unwrap(), b.wait_with_output().unwrap())
}

/// The loser of a race either waited and found the rows already there, or refused clearly.
fn assert_clear_loser(o: &Output, what: &str) {
    let t = text(o);
    match code(o) {
        1 => assert!(
            t.contains("already-exists"),
            "{what}: exit 1 without already-exists:\n{t}"
        ),
        2 => assert!(
            t.contains("another registrar run") || t.contains("is writing to this SQLite"),
            "{what}: exit 2 without a clear lock message:\n{t}"
        ),
        c => panic!("{what}: the second run exited {c}:\n{t}"),
    }
}

fn two_imports(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), 200, 60);
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&url, &base);
    // The expected end state: exactly one load, measured on another database.
    let other = fresh(engine, dir.path(), name).unwrap();
    import_ok(&other, &base);
    import_ok(&other, &big);
    let once = counts(&other);

    let args = [
        "import",
        "--data",
        s(&big),
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ];
    let (a, b) = race(&args, &args);
    let winners = [&a, &b].iter().filter(|o| code(o) == 0).count();
    // Either the second run is refused (the lock is held), or it waited for the first to
    // commit and then found every row unchanged (issue 13): it wrote nothing.
    let written = |o: &std::process::Output| -> u64 {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v["files"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|x| {
                        x["inserted"].as_u64().unwrap_or(0) + x["updated"].as_u64().unwrap_or(0)
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    match winners {
        1 => {
            let loser = if code(&a) == 0 { &b } else { &a };
            assert_clear_loser(loser, &format!("{engine:?} import"));
        }
        2 => assert!(
            written(&a) == 0 || written(&b) == 0,
            "{engine:?}: two imports both wrote\nA:\n{}\nB:\n{}",
            text(&a),
            text(&b)
        ),
        _ => panic!(
            "{engine:?}: no import succeeded\nA:\n{}\nB:\n{}",
            text(&a),
            text(&b)
        ),
    }
    assert_eq!(
        counts(&url),
        once,
        "{engine:?}: the database holds one load"
    );
    // Both runs are audited, one success.
    let runs = audit_runs(&url);
    let successes = runs
        .iter()
        .filter(|r| r.mode == "execute" && r.outcome == "success")
        .count();
    assert_eq!(
        successes,
        1 + winners,
        "the base load and the racing loads that succeeded"
    );
}

#[test]
fn sqlite_two_imports_at_once_never_interleave() {
    two_imports(Engine::Sqlite, "two_imports");
}

#[test]
fn postgres_two_imports_at_once_never_interleave() {
    two_imports(Engine::Postgres, "two_imports");
}

fn two_migrations(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), 200, 40);
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    import_ok(&url, &base);
    let other = fresh(engine, dir.path(), name).unwrap();
    import_ok(&other, &base);
    import_ok(&other, &big);
    let once = counts(&other);

    let migrate = |backups: &Path| -> Vec<String> {
        [
            "migrate",
            "--data",
            s(&big),
            "--execute",
            "--database",
            &url,
            "--backup-dir",
            s(backups),
            "--format",
            "json",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let args_a = migrate(&dir.path().join("backups-a"));
    let args_b = migrate(&dir.path().join("backups-b"));
    let a_ref: Vec<&str> = args_a.iter().map(String::as_str).collect();
    let b_ref: Vec<&str> = args_b.iter().map(String::as_str).collect();
    let (a, b) = race(&a_ref, &b_ref);
    let winners = [&a, &b].iter().filter(|o| code(o) == 0).count();
    // Either the second migrate is refused (the lock is held), or it waited for the first
    // and then found every row unchanged (issue 13); the counts below prove one migration.
    assert!(
        winners >= 1,
        "{engine:?}: no migrate succeeded\nA:\n{}\nB:\n{}",
        text(&a),
        text(&b)
    );
    if winners == 1 {
        let loser = if code(&a) == 0 { &b } else { &a };
        assert_clear_loser(loser, &format!("{engine:?} migrate"));
    }
    assert_eq!(
        counts(&url),
        once,
        "{engine:?}: the database holds exactly one migration (the loser must not roll back the winner)"
    );
    let c = run(&["check", "--database", &url]);
    assert_eq!(code(&c), 0, "{}", text(&c));
}

#[test]
fn sqlite_two_migrations_at_once_never_interleave() {
    two_migrations(Engine::Sqlite, "two_migrations");
}

#[test]
fn postgres_two_migrations_at_once_never_interleave() {
    two_migrations(Engine::Postgres, "two_migrations");
}
