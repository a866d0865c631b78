//! `check`, `stats` and `audit`: read-only looks at a database.

use super::Verdict;
use crate::args::{AuditArgs, CheckArgs, StatsArgs};
use crate::render::{self, OutputFormat};
use registrar::commands::Session;

/// `registrar check`.
pub async fn check(session: &Session, a: CheckArgs) -> anyhow::Result<Verdict> {
    let expect: registrar::checks::Expectations = match a.expect {
        Some(s) => s.parse().map_err(|e| anyhow::anyhow!("--expect: {e}"))?,
        None => Default::default(),
    };
    let options = registrar::checks::CheckOptions {
        fail_on_legacy: a.fail_on_legacy,
    };
    let outcome = session
        .check_with(&a.db.database, &expect, &options)
        .await?;
    if let Some(path) = &a.html.report {
        registrar::html::HtmlReport::new("check", outcome.ok)
            .with_database(&a.db.database)
            .with_checks(outcome.checks.iter().map(Into::into))
            .write(path)?;
    }
    match a.format {
        OutputFormat::Json => println!(
            "{}",
            render::json(&serde_json::json!({ "ok": outcome.ok, "checks": outcome.checks }))
        ),
        OutputFormat::Human => print!("{}", render::checks(&outcome)),
    }
    Ok(outcome.ok.into())
}

/// `registrar stats`.
pub async fn stats(session: &Session, a: StatsArgs) -> anyhow::Result<Verdict> {
    let s = session.stats(&a.db.database).await?;
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&s)),
        OutputFormat::Human => print!("{}", render::stats(&s)),
    }
    Ok(Verdict::Success)
}

/// `registrar audit`.
pub async fn audit(session: &Session, a: AuditArgs) -> anyhow::Result<Verdict> {
    let runs = session.audit_log(&a.db.database).await?;
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&runs)),
        OutputFormat::Human => print!("{}", render::audit_log(&runs)),
    }
    Ok(Verdict::Success)
}
