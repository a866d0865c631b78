//! Values read right and secrets kept (issue 10, items 3, 13, 15, 16, 17, 18, 19), through the
//! real `registrar` binary on both engines where a database is involved.

mod common;

use common::*;
use std::path::Path;

/// Runs SQL statements on either engine (as an SMS would have written the rows).
fn sql(url: &str, statements: &[&str]) {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            for s in statements {
                sqlx::query(s).execute(&pool).await.expect("sql");
            }
            pool.close().await;
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            for s in statements {
                sqlx::query(s).execute(&pool).await.expect("sql");
            }
            pool.close().await;
        }
    })
}

/// The emails stored, sorted.
fn emails(url: &str) -> Vec<String> {
    rt().block_on(async {
        let mut v: Vec<String> = if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            let v = sqlx::query_scalar("SELECT email FROM users")
                .fetch_all(&pool)
                .await
                .expect("sql");
            pool.close().await;
            v
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            let v = sqlx::query_scalar("SELECT email FROM users")
                .fetch_all(&pool)
                .await
                .expect("sql");
            pool.close().await;
            v
        };
        v.sort();
        v
    })
}

fn check_json(url: &str) -> (i32, serde_json::Value) {
    let o = run(&["check", "--database", url, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("check output is not JSON ({e}):\n{}", text(&o)));
    (code(&o), v)
}

fn training_left(v: &serde_json::Value) -> i64 {
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "training-accounts-left")
        .expect("the training check")["count"]
        .as_i64()
        .expect("count")
}

// -- item 3 -----------------------------------------------------------------------------------

fn training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "training_case") else {
        return;
    };
    import_ok(&url, &write_base(dir.path()));
    let h = one_hash();
    let odd = [
        "Admin1@School.edu",
        " admin2@school.edu",
        "TEACHER1@SCHOOL.EDU",
        "student7@school.edu ",
    ];
    let inserts: Vec<String> = odd
        .iter()
        .map(|e| format!("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('{e}', '{h}', 'teacher', 'T', 'A')"))
        .collect();
    sql(
        &url,
        &inserts.iter().map(String::as_str).collect::<Vec<_>>(),
    );

    let (c, v) = check_json(&url);
    assert_eq!(training_left(&v), 4, "{v}");
    assert_ne!(
        c, 0,
        "check must fail while training accounts are left: {v}"
    );

    // The runbook's dry run sees them too.
    let o = run(&[
        "migrate",
        "--data",
        write_base(dir.path()).to_str().unwrap(),
        "--database",
        &url,
        "--clean-training-data",
        "--validate",
        "--backup-dir",
        dir.path().join("backups").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        text(&o).contains("4 training user(s)"),
        "migrate --clean-training-data plan:\n{}",
        text(&o)
    );

    let o = run(&["clean", "--execute", "--database", &url, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let left = emails(&url);
    for e in odd {
        assert!(
            !left.iter().any(|l| l == e),
            "{e:?} survived clean: {left:?}"
        );
    }
    assert_eq!(left.len(), 4, "{left:?}");
    let (c, v) = check_json(&url);
    assert_eq!(training_left(&v), 0, "{v}");
    assert_eq!(c, 0, "{v}");
}

#[test]
fn sqlite_training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned() {
    training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(Engine::Sqlite);
}

#[test]
fn postgres_training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned() {
    training_accounts_in_another_case_or_with_spaces_are_found_and_cleaned(Engine::Postgres);
}

fn write(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

fn set_password(url: &str, email: &str, stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = bin()
        .args(["set-password", "--database", url, "--email", email])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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

fn validate_json(data: &Path) -> (i32, serde_json::Value, String) {
    let o = run(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("validate output is not JSON ({e}):\n{}", text(&o)));
    (code(&o), v, text(&o))
}

fn issues_with<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter(|i| i["code"] == code)
        .collect()
}

// -- items 15 and 16 --------------------------------------------------------------------------

const SWAPPED_PW: &str = "Swapped-Pass-88!";
const BOM_PW: &str = "Bom-Header-Pass-31!";

/// A users file whose password header is ` \u{feff}password` (space, then a BOM), with a
/// formula header cell, one row of a bad role and one row whose email and password are swapped.
fn hostile_users(dir: &Path) -> std::path::PathBuf {
    let d = dir.join("hostile");
    write(
        &d,
        "users.csv",
        &format!(
            "email, \u{feff}password,role,first_name,last_name,\"=HYPERLINK(\"\"http://x.example\"\",\"\"y\"\")\"\n\
             head@realschool.org,Admin-Ada-Pass-1,admin,Ada,Head,\n\
             bad@realschool.org,{BOM_PW},janitor,Bad,Role,\n\
             {SWAPPED_PW},zed@realschool.org,student,Zed,Swapped,\n"
        ),
    );
    d
}

fn rejects_hold_no_password_and_guard_header_cells(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "rejects_header") else {
        return;
    };
    let data = hostile_users(dir.path());
    let rejects = dir.path().join("rejects");
    let o = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        "--skip-invalid",
        "--rejects",
        rejects.to_str().unwrap(),
        "--execute",
        "--database",
        &url,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let all = text(&o);
    assert!(!all.contains(BOM_PW) && !all.contains(SWAPPED_PW), "{all}");
    let body = std::fs::read_to_string(rejects.join("users.csv.rejects.csv")).unwrap();
    assert!(
        !body.contains(BOM_PW),
        "plain password in the rejects file:\n{body}"
    );
    assert!(
        !body.contains(SWAPPED_PW),
        "swapped password in the rejects file:\n{body}"
    );
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert!(header[5].starts_with("'=HYPERLINK"), "{header:?}");
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{body}");
    // The bad-role row: the password cell is blank.
    assert_eq!(&rows[0][0], "bad@realschool.org");
    assert_eq!(&rows[0][1], "");
    assert_eq!(&rows[0][2], "janitor");
    // The swapped row: the email cell (holding the password) is blank, the password cell too,
    // and the error column says where the value is.
    assert_eq!(&rows[1][0], "", "{body}");
    assert_eq!(&rows[1][1], "");
    assert_eq!(&rows[1][3], "Zed");
    let error = &rows[1][6];
    assert!(error.contains("invalid-email"), "{error}");
    assert!(
        error.contains("left blank") && error.contains("row 4 of users.csv"),
        "{error}"
    );
}

#[test]
fn sqlite_rejects_hold_no_password_and_guard_header_cells() {
    rejects_hold_no_password_and_guard_header_cells(Engine::Sqlite);
}

#[test]
fn postgres_rejects_hold_no_password_and_guard_header_cells() {
    rejects_hold_no_password_and_guard_header_cells(Engine::Postgres);
}

fn verify_logins_never_prints_a_value_that_fails_the_email_rule(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "verify_swapped") else {
        return;
    };
    import_ok(&url, &write_base(dir.path()));
    let users = hostile_users(dir.path()).join("users.csv");
    for fmt in ["human", "json"] {
        let o = run(&[
            "verify-logins",
            "--database",
            &url,
            "--file",
            users.to_str().unwrap(),
            "--format",
            fmt,
        ]);
        let all = text(&o);
        assert_eq!(code(&o), 1, "{all}");
        assert!(
            !all.contains(SWAPPED_PW),
            "verify-logins printed a password:\n{all}"
        );
        assert!(!all.contains(BOM_PW), "{all}");
        assert!(all.contains("(not shown)"), "{all}");
        assert!(all.contains("head@realschool.org"), "{all}");
    }
}

#[test]
fn sqlite_verify_logins_never_prints_a_value_that_fails_the_email_rule() {
    verify_logins_never_prints_a_value_that_fails_the_email_rule(Engine::Sqlite);
}

#[test]
fn postgres_verify_logins_never_prints_a_value_that_fails_the_email_rule() {
    verify_logins_never_prints_a_value_that_fails_the_email_rule(Engine::Postgres);
}

// -- item 17 ----------------------------------------------------------------------------------

#[test]
fn a_database_password_with_an_unencoded_at_or_slash_is_never_printed() {
    for url in [
        "postgres://app:Blue@2024/Blue@127.0.0.1:1/reg",
        "postgres://app:Pa/ss@word9@127.0.0.1:1/reg?sslmode=disable",
    ] {
        let o = run(&["check", "--database", url]);
        let all = text(&o);
        assert_eq!(code(&o), 2, "{all}");
        for piece in ["2024", "Blue@", "Pa/ss", "word9"] {
            assert!(!all.contains(piece), "{url}: {piece} printed:\n{all}");
        }
        assert!(all.contains("app:***@127.0.0.1"), "{all}");
    }
}

// -- item 18 ----------------------------------------------------------------------------------

#[test]
fn a_password_with_a_leading_or_trailing_space_warns_without_quoting_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("ws");
    write(
        &d,
        "users.csv",
        "email, password,role,first_name,last_name\n\
         ann@realschool.org, Lead-Space-Pass-1,admin,Ann,A\n\
         bob@realschool.org,Trail-Space-Pass-2 ,student,Bob,B\n\
         cat@realschool.org,No-Space-Pass-3,student,Cat,C\n",
    );
    let (c, v, all) = validate_json(&d);
    assert_eq!(c, 0, "a warning does not fail validation: {all}");
    let w = issues_with(&v, "password-whitespace");
    let rows: Vec<i64> = w.iter().map(|i| i["row"].as_i64().unwrap()).collect();
    assert_eq!(rows, [2, 3], "{v}");
    for i in &w {
        assert_eq!(i["severity"], "warning");
        assert_eq!(i["column"], "password");
    }
    for secret in ["Lead-Space-Pass-1", "Trail-Space-Pass-2"] {
        assert!(!all.contains(secret), "{all}");
    }
}

// -- item 19 ----------------------------------------------------------------------------------

const ABSURD_TAIL: &str = "$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

#[test]
fn a_prehashed_password_with_absurd_argon2_parameters_is_refused_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("absurd");
    write(
        &d,
        "users.csv",
        &format!(
            "email,password_hash,role,first_name,last_name\n\
             ann@realschool.org,\"$argon2id$v=19$m=4194304,t=4294967295,p=1{ABSURD_TAIL}\",admin,Ann,A\n"
        ),
    );
    let (c, v, all) = validate_json(&d);
    assert_eq!(c, 1, "{all}");
    // Since issue 14 an over-costly hash has its own code (it was invalid-hash).
    let i = issues_with(&v, "hash-too-costly");
    assert_eq!(i.len(), 1, "{v}");
    assert_eq!(i[0]["row"], 2);
    assert!(
        !all.contains(ABSURD_TAIL) && !all.contains("c29tZXNhbHRz"),
        "{all}"
    );
}

fn absurd_stored_hashes_are_refused_by_verify_logins_and_set_password(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "absurd_hash") else {
        return;
    };
    import_ok(&url, &write_base(dir.path()));
    sql(
        &url,
        &[&format!("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('slow@realschool.org', '$argon2id$v=19$m=4194304,t=4294967295,p=1{ABSURD_TAIL}', 'student', 'S', 'Low')")],
    );
    let users = write(
        &dir.path().join("login"),
        "users.csv",
        "email,password\nslow@realschool.org,Some-Login-Pass-4\n",
    );
    let start = std::time::Instant::now();
    let o = run(&[
        "verify-logins",
        "--database",
        &url,
        "--file",
        users.to_str().unwrap(),
    ]);
    let all = text(&o);
    assert_eq!(code(&o), 1, "{all}");
    assert!(all.contains("caps"), "{all}");
    let o = set_password(
        &url,
        "slow@realschool.org",
        "Some-Login-Pass-4\nA-New-Pass-5-x\n",
    );
    let all = text(&o);
    assert_eq!(code(&o), 1, "{all}");
    assert!(all.contains("too high"), "{all}");
    assert!(!all.contains(ABSURD_TAIL), "{all}");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn sqlite_absurd_stored_hashes_are_refused_by_verify_logins_and_set_password() {
    absurd_stored_hashes_are_refused_by_verify_logins_and_set_password(Engine::Sqlite);
}

#[test]
fn postgres_absurd_stored_hashes_are_refused_by_verify_logins_and_set_password() {
    absurd_stored_hashes_are_refused_by_verify_logins_and_set_password(Engine::Postgres);
}

// -- item 13 ----------------------------------------------------------------------------------

/// The first value of a query (a text or a float column).
fn scalar_text(url: &str, q: &str) -> String {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            let v: String = sqlx::query_scalar(q).fetch_one(&pool).await.expect("sql");
            pool.close().await;
            v
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            let v: String = sqlx::query_scalar(q).fetch_one(&pool).await.expect("sql");
            pool.close().await;
            v
        }
    })
}

fn scalar_f64(url: &str, q: &str) -> f64 {
    rt().block_on(async {
        if url.starts_with("sqlite:") {
            let pool = sqlx::sqlite::SqlitePool::connect(url)
                .await
                .expect("connect");
            let v: f64 = sqlx::query_scalar(q).fetch_one(&pool).await.expect("sql");
            pool.close().await;
            v
        } else {
            let pool = sqlx::postgres::PgPool::connect(url).await.expect("connect");
            let v: f64 = sqlx::query_scalar(q).fetch_one(&pool).await.expect("sql");
            pool.close().await;
            v
        }
    })
}

fn control_and_invisible_characters_are_refused_with_row_and_column(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "bad_chars") else {
        return;
    };
    let h = format!("\"{}\"", one_hash());
    let bad = dir.path().join("bad");
    write(
        &bad,
        "users.csv",
        &format!(
            "email,password_hash,role,first_name,last_name\n\
             ann@realschool.org,{h},admin,Ann,A\n\
             nul@realschool.org,{h},student,Nu\u{0}l,B\n\
             zw\u{200b}@realschool.org,{h},student,Zed,W\n\
             bidi@realschool.org\u{202e},{h},student,Bi,Di\n"
        ),
    );
    let o = run(&[
        "import",
        "--data",
        bad.to_str().unwrap(),
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(
        code(&o),
        1,
        "refused at validation, not by the database:\n{}",
        text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let got: Vec<(i64, String)> = issues_with(&v, "invalid-character")
        .iter()
        .map(|i| {
            (
                i["row"].as_i64().unwrap(),
                i["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "first_name".to_owned()),
            (4, "email".to_owned()),
            (5, "email".to_owned())
        ],
        "{v}"
    );
    assert!(emails(&url).is_empty(), "nothing is imported");
}

#[test]
fn sqlite_control_and_invisible_characters_are_refused_with_row_and_column() {
    control_and_invisible_characters_are_refused_with_row_and_column(Engine::Sqlite);
}

#[test]
fn postgres_control_and_invisible_characters_are_refused_with_row_and_column() {
    control_and_invisible_characters_are_refused_with_row_and_column(Engine::Postgres);
}

fn names_are_stored_in_nfc_and_minus_zero_as_zero(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "nfc_zero") else {
        return;
    };
    let h = format!("\"{}\"", one_hash());
    let d = dir.path().join("good");
    write(
        &d,
        "users.csv",
        &format!(
            "email,password_hash,role,first_name,last_name\n\
             head@realschool.org,{h},admin,Ada,Head\n\
             jose@realschool.org,{h},student,Jose\u{301},Nun\u{303}ez\n"
        ),
    );
    write(
        &d,
        "courses.csv",
        "course_code,course_name\nMATH1,Mathe\u{301}matiques\n",
    );
    write(
        &d,
        "enrollments.csv",
        "student_email,course_code\njose@realschool.org,MATH1\n",
    );
    write(
        &d,
        "grades.csv",
        "student_email,course_code,score\njose@realschool.org,MATH1,-0\n",
    );
    import_ok(&url, &d);
    assert_eq!(
        scalar_text(
            &url,
            "SELECT first_name FROM users WHERE email = 'jose@realschool.org'"
        ),
        "Jos\u{e9}"
    );
    assert_eq!(
        scalar_text(
            &url,
            "SELECT last_name FROM users WHERE email = 'jose@realschool.org'"
        ),
        "Nu\u{f1}ez"
    );
    assert_eq!(
        scalar_text(&url, "SELECT course_name FROM courses"),
        "Math\u{e9}matiques"
    );
    let score = scalar_f64(&url, "SELECT score FROM grades");
    assert_eq!(score, 0.0);
    assert!(score.is_sign_positive(), "-0 was stored as {score:?}");
}

#[test]
fn sqlite_names_are_stored_in_nfc_and_minus_zero_as_zero() {
    names_are_stored_in_nfc_and_minus_zero_as_zero(Engine::Sqlite);
}

#[test]
fn postgres_names_are_stored_in_nfc_and_minus_zero_as_zero() {
    names_are_stored_in_nfc_and_minus_zero_as_zero(Engine::Postgres);
}
