//! `validate` and `import`.

use super::Verdict;
use crate::args::{ImportArgs, InputArgs, PlanArgs, ValidateArgs};
use crate::progress;
use crate::render::{self, OutputFormat};
use anyhow::Context;
use registrar::commands::{ImportSettings, Session, ValidateSettings};
use registrar::html::HtmlReport;
use registrar::import::Input;
use registrar::model::Entity;

fn input_of(input: &InputArgs, entity: Option<Entity>) -> anyhow::Result<Input> {
    input
        .input(entity)
        .context("give --data DIR or --file FILE")
}

/// `registrar validate`.
pub async fn validate(session: &Session, a: ValidateArgs) -> anyhow::Result<Verdict> {
    let input = input_of(&a.input, a.entity)?;
    let report = session
        .validate_with(
            &input,
            a.database.as_deref(),
            &a.reader.options(),
            &ValidateSettings {
                hash_policy: a.hashes.policy(),
                missing_password: a.values.missing_password(),
                date_order: a.values.date_order(),
                mapping: a.mapping.load()?,
            },
        )
        .await?;
    if let Some(path) = &a.html.report {
        let mut page = HtmlReport::new("validate", report.is_ok()).with_report(&report);
        if let Some(url) = &a.database {
            page = page.with_database(url);
        }
        page.write(path)?;
    }
    render::print_report(&report, a.format);
    Ok(report.is_ok().into())
}

/// `registrar import`.
pub async fn import(session: &Session, a: ImportArgs) -> anyhow::Result<Verdict> {
    let progress = progress::bars(a.format == OutputFormat::Human);
    let outcome = if let Some(plan) = &a.input.plan {
        anyhow::ensure!(
            a.mode.execute,
            "--plan applies a saved plan: give --execute (the plan itself is what --validate would show)"
        );
        let plan = registrar::plan::read_plan(plan)?;
        session
            .apply_plan(
                &a.db.database,
                &plan,
                progress,
                a.credentials_out.as_deref(),
            )
            .await?
    } else {
        let input = input_of(&a.input.input_args(), a.entity)?;
        let settings = ImportSettings {
            execute: a.mode.execute,
            on_existing: a.on_existing.into(),
            skip_invalid: a.skip_invalid,
            rejects_dir: a.rejects,
            reader: a.reader.options(),
            progress,
            update_passwords: a.changes.update_passwords,
            sync: a.changes.sync_mode(),
            max_changes: a.changes.max_changes,
            hash_policy: a.hashes.policy(),
            mapping: a.mapping.load()?,
            missing_password: a.values.missing_password(),
            credentials_out: a.credentials_out.clone(),
            date_order: a.values.date_order(),
        };
        session.import(&a.db.database, &input, &settings).await?
    };
    if let Some(path) = &a.html.report {
        let command = if a.mode.execute {
            "import --execute"
        } else {
            "import --validate"
        };
        HtmlReport::new(command, outcome.ok)
            .with_report(&outcome.report)
            .with_database(&a.db.database)
            .write(path)?;
    }
    render::print_report(&outcome.report, a.format);
    Ok(outcome.ok.into())
}

/// `registrar plan`.
pub async fn plan(session: &Session, a: PlanArgs) -> anyhow::Result<Verdict> {
    let input = input_of(&a.input, a.entity)?;
    let settings = ImportSettings {
        execute: false,
        on_existing: a.on_existing.into(),
        reader: a.reader.options(),
        progress: progress::bars(a.format == OutputFormat::Human),
        update_passwords: a.changes.update_passwords,
        sync: a.changes.sync_mode(),
        max_changes: a.changes.max_changes,
        hash_policy: a.hashes.policy(),
        mapping: a.mapping.load()?,
        missing_password: a.values.missing_password(),
        date_order: a.values.date_order(),
        ..ImportSettings::default()
    };
    let plan = session.plan(&a.db.database, &input, &settings).await?;
    if let Some(out) = &a.out {
        registrar::plan::write_plan(&plan, out)?;
    }
    if let Some(path) = &a.html.report {
        HtmlReport::new("plan", plan.ok)
            .with_plan(&plan)
            .with_database(&a.db.database)
            .write(path)?;
    }
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&plan)),
        OutputFormat::Human => print!("{}", render::plan_summary(&plan, a.out.as_deref())),
    }
    Ok(plan.ok.into())
}

/// `registrar mapping`: a starter mapping file on stdout.
pub fn mapping(a: crate::args::MappingCmdArgs) -> anyhow::Result<Verdict> {
    let text = registrar::mapping::starter(&Input::from_path(&a.data), &a.reader.options())?;
    print!("{text}");
    Ok(Verdict::Success)
}
