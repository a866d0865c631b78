//! A OneRoster round trip with the facade: import the bundled OneRoster 1.1 bundle
//! (`examples/oneroster/riverside-1.1`, which holds no passwords) into a temporary SQLite
//! database, then export the database as a OneRoster 1.2 zip and check it with the bundle
//! checker.
//!
//! ```sh
//! cargo run --example oneroster
//! ```

use registrar::export::{export_oneroster, OneRosterExport};
use registrar::formats::oneroster::{check::check_bundle, spec::Version, Bundle};
use registrar::model::MissingPassword;
use registrar::{Input, Migration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/oneroster/riverside-1.1"
    );

    // Real exports carry no passwords: the accounts are stored without a usable one and
    // flagged for a reset.
    let report = Migration::new(&url)
        .with_input(Input::from_path(bundle))
        .missing_password(MissingPassword::Reset)
        .execute()
        .await?;
    assert!(report.is_ok(), "{:#?}", report.issues);
    for f in &report.files {
        println!(
            "{:<16} {:>3} rows, {:>3} inserted",
            f.file, f.rows, f.inserted
        );
    }
    assert_eq!(report.teacher_links, 3, "two teachers' and an aide's links");
    for i in &report.issues {
        println!("  {}: {} {}", i.file, i.code, i.message);
    }

    let db = registrar::db::Database::open(&url).await?;
    let out = dir.path().join("riverside-1.2.zip");
    let summary = export_oneroster(&db, &OneRosterExport::new(Version::V1_2, &out)).await?;
    db.close().await;
    for f in &summary.files {
        println!("exported {:<22} {:>3} rows", f.name, f.rows);
    }
    let exported = Bundle::open(&out, &Default::default())?;
    let problems: Vec<_> = check_bundle(&exported)
        .into_iter()
        .filter(|i| i.is_error())
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    println!("the export passes the OneRoster checker");
    Ok(())
}
