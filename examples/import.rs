//! Import the bundled example data into a temporary SQLite database with the `Migration` API.
//!
//! ```sh
//! cargo run --example import
//! ```

use registrar::{Migration, OnExisting};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("sms.db").display());
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data");

    let report = Migration::new(&url).data_dir(data).execute().await?;
    assert!(report.is_ok(), "the example data imports without errors");
    for f in &report.files {
        println!(
            "{:<20} {:>6} rows, {:>6} inserted",
            f.file, f.rows, f.inserted
        );
    }

    // A second run with `skip` changes nothing.
    let again = Migration::new(&url)
        .data_dir(data)
        .on_existing(OnExisting::Skip)
        .execute()
        .await?;
    let inserted: u64 = again.files.iter().map(|f| f.inserted).sum();
    let skipped: u64 = again.files.iter().map(|f| f.skipped).sum();
    assert_eq!(inserted, 0);
    println!("second run: {inserted} inserted, {skipped} skipped");
    Ok(())
}
