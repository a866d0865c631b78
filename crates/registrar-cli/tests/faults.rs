//! Faults mid-run (issue 7, items 3 and 6), proven on the real binary and both engines:
//! - `import --execute`, `restore` and `migrate --execute` killed with SIGKILL at random
//!   points leave the database exactly as before (or, for restore and migrate, exactly as
//!   after), never in between, and a re-run succeeds at once;
//! - a PostgreSQL connection cut mid-import (`pg_terminate_backend`) exits 2, changes
//!   nothing and is audited;
//! - a full disk while writing a backup or a rejects file leaves no file under the final name;
//! - a damaged, truncated, newer-schema or inconsistent backup is refused by `restore` and
//!   `verify-backup` before anything is written.
//!
//! PostgreSQL cases run when `REGISTRAR_TEST_POSTGRES` is set (they print SKIPPED otherwise).

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Students in the generated data set (each in 5 courses).
const STUDENTS: usize = 250;
/// Attendance days per enrollment: 250 x 5 x 64 = 80,000 attendance rows.
const DAYS: usize = 64;
/// How many times each run is killed.
const KILLS: usize = 3;
/// A re-run after a kill must finish within this.
const RERUN_LIMIT: Duration = Duration::from_secs(30);

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn import_args(url: &str, data: &Path) -> Vec<String> {
    [
        "import",
        "--data",
        s(data),
        "--execute",
        "--database",
        url,
        "--format",
        "json",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

/// Runs the binary with `args` to the end; returns how long it took, asserting exit 0.
fn timed_ok(args: &[String]) -> Duration {
    let t0 = Instant::now();
    let o = bin().args(args).output().expect("run");
    let took = t0.elapsed();
    assert_eq!(code(&o), 0, "{args:?} failed:\n{}", text(&o));
    took
}

/// Starts the binary with `args`, SIGKILLs it after `delay`; true when it was still running
/// at that moment (the kill landed mid-run).
fn kill_after(args: &[String], delay: Duration) -> bool {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(delay);
    let running = child.try_wait().expect("try_wait").is_none();
    // `Child::kill` sends SIGKILL on Unix: no destructor, no rollback code of ours runs.
    let _ = child.kill();
    let status = child.wait().expect("wait");
    if running {
        assert!(status.code().is_none(), "killed by a signal: {status:?}");
    }
    running
}

/// A database with the base data loaded; returns its URL.
fn based(engine: Engine, dir: &Path, name: &str, base: &Path) -> Option<String> {
    let url = fresh(engine, dir, name)?;
    import_ok(&url, base);
    Some(url)
}

fn kill_import_mid_run(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), STUDENTS, DAYS);
    let Some(url) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let before = checksums(&url);
    // An un-killed run elsewhere measures how long the load takes.
    let Some(other) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let full = timed_ok(&import_args(&other, &big));
    eprintln!("{engine:?}: a full import takes {full:?}");
    let loaded = counts(&other);
    assert!(loaded
        .iter()
        .any(|(t, n)| t == "attendances" && *n >= 80_000));

    let args = import_args(&url, &big);
    // A backup of the state before, to start again when a kill landed after the commit.
    let before_file = dir.path().join("before.registrar.gz");
    let o = run(&["backup", "--database", &url, "--out", s(&before_file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let mut mid_run = 0;
    for _ in 0..KILLS {
        let delay = random_delay(full, 0.1, 0.6);
        let running = kill_after(&args, delay);
        let now = checksums(&url);
        if now == before {
            mid_run += usize::from(running);
            continue;
        }
        // Not as before: then it must be the whole load (the kill came after the commit).
        let now_counts: Vec<(String, u64)> =
            now.iter().map(|t| (t.table.clone(), t.rows)).collect();
        assert_eq!(
            now_counts, loaded,
            "{engine:?}: an import killed after {delay:?} (a full run takes {full:?}) left a partial load"
        );
        let o = run(&[
            "restore",
            "--database",
            &url,
            "--from",
            s(&before_file),
            "--yes",
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert_eq!(checksums(&url), before);
    }
    assert!(
        mid_run > 0,
        "no kill landed mid-run (a full run takes {full:?})"
    );
    let t0 = Instant::now();
    let o = bin().args(&args).output().unwrap();
    assert_eq!(code(&o), 0, "{engine:?}: re-run after kills:\n{}", text(&o));
    assert!(
        t0.elapsed() < RERUN_LIMIT,
        "{engine:?}: the re-run took {:?}",
        t0.elapsed()
    );
    assert_eq!(
        counts(&url),
        loaded,
        "{engine:?}: the re-run loaded everything"
    );
}

#[test]
fn sqlite_import_killed_mid_run_changes_nothing_and_reruns_at_once() {
    kill_import_mid_run(Engine::Sqlite, "kill_import");
}

#[test]
fn postgres_import_killed_mid_run_changes_nothing_and_reruns_at_once() {
    kill_import_mid_run(Engine::Postgres, "kill_import");
}

#[test]
fn postgres_connection_cut_mid_import_exits_2_changes_nothing_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), STUDENTS, DAYS);
    let Some(url) = based(Engine::Postgres, dir.path(), "cut_import", &base) else {
        return;
    };
    let before = checksums(&url);
    let runs_before = audit_runs(&url).len();
    let mut child = bin()
        .args(import_args(&url, &big))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the import's transaction holds its advisory lock (it is loading), then cut.
    let t0 = Instant::now();
    loop {
        let n = pg_count(
            &url,
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND d.datname = current_database()",
        );
        if n > 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the import never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200 + random_below(300)));
    let cut = pg_exec(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(cut > 0, "no backend to terminate");
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("error"), "a clear error on stderr: {err}");
    assert_eq!(checksums(&url), before, "the database changed");
    let runs = audit_runs(&url);
    assert_eq!(runs.len(), runs_before + 1, "the failed run is audited");
    let last = runs.iter().max_by_key(|r| r.id).unwrap();
    assert_ne!(last.outcome, "success");
    assert!(last.error.is_some(), "the audit row says why: {last:?}");
    // And a re-run succeeds at once.
    let t1 = Instant::now();
    timed_ok(&import_args(&url, &big));
    assert!(t1.elapsed() < RERUN_LIMIT);
}

fn pg_count(url: &str, sql: &str) -> i64 {
    rt().block_on(async {
        let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    })
}

fn kill_restore_mid_run(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let big = write_big(dir.path(), STUDENTS, DAYS);
    let Some(url) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let before = checksums(&url);
    // The backup to restore: base + big.
    let Some(src) = based(engine, dir.path(), name, &base) else {
        return;
    };
    import_ok(&src, &big);
    let after = checksums(&src);
    let file = dir.path().join("big.registrar.gz");
    let o = run(&["backup", "--database", &src, "--out", s(&file)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Measure a restore elsewhere.
    let Some(other) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let restore = |url: &str| -> Vec<String> {
        ["restore", "--database", url, "--from", s(&file), "--yes"]
            .iter()
            .map(|a| a.to_string())
            .collect()
    };
    let full = timed_ok(&restore(&other));
    eprintln!("{engine:?}: a full restore takes {full:?}");
    assert_eq!(checksums(&other), after);

    let mut mid_run = 0;
    for _ in 0..KILLS {
        let delay = random_delay(full, 0.15, 0.85);
        if kill_after(&restore(&url), delay) {
            mid_run += 1;
        }
        let now = checksums(&url);
        assert!(
            now == before || now == after,
            "{engine:?}: a restore killed after {delay:?} (full {full:?}) left the database in between: {now:?}"
        );
    }
    assert!(mid_run > 0, "no kill landed mid-run");
    let t0 = Instant::now();
    timed_ok(&restore(&url));
    assert!(t0.elapsed() < RERUN_LIMIT);
    assert_eq!(checksums(&url), after);
}

#[test]
fn sqlite_restore_killed_mid_run_leaves_before_or_after_never_between() {
    kill_restore_mid_run(Engine::Sqlite, "kill_restore");
}

#[test]
fn postgres_restore_killed_mid_run_leaves_before_or_after_never_between() {
    kill_restore_mid_run(Engine::Postgres, "kill_restore");
}

fn kill_migrate_mid_run(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    // A smaller set: the runbook reads the files twice and backs up twice.
    let big = write_big(dir.path(), STUDENTS / 2, DAYS / 2);
    let Some(url) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let before = checksums(&url);
    let migrate = |url: &str, backups: &Path| -> Vec<String> {
        [
            "migrate",
            "--data",
            s(&big),
            "--execute",
            "--database",
            url,
            "--backup-dir",
            s(backups),
            "--format",
            "json",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let Some(other) = based(engine, dir.path(), name, &base) else {
        return;
    };
    let full = timed_ok(&migrate(&other, &dir.path().join("other-backups")));
    eprintln!("{engine:?}: a full migrate takes {full:?}");
    let migrated = counts(&other);
    assert_ne!(counts(&url), migrated);

    let backups = dir.path().join("backups");
    // A copy of the state before, to go back to when a run finished before its kill (on a
    // loaded machine the timed run above can be slower than the later ones): every later
    // migrate would then refuse at once (already-exists) and no kill could land mid-run.
    let before_backup = dir.path().join("before.registrar.gz");
    let b = run(&["backup", "--database", &url, "--out", s(&before_backup)]);
    assert_eq!(code(&b), 0, "backup: {}", text(&b));
    let mut mid_run = 0;
    let mut scale = 1.0;
    let mut attempts = 0;
    while attempts < KILLS || (mid_run == 0 && attempts < KILLS * 4) {
        attempts += 1;
        let delay = random_delay(full.mul_f64(scale), 0.1, 0.9);
        if kill_after(&migrate(&url, &backups), delay) {
            mid_run += 1;
        } else {
            scale *= 0.5;
        }
        let now = checksums(&url);
        let now_counts: Vec<(String, u64)> =
            now.iter().map(|t| (t.table.clone(), t.rows)).collect();
        assert!(
            now == before || now_counts == migrated,
            "{engine:?}: a migrate killed after {delay:?} (full {full:?}) left the database in between: {now:?}"
        );
        // Never a half-written backup under a final name: every finished name verifies.
        for entry in std::fs::read_dir(&backups).into_iter().flatten().flatten() {
            let p = entry.path();
            let fname = p.file_name().unwrap().to_string_lossy().into_owned();
            if fname.ends_with(".registrar.gz") {
                let v = run(&["verify-backup", s(&p)]);
                assert_eq!(code(&v), 0, "{fname} is a backup that does not verify");
            }
        }
        if now != before && mid_run == 0 {
            let r = run(&[
                "restore",
                "--database",
                &url,
                "--from",
                s(&before_backup),
                "--yes",
            ]);
            assert_eq!(code(&r), 0, "restore: {}", text(&r));
            assert_eq!(checksums(&url), before);
        }
    }
    assert!(mid_run > 0, "no kill landed mid-run");
    let was_before = checksums(&url) == before;
    let t0 = Instant::now();
    let o = bin().args(migrate(&url, &backups)).output().unwrap();
    assert!(t0.elapsed() < RERUN_LIMIT * 2);
    // Before: the re-run migrates. Already migrated: the re-run finds every row unchanged
    // (issue 13), succeeds and writes nothing more.
    assert_eq!(
        code(&o),
        0,
        "{engine:?}: re-run of migrate (was before: {was_before}):\n{}",
        text(&o)
    );
    assert_eq!(counts(&url), migrated);
}

#[test]
fn sqlite_migrate_killed_mid_run_leaves_before_or_migrated() {
    kill_migrate_mid_run(Engine::Sqlite, "kill_migrate");
}

#[test]
fn postgres_migrate_killed_mid_run_leaves_before_or_migrated() {
    kill_migrate_mid_run(Engine::Postgres, "kill_migrate");
}

/// A tiny tmpfs mounted for a test, unmounted on drop.
struct TinyFs(PathBuf);

impl TinyFs {
    /// Mounts a 64 KiB tmpfs at `at` and fills it up; `None` (loudly) when mounting fails.
    fn full(at: &Path) -> Option<TinyFs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", s(at)])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !ok {
            eprintln!(
                "SKIPPED full-disk test: cannot mount a tmpfs at {} (needs root)",
                at.display()
            );
            return None;
        }
        let fs = TinyFs(at.to_path_buf());
        let mut filler = std::fs::File::create(at.join("filler")).unwrap();
        let chunk = vec![0x5au8; 4096];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.sync_all();
        Some(fs)
    }

    /// The file names in the folder, except the filler.
    fn names(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "filler")
            .collect()
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_no_half_written_backup_or_rejects_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let url = fresh(Engine::Sqlite, dir.path(), "full_disk").unwrap();
    import_ok(&url, &base);
    let before = checksums(&url);
    let Some(fs) = TinyFs::full(&dir.path().join("full")) else {
        return;
    };
    // A backup.
    let out = fs.0.join("sms.registrar.gz");
    let o = run(&["backup", "--database", &url, "--out", s(&out)]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(!out.exists(), "a half-written backup under the final name");
    assert_eq!(fs.names(), Vec::<String>::new(), "temporary files left");
    // A rejects file.
    let messy = dir.path().join("messy");
    std::fs::create_dir_all(&messy).unwrap();
    let mut users = String::from("email,password,role,first_name,last_name\n");
    users.push_str("new@realschool.org,Correct-Horse-77,student,New,One\n");
    for i in 0..2000 {
        users.push_str(&format!(
            "bad{i}-at-nowhere,Correct-Horse-77,student,Bad,Row{i}\n"
        ));
    }
    std::fs::write(messy.join("users.csv"), users).unwrap();
    let o = run(&[
        "import",
        "--data",
        s(&messy),
        "--execute",
        "--database",
        &url,
        "--skip-invalid",
        "--rejects",
        s(&fs.0),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(
        text(&o).contains("users.csv"),
        "names the file: {}",
        text(&o)
    );
    assert!(!fs.0.join("users.csv.rejects.csv").exists());
    assert_eq!(fs.names(), Vec::<String>::new(), "temporary files left");
    assert_eq!(checksums(&url), before, "the failed import wrote rows");
}

// ---- Backups you can trust (item 6), through the command line ----

/// Decompresses a backup, edits its lines, optionally recomputes the trailer's overall
/// checksum (so only the planted inconsistency remains), recompresses.
fn rewrite(from: &Path, to: &Path, fix_trailer: bool, edit: impl FnOnce(&mut Vec<String>)) {
    use sha2::Digest;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(from).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    edit(&mut lines);
    if fix_trailer {
        let last = lines.len() - 1;
        let mut h = sha2::Sha256::new();
        for l in &lines[..last] {
            h.update(l.as_bytes());
            h.update(b"\n");
        }
        let mut t: serde_json::Value = serde_json::from_str(&lines[last]).unwrap();
        t["trailer"]["sha256"] = serde_json::Value::String(hex::encode(h.finalize()));
        lines[last] = t.to_string();
    }
    let mut out = flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::default(),
    );
    for l in &lines {
        out.write_all(l.as_bytes()).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.finish().unwrap();
}

fn backup_refusals(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let base = write_base(dir.path());
    let Some(src) = based(engine, dir.path(), "refuse_src", &base) else {
        return;
    };
    let good = dir.path().join("good.registrar.gz");
    let o = run(&["backup", "--database", &src, "--out", s(&good)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(code(&run(&["verify-backup", s(&good)])), 0);
    // The target holds other data (the training set).
    let target = fresh(engine, dir.path(), "refuse_target").unwrap();
    let o = run(&["seed-training", "--database", &target]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let before = checksums(&target);

    let bytes = std::fs::read(&good).unwrap();
    let mut bad: Vec<(&str, PathBuf)> = Vec::new();
    let p = dir.path().join("flipped.gz");
    let mut b = bytes.clone();
    let at = b.len() / 2;
    b[at] ^= 0x10;
    std::fs::write(&p, &b).unwrap();
    bad.push(("a changed byte", p));
    let p = dir.path().join("truncated.gz");
    std::fs::write(&p, &bytes[..bytes.len() * 2 / 3]).unwrap();
    bad.push(("a truncated file", p));
    let p = dir.path().join("no-trailer.gz");
    rewrite(&good, &p, false, |l| {
        l.pop();
    });
    bad.push(("a file cut at a line boundary", p));
    let p = dir.path().join("newer.gz");
    rewrite(&good, &p, true, |l| {
        let mut h: serde_json::Value = serde_json::from_str(&l[0]).unwrap();
        h["schema_version"] = serde_json::json!(registrar::db::SCHEMA_VERSION + 1);
        l[0] = h.to_string();
    });
    bad.push(("another schema version", p));
    let p = dir.path().join("row-missing.gz");
    rewrite(&good, &p, true, |l| {
        let i = l
            .iter()
            .position(|x| x.contains("bob@realschool.org"))
            .unwrap();
        l.remove(i);
    });
    bad.push(("counts not matching the rows", p));
    let p = dir.path().join("row-changed.gz");
    rewrite(&good, &p, true, |l| {
        let i = l
            .iter()
            .position(|x| x.contains("bob@realschool.org"))
            .unwrap();
        l[i] = l[i].replace("bob@", "eve@");
    });
    bad.push(("a changed row", p));

    for (what, file) in &bad {
        let r = run(&["restore", "--database", &target, "--from", s(file), "--yes"]);
        assert_ne!(code(&r), 0, "{engine:?}: restore accepted {what}");
        assert_eq!(code(&r), 2, "{engine:?}: {what}: {}", text(&r));
        assert!(
            text(&r).contains("backup refused"),
            "{engine:?}: {what}: the message says why: {}",
            text(&r)
        );
        assert_eq!(
            checksums(&target),
            before,
            "{engine:?}: restoring {what} changed the database"
        );
        let v = run(&["verify-backup", s(file)]);
        assert_ne!(code(&v), 0, "verify-backup accepted {what}: {}", text(&v));
    }
    // The good backup still restores, and verifies.
    let r = run(&[
        "restore",
        "--database",
        &target,
        "--from",
        s(&good),
        "--yes",
    ]);
    assert_eq!(code(&r), 0, "{}", text(&r));
    assert_eq!(checksums(&target), checksums(&src));
}

#[test]
fn sqlite_damaged_truncated_newer_or_inconsistent_backups_are_refused_by_the_cli() {
    backup_refusals(Engine::Sqlite);
}

#[test]
fn postgres_damaged_truncated_newer_or_inconsistent_backups_are_refused_by_the_cli() {
    backup_refusals(Engine::Postgres);
}
