//! `Migration::plan()` (issue 13): what `execute` would do, row by row, without writing; then
//! `execute` does exactly that, and a second `execute` of the same files writes nothing.

use registrar::db::backup::table_checksums;
use registrar::db::Database;
use registrar::model::{Entity, OnExisting};
use registrar::{Migration, SyncMode};
use std::path::Path;

const USERS: &str = "email,password,role,first_name,last_name\n\
    head@realschool.org,Quiet-Harbor-Lamp-93,admin,Ada,Head\n\
    kid1@realschool.org,Plain-Pass-1-xyz!,student,Kid,One\n\
    kid2@realschool.org,Plain-Pass-2-xyz!,student,Kid,Two\n";

async fn plans_then_executes(url: &str, dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("users.csv"), USERS).unwrap();
    let first = Migration::new(url).data_dir(&data).execute().await.unwrap();
    assert!(first.is_ok(), "{:#?}", first.issues);

    // kid1 renamed, kid2 no longer in the export, a new kid3.
    std::fs::write(
        data.join("users.csv"),
        USERS.replace("Kid,One", "Kit,One").replace(
            "kid2@realschool.org,Plain-Pass-2-xyz!,student,Kid,Two\n",
            "",
        ) + "kid3@realschool.org,Plain-Pass-3-xyz!,student,Kid,Three\n",
    )
    .unwrap();
    let migration = Migration::new(url)
        .data_dir(&data)
        .on_existing(OnExisting::Update)
        .sync(SyncMode::Imported)
        .max_changes(100.0);
    let db = Database::open(url).await.unwrap();
    let before = table_checksums(&db).await.unwrap();
    db.close().await;
    let plan = migration.plan().await.unwrap();
    assert!(plan.ok, "{:#?}", plan.report.issues);
    let users = plan.entity(Entity::Users).expect("users planned");
    assert_eq!(users.existing, 3);
    assert_eq!(users.unchanged, 1, "head is unchanged");
    assert_eq!(users.insert.len(), 1);
    assert_eq!(users.update.len(), 1);
    assert_eq!(users.update[0].key.to_string(), "kid1@realschool.org");
    let fields: Vec<String> = users.update[0]
        .changes
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(fields, ["first_name: Kid → Kit"]);
    assert_eq!(users.remove.len(), 1);
    assert_eq!(users.remove[0].key.to_string(), "kid2@realschool.org");
    let db = Database::open(url).await.unwrap();
    assert_eq!(
        table_checksums(&db).await.unwrap(),
        before,
        "a plan writes nothing"
    );
    db.close().await;

    let report = migration.execute().await.unwrap();
    assert!(report.is_ok(), "{:#?}", report.issues);
    let f = report.file("users.csv").unwrap();
    assert_eq!((f.inserted, f.updated, f.unchanged), (1, 1, 1));
    assert_eq!(report.removed.len(), 1);
    assert_eq!(report.removed[0].removed, 1);

    let again = migration.execute().await.unwrap();
    assert!(again.is_ok(), "{:#?}", again.issues);
    let f = again.file("users.csv").unwrap();
    assert_eq!((f.inserted, f.updated, f.unchanged), (0, 0, 3));
    assert!(
        again.removed.iter().all(|r| r.removed == 0),
        "{:?}",
        again.removed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migration_plan_says_what_execute_then_does() {
    let dir = tempfile::tempdir().unwrap();
    let url = registrar::db::testing::fresh_sqlite(dir.path());
    plans_then_executes(&url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migration_plan_says_what_execute_then_does() {
    let Some(url) = registrar::db::testing::fresh_postgres("migration_plan").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    plans_then_executes(&url, dir.path()).await;
}
