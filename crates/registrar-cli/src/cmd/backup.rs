//! `backup`, `restore`, `verify-backup` and `export` (copies of the database's data).

use super::Verdict;
use crate::args::{BackupArgs, ExportArgs, RestoreArgs, VerifyBackupArgs};
use crate::render;
use anyhow::bail;
use registrar::commands::Session;
use registrar::db::mask_url;
use std::io::{BufRead, IsTerminal};

/// `registrar backup`.
pub async fn backup(session: &Session, a: BackupArgs) -> anyhow::Result<Verdict> {
    let s = session.backup(&a.db.database, &a.out, a.force).await?;
    print!("{}", render::backup_written(&a.out, &s));
    Ok(Verdict::Success)
}

/// `registrar export --oneroster VERSION --out FILE.zip|DIR`.
pub async fn export(session: &Session, a: ExportArgs) -> anyhow::Result<Verdict> {
    let settings = registrar::export::OneRosterExport {
        version: a.oneroster,
        out: a.out,
        org_name: a.org_name,
        force: a.force,
    };
    let s = session.export_oneroster(&a.db.database, &settings).await?;
    print!("{}", render::export_written(&s));
    Ok(Verdict::Success)
}

/// `registrar restore` (asks for confirmation on a terminal unless `--yes`).
pub async fn restore(session: &Session, a: RestoreArgs) -> anyhow::Result<Verdict> {
    if !a.yes {
        if !std::io::stdin().is_terminal() {
            bail!("restore replaces every SMS table's data; run it again with --yes to confirm");
        }
        eprint!(
            "This replaces all users, courses, enrollments, grades, attendance, external ids and teacher links in {} with the backup's. Type yes to go on: ",
            mask_url(&a.db.database)
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if answer.trim() != "yes" {
            eprintln!("not restored");
            return Ok(Verdict::Failed);
        }
    }
    let s = session.restore(&a.db.database, &a.from).await?;
    print!("{}", render::restored(&a.from, &s));
    Ok(Verdict::Success)
}

/// `registrar verify-backup`.
pub async fn verify_backup(session: &Session, a: VerifyBackupArgs) -> anyhow::Result<Verdict> {
    let r = session
        .verify_backup(&a.file, a.scratch_database.as_deref(), a.yes)
        .await?;
    print!("{}", render::verify_report(&a.file, &r));
    Ok(r.ok.into())
}
