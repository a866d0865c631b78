//! The whole runbook on a temporary SQLite database: seed the training data, migrate
//! `examples/data` with clean-up and a forced password reset, run the checks, print a summary.
//!
//! ```sh
//! cargo run --example end_to_end
//! ```

use registrar::checks::{run_checks, stats, Expectations};
use registrar::db::{seed, Database};
use registrar::Migration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data");

    // A rehearsal database with the runbook's 18 training accounts and 5 sample courses.
    let db = Database::open(&url).await?;
    let seeded = seed::seed_training(&db).await?;
    println!(
        "seeded {} training users, {} sample courses",
        seeded.users_inserted, seeded.courses_inserted
    );

    let outcome = Migration::new(&url)
        .data_dir(data)
        .backup_dir(dir.path().join("backups"))
        .clean_training_data(true)
        .force_password_reset(true)
        .run_runbook()
        .await?;
    print!("{outcome}");
    assert!(outcome.ok, "the runbook succeeds on the example data");
    assert_eq!(outcome.backups.len(), 2, "a backup before and after");
    let report = outcome.report.as_ref().expect("the import report");
    assert_eq!(report.files.len(), 5, "all five example files are imported");
    assert!(report
        .files
        .iter()
        .all(|f| f.inserted > 0 && f.inserted == f.rows));

    let checks = run_checks(&db, &Expectations::default()).await?;
    for c in &checks {
        println!("{c}");
    }
    assert!(checks.iter().all(|c| c.passed));
    let s = stats(&db).await?;
    println!("users by role: {:?}", s.roles);
    assert!(s.roles.get("student").copied().unwrap_or(0) >= 50);
    for t in &s.tables {
        println!("{:<12} {:>6} rows", t.table, t.rows);
    }
    db.close().await;
    Ok(())
}
