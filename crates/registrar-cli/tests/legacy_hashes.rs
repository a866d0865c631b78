//! Issue 14: passwords from old systems. The fixture (`tests/fixtures/legacy-hashes`, made by
//! Python's hashlib, glibc's crypt(3) and the bcrypt package) holds one account per scheme;
//! on both engines the import keeps every hash verbatim, `verify-logins` proves each with its
//! password, `registrar::login` upgrades each to argon2id (and the new hash verifies),
//! malformed and over-costly hashes get their codes, the policies do what they say, and no
//! hash or password appears in any output.

mod common;

use common::*;
use registrar::db::Database;
use registrar::model::Password;
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/legacy-hashes")
        .join(name)
}

fn rows(name: &str) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(fixture(name)).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// email → password_hash of a users fixture.
fn hashes(name: &str) -> Vec<(String, String)> {
    rows(name)
        .into_iter()
        .map(|r| (r["email"].clone(), r["password_hash"].clone()))
        .collect()
}

/// email → password of a logins fixture.
fn passwords(name: &str) -> Vec<(String, String)> {
    rows(name)
        .into_iter()
        .map(|r| (r["email"].clone(), r["password"].clone()))
        .collect()
}

/// Asserts that no salt or digest of `hashes`, and no password, is in `out`.
fn assert_secret_free(out: &str, what: &str) {
    let mut secrets: Vec<String> = Vec::new();
    for name in ["users.csv", "users-unsalted.csv", "users-bad.csv"] {
        for (_, h) in hashes(name) {
            secrets.extend(
                h.split('$')
                    .filter(|p| {
                        p.len() >= 12
                            && !["m=", "pbkdf2", "rounds="].iter().any(|x| p.starts_with(x))
                    })
                    .map(str::to_owned),
            );
        }
    }
    for name in ["logins.csv", "logins-unsalted.csv"] {
        secrets.extend(passwords(name).into_iter().map(|(_, p)| p));
    }
    secrets.push("hunter2-Secret-Value".into());
    for s in secrets {
        assert!(!out.contains(&s), "{what} shows a secret ({s:.4}…):\n{out}");
    }
}

fn f(name: &str) -> String {
    fixture(name).to_str().unwrap().to_owned()
}

fn stored(url: &str) -> HashMap<String, String> {
    rt().block_on(async {
        let db = Database::open(url).await.unwrap();
        let emails: Vec<String> = ["users.csv", "users-unsalted.csv"]
            .iter()
            .flat_map(|n| hashes(n).into_iter().map(|(e, _)| e))
            .collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        let mut pooled = db.acquire().await.unwrap();
        let m = registrar::db::inspect::password_hashes(&mut pooled.conn(), &refs)
            .await
            .unwrap();
        drop(pooled);
        db.close().await;
        m
    })
}

fn reset_flags(url: &str) -> i64 {
    rt().block_on(async {
        let db = Database::open(url).await.unwrap();
        let sql = "SELECT COUNT(*) FROM users WHERE password_reset_required";
        let n: i64 = match &db {
            Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        };
        db.close().await;
        n
    })
}

fn json(o: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn check(url: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["check", "--database", url, "--format", "json"];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_secret_free(&text(&o), "check");
    (code(&o), json(&o))
}

fn check_named<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {v}"))
}

fn legacy_hashes_kept_verified_and_upgraded(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "legacy_hashes_keep") else {
        return;
    };

    // Every salted scheme, kept verbatim.
    let o = run(&[
        "import",
        "--file",
        &f("users.csv"),
        "--entity",
        "users",
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_secret_free(&text(&o), "import");
    let report = json(&o);
    let schemes = &report["password_hashes"]["schemes"];
    assert_eq!(schemes["bcrypt"], 3, "{report}");
    assert_eq!(schemes["sha512-crypt"], 2, "{report}");
    for s in ["sha256-crypt", "md5-crypt", "ssha", "django-pbkdf2-sha256"] {
        assert_eq!(schemes[s], 1, "{s}: {report}");
    }
    assert_eq!(report["password_hashes"]["legacy"], 9, "{report}");
    let got = stored(&url);
    for (email, h) in hashes("users.csv") {
        assert_eq!(got.get(&email), Some(&h), "{email} not stored verbatim");
    }
    assert_eq!(reset_flags(&url), 0);
    let runs = audit_runs(&url);
    let counts = &runs.iter().max_by_key(|r| r.id).unwrap().counts["password_hashes"];
    assert_eq!(counts["policy"], "keep", "{counts}");
    assert_eq!(counts["legacy"], 9, "{counts}");

    // Unsalted digests: refused without the flag (nothing written), flagged with it.
    let o = run(&[
        "import",
        "--file",
        &f("users-unsalted.csv"),
        "--entity",
        "users",
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let codes: Vec<String> = json(&o)["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["unsalted-hash", "unsalted-hash"]);
    assert_secret_free(&text(&o), "import of unsalted digests");
    let o = run(&[
        "import",
        "--file",
        &f("users-unsalted.csv"),
        "--entity",
        "users",
        "--execute",
        "--database",
        &url,
        "--accept-unsalted-hashes",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert!(v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["code"] == "unsalted-hash" && i["severity"] == "warning"));
    assert_secret_free(&text(&o), "import --accept-unsalted-hashes");
    let got = stored(&url);
    for (email, h) in hashes("users-unsalted.csv") {
        assert_eq!(got.get(&email), Some(&h), "{email} not stored verbatim");
    }

    // verify-logins proves every account with its old password.
    for logins in ["logins.csv", "logins-unsalted.csv"] {
        let o = run(&["verify-logins", "--database", &url, "--file", &f(logins)]);
        assert_eq!(code(&o), 0, "{logins}: {}", text(&o));
        let n = passwords(logins).len();
        assert!(
            text(&o).contains(&format!("{n} of {n} sampled login(s) succeeded")),
            "{}",
            text(&o)
        );
        assert_secret_free(&text(&o), "verify-logins");
    }

    // check reports them, and fails on them only with --fail-on-legacy.
    let (c, v) = check(&url, &[]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(check_named(&v, "legacy-hashes-left")["count"], 11, "{v}");
    assert_eq!(check_named(&v, "non-argon2-passwords")["count"], 0, "{v}");
    let (c, v) = check(&url, &["--fail-on-legacy"]);
    assert_eq!(c, 1, "{v}");
    assert_eq!(check_named(&v, "legacy-hashes-left")["passed"], false);
    let o = run(&["stats", "--database", &url, "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["password_hashes"]["legacy"], 11, "{v}");
    assert_eq!(v["password_hashes"]["schemes"]["md5-hex"], 1, "{v}");

    // The first login upgrades each account to argon2id; the new hash verifies.
    rt().block_on(async {
        let db = Database::open(&url).await.unwrap();
        for (email, pw) in passwords("logins.csv")
            .into_iter()
            .chain(passwords("logins-unsalted.csv"))
        {
            let pw = Password::new(pw);
            let wrong = Password::new(format!("{}!", pw.expose_secret()));
            let v = registrar::login::verify_and_upgrade_in(&db, &email, &wrong)
                .await
                .unwrap();
            assert!(!v.ok && v.upgraded.is_none(), "{email}");
            let v = registrar::login::verify_and_upgrade_in(&db, &email, &pw)
                .await
                .unwrap();
            assert!(v.ok, "{email}");
            let new = v.upgraded.clone().expect("a legacy hash is upgraded");
            assert!(
                new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
                "{email}"
            );
            assert!(
                registrar::login::verify_and_upgrade(pw.expose_secret(), &new)
                    .unwrap()
                    .ok
            );
            let again = registrar::login::verify_and_upgrade_in(&db, &email, &pw)
                .await
                .unwrap();
            assert!(
                again.ok && again.upgraded.is_none(),
                "{email}: upgraded twice"
            );
        }
        let v =
            registrar::login::verify_and_upgrade_in(&db, "nobody@example.org", &Password::new("x"))
                .await
                .unwrap();
        assert!(!v.ok);
        db.close().await;
    });
    let got = stored(&url);
    assert!(got.values().all(|h| h.starts_with("$argon2id$")), "{got:?}");
    for logins in ["logins.csv", "logins-unsalted.csv"] {
        let o = run(&["verify-logins", "--database", &url, "--file", &f(logins)]);
        assert_eq!(code(&o), 0, "{logins} after the upgrade: {}", text(&o));
    }
    let (c, v) = check(&url, &["--fail-on-legacy"]);
    assert_eq!(c, 0, "{v}");
    assert_eq!(check_named(&v, "legacy-hashes-left")["count"], 0, "{v}");
}

#[test]
fn sqlite_legacy_hashes_are_kept_verified_and_upgraded() {
    legacy_hashes_kept_verified_and_upgraded(Engine::Sqlite);
}

#[test]
fn postgres_legacy_hashes_are_kept_verified_and_upgraded() {
    legacy_hashes_kept_verified_and_upgraded(Engine::Postgres);
}

fn policies_and_refusals(engine: Engine) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = fresh(engine, dir.path(), "legacy_hashes_policies") else {
        return;
    };

    // Malformed and over-costly hashes: their codes on their rows, nothing written.
    let o = run(&[
        "import",
        "--file",
        &f("users-bad.csv"),
        "--entity",
        "users",
        "--execute",
        "--database",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert_secret_free(&text(&o), "import of bad hashes");
    let v = json(&o);
    let issues = v["issues"].as_array().unwrap();
    for (i, r) in rows("users-bad.csv").iter().enumerate() {
        let row = i as u64 + 2;
        let got: Vec<&str> = issues
            .iter()
            .filter(|x| x["row"] == row)
            .map(|x| x["code"].as_str().unwrap())
            .collect();
        assert_eq!(got, [r["expected_code"].as_str()], "row {row}: {v}");
    }
    assert!(stored(&url).is_empty());
    // The human output too.
    let o = run(&[
        "validate",
        "--file",
        &f("users-bad.csv"),
        "--entity",
        "users",
    ]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).contains("error[hash-too-costly]"), "{}", text(&o));
    assert_secret_free(&text(&o), "validate of bad hashes");

    // --legacy-hashes refuse: every legacy row is an error.
    let o = run(&[
        "import",
        "--file",
        &f("users.csv"),
        "--entity",
        "users",
        "--validate",
        "--database",
        &url,
        "--legacy-hashes",
        "refuse",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let v = json(&o);
    let refused = v["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["code"] == "legacy-hash-refused")
        .count();
    assert_eq!(refused, hashes("users.csv").len(), "{v}");
    assert_secret_free(&text(&o), "import --legacy-hashes refuse");

    // --legacy-hashes reset: kept verbatim, every account flagged, the decision audited.
    let o = run(&[
        "import",
        "--file",
        &f("users.csv"),
        "--entity",
        "users",
        "--execute",
        "--database",
        &url,
        "--legacy-hashes",
        "reset",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["password_hashes"]["reset_required"], 9, "{v}");
    assert_eq!(reset_flags(&url), 9);
    let got = stored(&url);
    for (email, h) in hashes("users.csv") {
        assert_eq!(got.get(&email), Some(&h));
    }
    let runs = audit_runs(&url);
    let counts = &runs.iter().max_by_key(|r| r.id).unwrap().counts["password_hashes"];
    assert_eq!(counts["policy"], "reset", "{counts}");
    assert_eq!(counts["reset_required"], 9, "{counts}");
    // An upgrade at login keeps the reset flag (the SMS still asks for a new password).
    rt().block_on(async {
        let db = Database::open(&url).await.unwrap();
        let (email, pw) = passwords("logins.csv").remove(0);
        let v = registrar::login::verify_and_upgrade_in(&db, &email, &Password::new(pw))
            .await
            .unwrap();
        assert!(v.ok && v.upgraded.is_some());
        db.close().await;
    });
    assert_eq!(reset_flags(&url), 9);
}

#[test]
fn sqlite_legacy_hash_policies_and_refusals() {
    policies_and_refusals(Engine::Sqlite);
}

#[test]
fn postgres_legacy_hash_policies_and_refusals() {
    policies_and_refusals(Engine::Postgres);
}
