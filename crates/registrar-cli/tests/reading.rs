//! Issue 10, reading side (helper C), on the real binary and both engines (PostgreSQL when
//! `REGISTRAR_TEST_POSTGRES` is set):
//! - item 9: `--skip-invalid` skips invalid rows, never unread ones: a file that could not be
//!   read to the end (missing columns, no header, an empty folder, duplicate files, a bad byte
//!   mid-file) fails the run (exit 1) and nothing is written;
//! - item 10: a data file that is not a regular file (FIFO, folder, dangling link, a link to
//!   `/dev/zero`) is refused with `unreadable-file`, in bounded time.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Runs the binary, killing it (and failing the test) if it takes longer than `limit`.
fn run_bounded(args: &[&str], limit: Duration) -> Output {
    use std::io::Read;
    let mut child = bin()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Drain both pipes while waiting, so a long report never blocks the child.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let t0 = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().expect("stdout thread"),
        stderr: err.join().expect("stderr thread"),
    }
}

const LIMIT: Duration = Duration::from_secs(60);

fn report_of(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not a JSON report ({e}):\n{}", text(o)))
}

/// (file, row, code) of every error in a JSON report.
fn errors(o: &Output) -> Vec<(String, Option<u64>, String)> {
    report_of(o)["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["severity"] == "error")
        .map(|i| {
            (
                i["file"].as_str().unwrap_or("").to_owned(),
                i["row"].as_u64(),
                i["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn import_skip_invalid(url: &str, data: &Path, rejects: &Path) -> Output {
    run_bounded(
        &[
            "import",
            "--data",
            s(data),
            "--execute",
            "--skip-invalid",
            "--rejects",
            s(rejects),
            "--database",
            url,
            "--format",
            "json",
        ],
        LIMIT,
    )
}

fn all_zero(url: &str) {
    for (table, rows) in counts(url) {
        assert_eq!(rows, 0, "{table} must be empty: nothing is written");
    }
}

fn no_rejects(rejects: &Path) {
    let n = std::fs::read_dir(rejects).map(|d| d.count()).unwrap_or(0);
    assert_eq!(n, 0, "no rejects file is written for a run that failed");
}

const COURSES: &str = "course_code,course_name\nMATH101,Calculus I\nHIST200,World History\n";

/// Twelve lines: the header, courses on lines 2-12, a windows-1252 byte on line 7.
fn courses_with_bad_byte_on_line_7() -> Vec<u8> {
    let mut b = b"course_code,course_name\n".to_vec();
    for i in 2..=12 {
        if i == 7 {
            b.extend_from_slice(b"CAFE107,Caf\xe9 culture\n");
        } else {
            b.extend_from_slice(format!("CODE{i:03},Course {i}\n").as_bytes());
        }
    }
    b
}

/// (file, row, code) of an error.
type Expected = (String, Option<u64>, String);

/// One failing data folder per case of item 9, with the error it must report.
fn item9_cases(dir: &Path) -> Vec<(&'static str, PathBuf, Expected)> {
    let mk = |name: &str| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let err = |f: &str, row: Option<u64>, c: &str| (f.to_owned(), row, c.to_owned());
    let missing = mk("missing-column");
    std::fs::write(
        missing.join("users.csv"),
        "password,role,first_name,last_name\nStr0ng-Passw0rd-1,student,A,B\n",
    )
    .unwrap();
    std::fs::write(missing.join("courses.csv"), COURSES).unwrap();
    let no_header = mk("no-header");
    std::fs::write(no_header.join("courses.csv"), "").unwrap();
    let empty = mk("empty-folder");
    let dup = mk("duplicate-files");
    std::fs::write(dup.join("courses.csv"), COURSES).unwrap();
    std::fs::write(
        dup.join("courses.json"),
        r#"[{"course_code":"ART100","course_name":"Art"}]"#,
    )
    .unwrap();
    std::fs::write(dup.join("enrollments.csv"), "student_email,course_code\n").unwrap();
    let bad_byte = mk("bad-byte");
    std::fs::write(
        bad_byte.join("courses.csv"),
        courses_with_bad_byte_on_line_7(),
    )
    .unwrap();
    vec![
        (
            "missing column",
            missing,
            err("users.csv", None, "missing-column"),
        ),
        (
            "no header",
            no_header,
            err("courses.csv", None, "missing-column"),
        ),
        (
            "empty folder",
            empty.clone(),
            err(s(&empty), None, "no-data-files"),
        ),
        (
            "duplicate files",
            dup,
            err("courses.csv, courses.json", None, "duplicate-file"),
        ),
        (
            "bad byte mid-file",
            bad_byte,
            err("courses.csv", Some(7), "invalid-encoding"),
        ),
    ]
}

fn skip_invalid_never_skips_unread_rows(engine: Engine, name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, tmp.path(), name) else {
        return;
    };
    for (case, data, expected) in item9_cases(tmp.path()) {
        let rejects = tmp
            .path()
            .join(format!("rejects-{}", case.replace(' ', "-")));
        let o = import_skip_invalid(&url, &data, &rejects);
        assert_eq!(code(&o), 1, "{case}: must fail:\n{}", text(&o));
        let errs = errors(&o);
        assert!(errs.contains(&expected), "{case}: {errs:?}");
        all_zero(&url);
        no_rejects(&rejects);
    }
}

#[test]
fn sqlite_skip_invalid_never_skips_unread_rows() {
    skip_invalid_never_skips_unread_rows(Engine::Sqlite, "sqlite_skip_invalid_unread");
}

#[test]
fn postgres_skip_invalid_never_skips_unread_rows() {
    skip_invalid_never_skips_unread_rows(Engine::Postgres, "postgres_skip_invalid_unread");
}

/// `courses.csv` as something that is not a regular file.
fn not_regular_cases(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    let fifo = dir.join("fifo");
    std::fs::create_dir_all(&fifo).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(fifo.join("courses.csv"))
        .status()
        .expect("mkfifo");
    assert!(st.success());
    out.push(("FIFO", fifo));
    let folder = dir.join("folder");
    std::fs::create_dir_all(folder.join("courses.csv")).unwrap();
    out.push(("folder", folder));
    let dangling = dir.join("dangling");
    std::fs::create_dir_all(&dangling).unwrap();
    std::os::unix::fs::symlink(dir.join("nowhere.csv"), dangling.join("courses.csv")).unwrap();
    out.push(("dangling link", dangling));
    let zero = dir.join("zero");
    std::fs::create_dir_all(&zero).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero.join("courses.csv")).unwrap();
    out.push(("link to /dev/zero", zero));
    out
}

fn not_a_regular_file_is_unreadable(engine: Engine, name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, tmp.path(), name) else {
        return;
    };
    for (case, data) in not_regular_cases(tmp.path()) {
        std::fs::write(data.join("enrollments.csv"), "student_email,course_code\n").unwrap();
        let expected = ("courses.csv".to_owned(), None, "unreadable-file".to_owned());
        // The folder, on import (with and without --skip-invalid) and validate.
        for args in [
            vec!["import", "--data", s(&data), "--execute"],
            vec![
                "import",
                "--data",
                s(&data),
                "--execute",
                "--skip-invalid",
                "--rejects",
                s(tmp.path()),
            ],
            vec!["validate", "--data", s(&data)],
        ] {
            let mut args = args.clone();
            if args[0] == "import" {
                args.extend(["--database", url.as_str()]);
            }
            args.extend(["--format", "json"]);
            let t0 = Instant::now();
            let o = run_bounded(&args, LIMIT);
            assert_eq!(code(&o), 1, "{case} {args:?}:\n{}", text(&o));
            assert_eq!(
                errors(&o),
                std::slice::from_ref(&expected),
                "{case} {args:?}"
            );
            assert!(t0.elapsed() < Duration::from_secs(30), "{case}: bounded");
        }
        // The file itself, with --file (the audit checksum must not hang either).
        let file = data.join("courses.csv");
        let o = run_bounded(
            &[
                "import",
                "--file",
                s(&file),
                "--execute",
                "--database",
                &url,
                "--format",
                "json",
            ],
            LIMIT,
        );
        assert_eq!(code(&o), 1, "{case} --file:\n{}", text(&o));
        assert_eq!(errors(&o), std::slice::from_ref(&expected), "{case} --file");
        let o = run_bounded(&["validate", "--file", s(&file), "--format", "json"], LIMIT);
        assert_eq!(code(&o), 1, "{case} validate --file:\n{}", text(&o));
        assert_eq!(errors(&o), [expected], "{case} validate --file");
        all_zero(&url);
    }
}

#[test]
fn sqlite_not_a_regular_file_is_unreadable() {
    not_a_regular_file_is_unreadable(Engine::Sqlite, "sqlite_not_regular");
}

#[test]
fn postgres_not_a_regular_file_is_unreadable() {
    not_a_regular_file_is_unreadable(Engine::Postgres, "postgres_not_regular");
}

/// Issue 10 item 22: a file of broken rows gave one issue per row (1.7 GB of memory and a 1 GB
/// JSON report for 7.7 MB). The report keeps the first 1,000 issues per file and code and
/// counts the rest, in the JSON (`suppressed`) and the human summary.
#[test]
fn issues_are_capped_per_file_and_code() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut courses = String::from("course_code,course_name\n");
    for i in 0..5_000 {
        courses.push_str(&format!("C{i},one,field,too,many\n"));
    }
    courses.push_str("GOOD101,Fine\n");
    std::fs::write(data.join("courses.csv"), courses).unwrap();
    let o = run_bounded(&["validate", "--data", s(&data), "--format", "json"], LIMIT);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let r = report_of(&o);
    let listed = r["issues"].as_array().unwrap();
    assert_eq!(listed.len(), 1_000);
    assert!(listed.iter().all(|i| i["code"] == "malformed-row"));
    assert_eq!(listed[999]["row"], 1_001, "the first ones are listed");
    assert_eq!(r["suppressed"][0]["file"], "courses.csv");
    assert_eq!(r["suppressed"][0]["code"], "malformed-row");
    assert_eq!(r["suppressed"][0]["count"], 4_000);
    assert_eq!(r["files"][0]["rows"], 5_001);
    assert_eq!(r["files"][0]["invalid"], 5_000);

    let o = run_bounded(&["validate", "--data", s(&data)], LIMIT);
    assert_eq!(code(&o), 1);
    let out = text(&o);
    assert!(
        out.contains("error[malformed-row] ... and 4000 more like this"),
        "{out}"
    );
    assert!(out.contains("FAILED: 5000 error(s)"), "{out}");
    assert_eq!(out.matches("error[malformed-row]").count(), 1_001, "{out}");
}
