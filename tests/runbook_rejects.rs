//! Issue 10 item 5 through the library runbook (`Migration::skip_invalid`): a folder at the
//! rejects file's path makes `run_runbook` roll back its one data transaction before the
//! commit (nothing written, outcome `rolled-back`, the reason in the audit row), never "commit
//! and then fail".

use registrar::db::backup::table_checksums;
use registrar::db::Database;
use registrar::Migration;
use std::path::Path;

async fn folder_in_the_way(url: &str, dir: &Path) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("users.csv"),
        "email,password,role,first_name,last_name\n\
         head@realschool.org,Correct-Horse-77,admin,Ada,Head\n\
         bad-at-nowhere,Correct-Horse-77,student,Bad,Row\n",
    )
    .unwrap();
    let rejects = dir.join("rejects");
    std::fs::create_dir_all(rejects.join("users.csv.rejects.csv")).unwrap();
    let db = Database::open(url).await.unwrap();
    let before = table_checksums(&db).await.unwrap();
    db.close().await;
    let out = Migration::new(url)
        .data_dir(&data)
        .skip_invalid(&rejects)
        .backup_dir(dir.join("backups"))
        .run_runbook()
        .await
        .unwrap();
    assert!(!out.ok, "{out}");
    assert_eq!(out.outcome, "rolled-back", "{out}");
    let commit = out
        .steps
        .iter()
        .find(|s| s.step == "commit")
        .expect("{out}");
    assert!(
        !commit.ok && commit.detail.contains("users.csv.rejects.csv"),
        "{out}"
    );
    let db = Database::open(url).await.unwrap();
    assert_eq!(
        table_checksums(&db).await.unwrap(),
        before,
        "data committed"
    );
    let runs = registrar::db::audit::list_runs(&db).await.unwrap();
    assert_eq!(runs[0].outcome, "rolled-back");
    assert!(
        runs[0].error.as_deref().unwrap_or("").contains("rejects"),
        "{:?}",
        runs[0]
    );
    db.close().await;
    assert!(rejects.join("users.csv.rejects.csv").is_dir());
    assert_eq!(
        std::fs::read_dir(&rejects).unwrap().count(),
        1,
        "temporary files left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_folder_at_the_rejects_path_rolls_the_runbook_back_before_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = registrar::db::testing::fresh_sqlite(dir.path());
    folder_in_the_way(&url, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_folder_at_the_rejects_path_rolls_the_runbook_back_before_its_commit() {
    let Some(url) = registrar::db::testing::fresh_postgres("runbook_rejects").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    folder_in_the_way(&url, dir.path()).await;
}
