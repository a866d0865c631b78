//! `clean`.

use super::Verdict;
use crate::args::CleanArgs;
use crate::render::{self, OutputFormat};
use registrar::commands::{CleanOutcome, CleanSettings, Session};

/// `registrar clean`.
pub async fn clean(session: &Session, a: CleanArgs) -> anyhow::Result<Verdict> {
    let settings = CleanSettings {
        execute: a.mode.execute,
        pattern: a.pattern,
        course_codes: a.course_codes,
        force: a.force,
    };
    let outcome = session.clean(&a.db.database, &settings).await?;
    match &outcome {
        CleanOutcome::Done(r) => match a.format {
            OutputFormat::Json => println!("{}", render::json(r)),
            OutputFormat::Human => print!("{}", render::clean_report(r)),
        },
        CleanOutcome::Refused(msg) => eprintln!("refused: {msg}"),
    }
    Ok(outcome.ok().into())
}
