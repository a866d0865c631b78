//! Validate a data folder from Rust, without the CLI.
//!
//! ```sh
//! cargo run --example validate -- examples/messy
//! ```

use registrar::{validate_dir, ReaderOptions};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data")));
    let report = validate_dir(&dir, &ReaderOptions::default())?;
    for issue in &report.issues {
        println!("{issue}");
    }
    for f in &report.files {
        println!(
            "{:<20} {:>8} rows {:>8} valid {:>8} invalid",
            f.file, f.rows, f.valid, f.invalid
        );
    }
    println!(
        "{} error(s), {} warning(s)",
        report.error_count(),
        report.warning_count()
    );
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
