//! Issue 14 through the facade: `Migration::hash_policy` (keep, reset, refuse), the report's
//! counts per scheme, and `registrar::login` on both engines, on the fixture of one account per
//! legacy scheme (`tests/fixtures/legacy-hashes`, made by Python's hashlib, glibc's crypt(3)
//! and the bcrypt package). The CLI side is `crates/registrar-cli/tests/legacy_hashes.rs`.

use registrar::db::testing::{fresh_postgres, fresh_sqlite};
use registrar::db::Database;
use registrar::hashes::{HashPolicy, LegacyHashes};
use registrar::model::{Entity, Password};
use registrar::Migration;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/legacy-hashes")
        .join(name)
}

/// (email, password) of `logins.csv`.
fn logins() -> Vec<(String, String)> {
    std::fs::read_to_string(fixture("logins.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (e, p) = l.split_once(',').unwrap();
            (e.to_owned(), p.to_owned())
        })
        .collect()
}

async fn reset_flags(db: &Database) -> i64 {
    let sql = "SELECT COUNT(*) FROM users WHERE password_reset_required";
    match db {
        Database::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Database::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

fn policy(legacy: LegacyHashes) -> HashPolicy {
    HashPolicy {
        legacy,
        accept_unsalted: false,
    }
}

async fn migration_policies_and_login(url: String) {
    let users = fixture("users.csv");
    // refuse: every row is an error, nothing written.
    let report = Migration::new(&url)
        .file(&users, Some(Entity::Users))
        .hash_policy(policy(LegacyHashes::Refuse))
        .execute()
        .await
        .unwrap();
    assert!(!report.is_ok());
    assert!(report
        .issues
        .iter()
        .all(|i| i.code.as_str() == "legacy-hash-refused"));
    // reset: kept, flagged, counted.
    let report = Migration::new(&url)
        .file(&users, Some(Entity::Users))
        .hash_policy(policy(LegacyHashes::Reset))
        .execute()
        .await
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    let h = &report.password_hashes;
    assert_eq!((h.legacy, h.reset_required), (9, 9), "{h:?}");
    assert_eq!(h.schemes["bcrypt"], 3);
    assert_eq!(h.schemes.values().sum::<u64>(), 9);
    let db = Database::open(&url).await.unwrap();
    assert_eq!(reset_flags(&db).await, 9);
    // Each first login upgrades to argon2id; the flag stays.
    for (email, pw) in logins() {
        let pw = Password::new(pw);
        let v = registrar::login::verify_and_upgrade_in(&db, &email, &pw)
            .await
            .unwrap();
        let new = v.upgraded.clone().unwrap_or_else(|| panic!("{email}"));
        assert!(v.ok && !registrar::login::is_legacy(&new), "{email}");
        assert!(
            registrar::login::verify_and_upgrade(pw.expose_secret(), &new)
                .unwrap()
                .ok
        );
    }
    assert_eq!(reset_flags(&db).await, 9);
    let mut pooled = db.acquire().await.unwrap();
    let census = registrar::checks::hash_census_on(&mut pooled.conn())
        .await
        .unwrap();
    assert_eq!((census.legacy, census.schemes["argon2id"]), (0, 9));
    drop(pooled);
    // A stored value that cannot be checked is an error that names no scheme.
    let e = registrar::login::verify_and_upgrade(
        "pw",
        "$2b$17$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0",
    )
    .unwrap_err();
    assert!(
        !e.to_string().contains("bcrypt") && !e.to_string().contains("abcdef"),
        "{e}"
    );
    db.close().await;
}

#[tokio::test]
async fn sqlite_migration_hash_policies_and_login_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    migration_policies_and_login(fresh_sqlite(dir.path())).await;
}

#[tokio::test]
async fn postgres_migration_hash_policies_and_login_upgrade() {
    let Some(url) = fresh_postgres("migration_hash_policies").await else {
        return;
    };
    migration_policies_and_login(url).await;
}
