//! Issue 10 item 20: backups of rows holding huge text run in bounded memory. Not a timed
//! test: the child's peak resident set size (`VmHWM`, Linux) is compared with a generous
//! bound.
mod common;

use common::{fresh, text, Engine};
use registrar::db::Database;
use std::process::Command;

/// Rows, and bytes of `courses.description` in each.
const ROWS: usize = 8;
const ROW_BYTES: usize = 24 * 1024 * 1024;

/// Runs `cmd` to completion; its exit code, output and peak RSS in bytes. The peak is the
/// child's own `VmHWM` (its high-water mark since `exec`, so nothing of this test process is
/// counted), read from `/proc` until it exits: a lower bound of the true peak, which a run
/// that holds several huge rows for seconds exceeds by far.
fn run_measured(mut cmd: Command) -> (i32, String, u64) {
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("out.txt");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = cmd
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run registrar");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let output = std::fs::read_to_string(&out_path).unwrap_or_default();
    (status.code().unwrap_or(-1), output, peak_kib * 1024)
}

/// Fills `courses` with [`ROWS`] rows whose description is [`ROW_BYTES`] long.
fn fill(url: &str) {
    let o = common::run(&["init", "--database", url]);
    assert_eq!(common::code(&o), 0, "{}", text(&o));
    common::rt().block_on(async {
        let db = Database::open(url).await.unwrap();
        let description = "d".repeat(ROW_BYTES);
        for i in 0..ROWS {
            let code = format!("BIG{i}");
            match &db {
                Database::Sqlite(p) => {
                    sqlx::query("INSERT INTO courses (course_code, course_name, description) VALUES (?, 'Big', ?)")
                        .bind(&code)
                        .bind(&description)
                        .execute(p)
                        .await
                        .unwrap();
                }
                Database::Postgres(p) => {
                    sqlx::query("INSERT INTO courses (course_code, course_name, description) VALUES ($1, 'Big', $2)")
                        .bind(&code)
                        .bind(&description)
                        .execute(p)
                        .await
                        .unwrap();
                }
            }
        }
        db.close().await;
    });
}

/// Was: `registrar backup` held each huge row three to six times (the row, a `String` copy, a
/// JSON value, the whole line, and on SQLite a row fetched ahead): 365 MB for 12 rows of
/// 60 MB. Now each value is serialised straight into the gzip stream and the hasher, and on
/// SQLite a huge row is read on its own. The bound, four times one row, is far above what it
/// takes now (about twice one row) and below what it took before.
fn backup_of_huge_rows_runs_in_bounded_memory(engine: Engine, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), name) else {
        return;
    };
    fill(&url);
    let backup = dir.path().join("big.registrar.gz");
    let mut cmd = common::bin();
    cmd.args(["backup", "--database", &url, "--out"])
        .arg(&backup);
    let (code, output, peak) = run_measured(cmd);
    assert_eq!(code, 0, "{output}");
    let bound = 4 * ROW_BYTES as u64;
    eprintln!(
        "{name}: backup of {ROWS} rows x {ROW_BYTES} bytes: peak RSS {} MiB (bound {} MiB)",
        peak >> 20,
        bound >> 20
    );
    assert!(
        peak < bound,
        "peak RSS {} MiB, more than {} MiB",
        peak >> 20,
        bound >> 20
    );
    let summary = registrar::db::backup::read_header(&backup).unwrap();
    assert_eq!(summary.tables[1].rows, ROWS as u64);
}

#[test]
fn sqlite_backup_of_huge_rows_runs_in_bounded_memory() {
    backup_of_huge_rows_runs_in_bounded_memory(
        Engine::Sqlite,
        "sqlite_backup_of_huge_rows_runs_in_bounded_memory",
    );
}

#[test]
#[ignore = "slow: about 30 s in a debug build; run with `cargo test -p registrar-cli --test memory -- --ignored`"]
fn postgres_backup_of_huge_rows_runs_in_bounded_memory() {
    backup_of_huge_rows_runs_in_bounded_memory(
        Engine::Postgres,
        "postgres_backup_of_huge_rows_runs_in_bounded_memory",
    );
}
