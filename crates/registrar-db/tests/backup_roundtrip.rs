//! Backup → restore round trips on SQLite, on PostgreSQL and across engines (SPEC §6).

#[path = "backup_common/mod.rs"]
mod common;

use common::*;
use registrar_db::backup::{backup, restore, table_checksums, verify_backup};
use registrar_db::Database;

async fn round_trip(a: &Database, b: &Database, dir: &std::path::Path) {
    populated(a).await;
    add_external_ids(a).await;
    let before = table_checksums(a).await.unwrap();
    let rows: Vec<u64> = before.iter().map(|t| t.rows).collect();
    assert_eq!(rows, vec![18 + 4, 5 + 2, 3 + 3, 1 + 3, 1 + 2, 3, 3]);
    let names: Vec<&str> = before.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(names, registrar_db::backup::BACKUP_TABLES);
    let (ids, links) = (sis_ids(a).await, teacher_links(a).await);
    assert_eq!(
        ids,
        [
            "sam@realschool.org|O'Brien-Ü 7",
            "terry@realschool.org|T-1",
            "zoe@realschool.org|S-0042"
        ]
    );
    assert_eq!(
        links,
        [
            "ENG201|principal@realschool.org|teacher",
            "ENG201|terry@realschool.org|aide",
            "MATH101|terry@realschool.org|teacher"
        ]
    );
    let file = dir.join("a.backup.gz");
    let s = backup(a, &file).await.unwrap();
    assert_eq!(s.tables, before);
    assert_eq!(s.engine, a.engine().as_str());
    assert_eq!(s.schema_version, registrar_db::SCHEMA_VERSION);

    // b holds other data, which the restore replaces.
    exec(b, &[&format!("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('gone@x.org', '{FAKE_HASH}', 'viewer', 'G', 'One')"),
        "INSERT INTO registrar_user_sis_ids (user_id, sis_id) VALUES ((SELECT id FROM users WHERE email = 'gone@x.org'), 'S-0042')"]).await;
    let r = restore(b, &file).await.unwrap();
    assert_eq!(r.tables, before);
    assert!(r.missing_tables().is_empty());
    assert_eq!(table_checksums(b).await.unwrap(), before);
    // The external ids and teacher links are back exactly (the target's own one is gone).
    assert_eq!(sis_ids(b).await, ids);
    assert_eq!(teacher_links(b).await, links);
    assert_eq!(
        count(b, "SELECT COUNT(*) FROM users WHERE email = 'gone@x.org'").await,
        0
    );
    // The awkward values survive.
    assert_eq!(
        strings(
            b,
            "SELECT last_name FROM users WHERE email = 'zoe@realschool.org'"
        )
        .await,
        vec!["O'Brien-Ünal".to_string()]
    );
    assert_eq!(
        count(
            b,
            "SELECT COUNT(*) FROM courses WHERE description IS NULL AND semester = ''"
        )
        .await,
        1
    );
    // And a backup of the copy gives the same checksums again.
    let again = backup(b, &dir.join("b.backup.gz")).await.unwrap();
    assert_eq!(again.tables, before);
}

#[tokio::test]
async fn sqlite_round_trip_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = sqlite(dir.path()).await;
    let b = sqlite(dir.path()).await;
    round_trip(&a, &b, dir.path()).await;
}

#[tokio::test]
async fn postgres_round_trip_is_identical_and_sequences_move_on() {
    let Some(a) = postgres("pg_round_trip_a").await else {
        return;
    };
    let Some(b) = postgres("pg_round_trip_b").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    round_trip(&a, &b, dir.path()).await;
    let max_id = count(&b, "SELECT MAX(id) FROM users").await;
    exec(&b, &[&format!("INSERT INTO users (email, password_hash, role, first_name, last_name) VALUES ('new@x.org', '{FAKE_HASH}', 'student', 'N', 'Ew')")]).await;
    assert_eq!(
        count(&b, "SELECT id FROM users WHERE email = 'new@x.org'").await,
        max_id + 1
    );
    for t in ["courses", "enrollments", "grades", "attendances"] {
        let max = count(&b, &format!("SELECT MAX(id) FROM {t}")).await;
        let next = count(
            &b,
            &format!("SELECT nextval(pg_get_serial_sequence('{t}', 'id'))"),
        )
        .await;
        assert_eq!(next, max + 1, "{t}");
    }
}

#[tokio::test]
async fn postgres_to_sqlite_and_back_keeps_checksums() {
    let Some(pg) = postgres("pg_to_sqlite").await else {
        return;
    };
    let Some(pg2) = postgres("pg_to_sqlite_back").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(dir.path()).await;
    round_trip(&pg, &lite, dir.path()).await;
    let want = table_checksums(&pg).await.unwrap();
    let file = dir.path().join("from-sqlite.gz");
    assert_eq!(backup(&lite, &file).await.unwrap().tables, want);
    restore(&pg2, &file).await.unwrap();
    assert_eq!(table_checksums(&pg2).await.unwrap(), want);
}

#[tokio::test]
async fn sqlite_to_postgres_and_back_keeps_checksums() {
    let Some(pg) = postgres("sqlite_to_pg").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let lite = sqlite(dir.path()).await;
    let lite2 = sqlite(dir.path()).await;
    round_trip(&lite, &pg, dir.path()).await;
    let want = table_checksums(&lite).await.unwrap();
    let file = dir.path().join("from-pg.gz");
    assert_eq!(backup(&pg, &file).await.unwrap().tables, want);
    restore(&lite2, &file).await.unwrap();
    assert_eq!(table_checksums(&lite2).await.unwrap(), want);
}

#[cfg(unix)]
#[tokio::test]
async fn backup_is_private_and_leaves_no_temp_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    registrar_db::seed::seed_training(&db).await.unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let file = out.join("pre.gz");
    backup(&db, &file).await.unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("pre.gz")]);
}

#[tokio::test]
async fn a_failed_backup_leaves_nothing_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    db.close().await; // every query now fails
    let err = backup(&db, &out.join("x.gz")).await.unwrap_err();
    assert!(!err.to_string().is_empty());
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "no file, no temp file"
    );
    // A folder that does not exist is an I/O error naming the file.
    let err = backup(&sqlite(dir.path()).await, &dir.path().join("nope/x.gz"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("x.gz"), "{err}");
}

#[tokio::test]
async fn verify_backup_restores_into_a_scratch_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path()).await;
    populated(&db).await;
    let file = dir.path().join("v.gz");
    let s = backup(&db, &file).await.unwrap();
    let r = verify_backup(&file, None).await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.summary.unwrap().tables, s.tables);
    let scratch = registrar_db::testing::fresh_sqlite(dir.path());
    let r = verify_backup(&file, Some(&scratch)).await.unwrap();
    assert!(r.ok, "{:?}", r.problems);
}

#[tokio::test]
async fn an_empty_database_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let a = sqlite(dir.path()).await;
    let b = sqlite(dir.path()).await;
    populated(&b).await;
    let file = dir.path().join("empty.gz");
    let s = backup(&a, &file).await.unwrap();
    assert!(s.tables.iter().all(|t| t.rows == 0));
    restore(&b, &file).await.unwrap();
    assert_eq!(count(&b, "SELECT COUNT(*) FROM users").await, 0);
    assert_eq!(table_checksums(&b).await.unwrap(), s.tables);
}
