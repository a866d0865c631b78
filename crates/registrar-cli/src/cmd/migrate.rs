//! `migrate`: the runbook.

use super::Verdict;
use crate::args::MigrateArgs;
use crate::progress;
use crate::render::{self, OutputFormat};

/// `registrar migrate`.
pub async fn migrate(a: MigrateArgs) -> anyhow::Result<Verdict> {
    let human = a.format == OutputFormat::Human;
    let step_log: Option<registrar::StepLog> = if human {
        Some(std::sync::Arc::new(|line: &str| eprintln!("{line}")))
    } else {
        None
    };
    let migration = registrar::Migration::new(&a.db.database)
        .with_input(registrar::Input::from_path(&a.data))
        .reader_options(a.reader.options())
        .backup_dir(&a.backup_dir)
        .clean_training_data(a.clean_training_data)
        .force_password_reset(a.force_password_reset)
        .progress(progress::bars(human))
        .step_log(step_log);
    let outcome = if a.mode.execute {
        migration.run_runbook().await?
    } else {
        migration.plan_runbook().await?
    };
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&outcome)),
        // The steps were already printed live (stderr); end with the issues and the verdict.
        OutputFormat::Human => print!("{}", render::runbook_summary(&outcome)),
    }
    Ok(outcome.ok.into())
}
