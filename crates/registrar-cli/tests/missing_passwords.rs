//! Issue 12, item 5: accounts without passwords. A users export with no password columns
//! imports with `--missing-password reset` (no usable password, flagged for reset; `check`
//! passes, `verify-logins` says "reset required, no password") and with `--missing-password
//! generate --credentials-out FILE` (a random temporary password per account, argon2id-hashed,
//! written once to a 0600 file only when the run commits, logging in through `verify-logins
//! --credentials`). No generated password appears anywhere but the credentials file: stdout,
//! stderr, the JSON and HTML reports, the audit log, rejects files, and the database (its
//! SQLite file, and a backup of either engine) are searched for each one. Both engines.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A users export as an SIS writes it: no password columns at all.
const USERS: &str = "email,role,first_name,last_name,is_active\n\
    ana.ruiz@lincoln.example.org,student,Ana,Ruiz,Active\n\
    ben.ode@lincoln.example.org,student,Ben,Ode,enabled\n\
    cy.lund@lincoln.example.org,teacher,Cy,Lund,yes\n";
const EMAILS: [&str; 3] = [
    "ana.ruiz@lincoln.example.org",
    "ben.ode@lincoln.example.org",
    "cy.lund@lincoln.example.org",
];

fn data(dir: &Path, name: &str, users: &str, extra: &[(&str, &str)]) -> PathBuf {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("users.csv"), users).unwrap();
    for (file, text) in extra {
        std::fs::write(d.join(file), text).unwrap();
    }
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// email → (password_hash, password_reset_required) of every user.
fn accounts(url: &str) -> HashMap<String, (String, bool)> {
    rt().block_on(async {
        let sql = "SELECT email, password_hash, password_reset_required FROM users";
        let rows: Vec<(String, String, bool)> = if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url).await.unwrap();
            let r = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.unwrap();
            let r = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        };
        rows.into_iter().map(|(e, h, r)| (e, (h, r))).collect()
    })
}

fn check_passes(url: &str) -> serde_json::Value {
    let o = run(&["check", "--database", url, "--format", "json"]);
    let v = json(&o);
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "non-argon2-passwords")
        .cloned()
        .unwrap();
    assert_eq!(c["passed"], true, "{v}");
    v
}

fn reset_end_to_end(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "missing_password_reset") else {
        return;
    };
    let d = data(dir.path(), "export", USERS, &[]);

    // Today's behaviour by default: the users file needs a password column, and the message
    // names the option.
    let o = run(&["validate", "--data", s(&d), "--format", "json"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v = json(&o);
    let missing = &v["issues"][0];
    assert_eq!(missing["code"], "missing-column", "{v}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("--missing-password reset or generate"),
        "{v}"
    );
    let o = run(&["import", "--data", s(&d), "--execute", "--database", &url]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(accounts(&url).is_empty());

    // reset: stored without a usable password, flagged.
    let o = run(&[
        "validate",
        "--data",
        s(&d),
        "--missing-password",
        "reset",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(json(&o)["missing_passwords"]["no_password"], 3);
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "reset",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["missing_passwords"]["no_password"], 3, "{v}");
    assert_eq!(v["files"][0]["inserted"], 3, "{v}");
    let got = accounts(&url);
    assert_eq!(got.len(), 3);
    for e in EMAILS {
        assert_eq!(
            got[e],
            (registrar::hashes::NO_PASSWORD.to_owned(), true),
            "{e}"
        );
    }
    let runs = audit_runs(&url);
    let last = runs.iter().max_by_key(|r| r.id).unwrap();
    assert_eq!(
        last.counts["missing_passwords"]["no_password"], 3,
        "{:?}",
        last.counts
    );

    // The human summary says what happened.
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--validate",
        "--database",
        &url,
        "--missing-password",
        "reset",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));

    // `check` passes (an account waiting for its reset is not an unusable password).
    let v = check_passes(&url);
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "non-argon2-passwords")
        .unwrap();
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("3 account(s) imported without a password"),
        "{c}"
    );

    // verify-logins: "reset required, no password", not failures; a password given for such
    // an account is not tried either.
    let o = run(&[
        "verify-logins",
        "--database",
        &url,
        "--file",
        s(&d.join("users.csv")),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["no_password"], 3, "{v}");
    assert_eq!(v["failed"].as_array().unwrap().len(), 0, "{v}");
    let tries = dir.path().join("tries.csv");
    std::fs::write(
        &tries,
        "email,password\nana.ruiz@lincoln.example.org,!\nben.ode@lincoln.example.org,Guess-Me-2026\n",
    )
    .unwrap();
    let o = run(&["verify-logins", "--database", &url, "--file", s(&tries)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(
        text(&o).contains("2 account(s): reset required, no password"),
        "{}",
        text(&o)
    );
    // Nothing ever verifies against the marker, and a login says so.
    assert!(!registrar::db::hash::verify_password(
        "!",
        registrar::hashes::NO_PASSWORD
    ));

    // A re-run changes nothing: the accounts keep their (missing) password.
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "reset",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["files"][0]["unchanged"], 3, "{v}");
    assert!(v.get("missing_passwords").is_none(), "{v}");
    assert_eq!(accounts(&url), got);
}

#[test]
fn sqlite_missing_password_reset_end_to_end() {
    reset_end_to_end(Engine::Sqlite);
}

#[test]
fn postgres_missing_password_reset_end_to_end() {
    reset_end_to_end(Engine::Postgres);
}

/// The credentials file: email → password, checking the header.
fn credentials(path: &Path) -> Vec<(String, String)> {
    let mut r = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        ["email", "temporary_password"]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[0].to_owned(), rec[1].to_owned())
        })
        .collect()
}

/// Every file under `dir` (recursively) except `skip`, as bytes.
fn files_under(dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p == skip {
            continue;
        }
        if p.is_dir() {
            files_under(&p, skip, out);
        } else {
            let mut bytes = std::fs::read(&p).unwrap_or_default();
            if p.extension().is_some_and(|x| x == "gz") {
                let mut text = Vec::new();
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut text)
                    .unwrap();
                bytes = text;
            }
            out.push((p, bytes));
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn generate_end_to_end(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "missing_password_generate") else {
        return;
    };
    let creds = dir.path().join("creds.csv");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut keep = |what: &str, o: &std::process::Output| {
        outputs.push((what.to_owned(), [&o.stdout[..], &o.stderr[..]].concat()));
    };

    let o = run(&["init", "--database", &url]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // generate without --credentials-out: an argument error, nothing written.
    let d = data(dir.path(), "export", USERS, &[]);
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "generate",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("--credentials-out"), "{}", text(&o));
    assert!(accounts(&url).is_empty());

    // A validate run and a failing run leave no credentials file.
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--validate",
        "--database",
        &url,
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    keep("import --validate", &o);
    assert!(!creds.exists());
    let broken = data(
        dir.path(),
        "broken",
        USERS,
        &[(
            "enrollments.csv",
            "student_email,course_code\nana.ruiz@lincoln.example.org,NOPE1\n",
        )],
    );
    let o = run(&[
        "import",
        "--data",
        s(&broken),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds),
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    keep("failed import", &o);
    assert!(
        !creds.exists(),
        "a run that wrote nothing leaves no credentials file"
    );
    assert!(accounts(&url).is_empty());

    // With --skip-invalid, the invalid user goes to a rejects file and the others import.
    let users = format!("{USERS}dee@lincoln.example.org,janitor,Dee,Oak,\n");
    let d = data(dir.path(), "export2", &users, &[]);
    let rejects = dir.path().join("rejects");
    let html = dir.path().join("report.html");
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds),
        "--skip-invalid",
        "--rejects",
        s(&rejects),
        "--report",
        s(&html),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    keep("import --execute", &o);
    let v = json(&o);
    assert_eq!(v["missing_passwords"]["generated"], 3, "{v}");
    assert!(rejects.join("users.csv.rejects.csv").exists());

    // The credentials file: 0600, one line per account, strong unambiguous passwords.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let generated = credentials(&creds);
    let emails: Vec<&str> = generated.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(emails, EMAILS);
    for (_, p) in &generated {
        assert!(p.len() >= 16, "{} characters", p.len());
        assert!(p
            .bytes()
            .all(|b| registrar::credentials::ALPHABET.contains(&b)));
    }
    let mut distinct: Vec<&str> = generated.iter().map(|(_, p)| p.as_str()).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3);

    // argon2id-hashed, flagged for reset.
    let got = accounts(&url);
    for (email, p) in &generated {
        let (hash, reset) = &got[email];
        assert!(hash.starts_with("$argon2id$"), "{email}");
        assert!(*reset, "{email} is flagged password_reset_required");
        assert!(registrar::db::hash::verify_password(p, hash), "{email}");
    }

    // verify-logins --credentials proves every generated password logs in.
    let o = run(&[
        "verify-logins",
        "--database",
        &url,
        "--credentials",
        s(&creds),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    keep("verify-logins --credentials", &o);
    let v = json(&o);
    assert_eq!(v["passed"], 3, "{v}");
    assert_eq!(v["failed"].as_array().unwrap().len(), 0, "{v}");

    // The file is written once: a second run refuses to overwrite it (exit 2, nothing
    // written), and a re-run with a new file generates nothing for existing accounts.
    let before = std::fs::read(&creds).unwrap();
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds),
        "--skip-invalid",
        "--rejects",
        s(&rejects),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    keep("import refusing to overwrite", &o);
    assert_eq!(std::fs::read(&creds).unwrap(), before);
    let creds2 = dir.path().join("creds2.csv");
    let o = run(&[
        "import",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds2),
        "--skip-invalid",
        "--rejects",
        s(&rejects),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    keep("re-run", &o);
    assert!(!creds2.exists(), "nothing generated, no file");
    assert_eq!(
        accounts(&url),
        got,
        "existing accounts keep their passwords"
    );

    // Everything else the runs wrote or hold.
    for args in [
        vec!["audit", "--database", url.as_str(), "--format", "json"],
        vec!["stats", "--database", url.as_str(), "--format", "json"],
        vec!["check", "--database", url.as_str(), "--format", "json"],
    ] {
        let o = run(&args);
        keep(args[0], &o);
    }
    let backup = dir.path().join("after.registrar.gz");
    let o = run(&["backup", "--database", &url, "--out", s(&backup)]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    keep("backup", &o);
    let mut files = Vec::new();
    files_under(dir.path(), &creds, &mut files);
    assert!(files.iter().any(|(p, _)| p == &html));
    assert!(files.iter().any(|(p, _)| p == &backup));
    for (p, bytes) in files {
        outputs.push((p.display().to_string(), bytes));
    }
    // The database's own text: every column but the hash.
    let text_columns = rt().block_on(async {
        let sql = "SELECT email, role, first_name, last_name FROM users";
        let rows: Vec<(String, String, String, String)> = if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(&url).await.unwrap();
            let r = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        } else {
            let pool = sqlx::postgres::PgPool::connect(&url).await.unwrap();
            let r = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            r
        };
        format!("{rows:?}")
    });
    outputs.push(("users table".into(), text_columns.into_bytes()));
    for (_, p) in &generated {
        for (what, bytes) in &outputs {
            assert!(
                !contains(bytes, p),
                "a generated password ({:.3}…) is in {what}",
                p
            );
        }
    }
    // The credentials file does hold them (the search above would find them).
    let all = std::fs::read(&creds).unwrap();
    assert!(generated.iter().all(|(_, p)| contains(&all, p)));
}

#[test]
fn sqlite_missing_password_generate_end_to_end() {
    generate_end_to_end(Engine::Sqlite);
}

#[test]
fn postgres_missing_password_generate_end_to_end() {
    generate_end_to_end(Engine::Postgres);
}

/// `migrate --missing-password generate`: the runbook writes the credentials file with its
/// commit, and its integrity checks pass with accounts awaiting a reset.
fn migrate_generates(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "missing_password_migrate") else {
        return;
    };
    // The runbook needs an active admin: one with a password of their own, the others none.
    let users = "email,password,role,first_name,last_name\n\
        head@lincoln.example.org,Quartz-Lantern-91,admin,Hed,Mast\n\
        ana.ruiz@lincoln.example.org,,student,Ana,Ruiz\n\
        ben.ode@lincoln.example.org,,student,Ben,Ode\n\
        cy.lund@lincoln.example.org,,teacher,Cy,Lund\n";
    let d = data(dir.path(), "export", users, &[]);
    let creds = dir.path().join("creds.csv");
    let o = run(&[
        "migrate",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--backup-dir",
        s(&dir.path().join("backups")),
        "--missing-password",
        "generate",
        "--format",
        "json",
    ]);
    assert_eq!(
        code(&o),
        2,
        "generate needs --credentials-out: {}",
        text(&o)
    );
    let o = run(&[
        "migrate",
        "--data",
        s(&d),
        "--execute",
        "--database",
        &url,
        "--backup-dir",
        s(&dir.path().join("backups")),
        "--missing-password",
        "generate",
        "--credentials-out",
        s(&creds),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let generated = credentials(&creds);
    let emails: Vec<&str> = generated.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(emails, EMAILS, "only the accounts without a password");
    for (_, p) in &generated {
        assert!(!contains(&o.stdout, p) && !contains(&o.stderr, p));
    }
    let got = accounts(&url);
    assert_eq!(got.len(), 4);
    assert!(got.values().all(|(h, _)| h.starts_with("$argon2id$")));
    for e in EMAILS {
        assert!(got[e].1, "{e} is flagged password_reset_required");
    }
    assert!(
        !got["head@lincoln.example.org"].1,
        "the admin keeps their own password"
    );
    check_passes(&url);
}

#[test]
fn sqlite_migrate_with_generated_passwords() {
    migrate_generates(Engine::Sqlite);
}

#[test]
fn postgres_migrate_with_generated_passwords() {
    migrate_generates(Engine::Postgres);
}
