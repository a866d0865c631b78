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
        .on_existing(a.on_existing.into())
        .update_passwords(a.changes.update_passwords)
        .sync(a.changes.sync_mode())
        .hash_policy(a.hashes.policy())
        .missing_password(a.values.missing_password())
        .date_order(a.values.date_order())
        .progress(progress::bars(human))
        .step_log(step_log);
    let migration = match &a.credentials_out {
        Some(path) => migration.credentials_out(path),
        None => migration,
    };
    let migration = match a.changes.max_changes {
        Some(pct) => migration.max_changes(pct),
        None => migration,
    };
    let migration = match a.mapping.load()? {
        Some(m) => migration.mapping((*m).clone()),
        None => migration,
    };
    let outcome = if a.mode.execute {
        migration.run_runbook().await?
    } else {
        migration.plan_runbook().await?
    };
    if let Some(path) = &a.html.report {
        let command = if a.mode.execute {
            "migrate --execute"
        } else {
            "migrate --validate"
        };
        let mut page = registrar::html::HtmlReport::new(command, outcome.ok)
            .with_database(&a.db.database)
            .with_outcome(outcome.outcome.as_str())
            .with_duration_ms(outcome.duration_ms)
            .with_steps(outcome.steps.iter().map(|s| registrar::html::StepRow {
                step: s.step.to_string(),
                ok: s.ok,
                detail: s.detail.clone(),
            }))
            .with_backups(outcome.backups.iter().cloned())
            .with_checks(outcome.checks.iter().map(Into::into));
        if let Some(r) = &outcome.report {
            page = page.with_report(r);
        }
        page.write(path)?;
    }
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&outcome)),
        // The steps were already printed live (stderr); end with the issues and the verdict.
        OutputFormat::Human => print!("{}", render::runbook_summary(&outcome)),
    }
    Ok(outcome.ok.into())
}
