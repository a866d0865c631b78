//! `registrar`: the operator's command line. It parses arguments ([`args`]), dispatches to one
//! small function per command ([`cmd`]) that calls the `registrar` facade
//! ([`registrar::commands`]), and renders the results ([`render`], human or JSON). Exit codes
//! (one mapping, [`exit_code`]): 0 success; 1 the data or the database failed a check; 2 usage,
//! I/O or database errors, a lock held by another run, a safety refusal, an internal error.

mod args;
mod cmd;
mod progress;
mod render;

use args::{Cli, Command};
use clap::Parser;
use cmd::Verdict;
use registrar::commands::Session;
use registrar::ErrorKind;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit_code(&Err(
                    registrar::Error::Usage(e.to_string()).into()
                )))
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = anyhow::Error::new(e).context("cannot start the async runtime");
            eprintln!("error: {}", render::one_line(&e));
            return ExitCode::from(exit_code(&Err(e)));
        }
    };
    let session = Session::new().with_notices(Arc::new(|n| eprintln!("{}", render::notice(n))));
    let result = runtime.block_on(async {
        let r = run(&session, cli.command).await;
        session.close().await;
        r
    });
    if let Err(e) = &result {
        // Printed once, on one line.
        eprintln!("error: {}", render::one_line(e));
    }
    ExitCode::from(exit_code(&result))
}

/// The one mapping from a command's result to the exit code (SPEC §5): 0 success; 1 the data
/// or the database failed a check (or a step reported a refusal as its result); 2 for every
/// error, whatever its kind ([`registrar::error_kind`]).
fn exit_code(result: &anyhow::Result<Verdict>) -> u8 {
    match result {
        Ok(Verdict::Success) => 0,
        Ok(Verdict::Failed) => 1,
        Err(e) => match registrar::error_kind(e.as_ref()) {
            // Another run holds the lock (wait and run again), or this one lost it.
            Some(ErrorKind::Locked | ErrorKind::LockLost) => 2,
            // A safety rule refused the command; wrong arguments.
            Some(ErrorKind::Refused | ErrorKind::Usage) => 2,
            // I/O, a damaged backup, the database.
            Some(ErrorKind::Io | ErrorKind::BadBackup | ErrorKind::Database) => 2,
            // A bug in Registrar.
            Some(ErrorKind::Internal) => 2,
            // A kind newer than this mapping, or an error of the binary itself (usage).
            Some(_) | None => 2,
        },
    }
}

/// Runs one command.
async fn run(session: &Session, command: Command) -> anyhow::Result<Verdict> {
    match command {
        Command::Init(a) => cmd::schema::init(session, a).await,
        Command::SeedTraining(a) => cmd::schema::seed_training(session, a).await,
        Command::Validate(a) => cmd::import::validate(session, a).await,
        Command::Import(a) => cmd::import::import(session, a).await,
        Command::Plan(a) => cmd::import::plan(session, a).await,
        Command::Migrate(a) => cmd::migrate::migrate(a).await,
        Command::Backup(a) => cmd::backup::backup(session, a).await,
        Command::Export(a) => cmd::backup::export(session, a).await,
        Command::Restore(a) => cmd::backup::restore(session, a).await,
        Command::VerifyBackup(a) => cmd::backup::verify_backup(session, a).await,
        Command::Clean(a) => cmd::clean::clean(session, a).await,
        Command::Check(a) => cmd::inspect::check(session, a).await,
        Command::VerifyLogins(a) => cmd::accounts::verify_logins(session, a).await,
        Command::SetPassword(a) => cmd::accounts::set_password(session, a).await,
        Command::ForcePasswordReset(a) => cmd::accounts::force_password_reset(session, a).await,
        Command::Mapping(a) => cmd::import::mapping(a),
        Command::Stats(a) => cmd::inspect::stats(session, a).await,
        Command::Audit(a) => cmd::inspect::audit(session, a).await,
        Command::Completions(a) => cmd::docs::completions(a),
        Command::Man(a) => cmd::docs::man(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registrar::commands::CommandError;
    use registrar::db::Error as DbError;

    fn code_of(e: impl Into<anyhow::Error>) -> u8 {
        exit_code(&Err(e.into()))
    }

    #[test]
    fn verdicts_map_to_0_and_1() {
        assert_eq!(exit_code(&Ok(Verdict::Success)), 0);
        assert_eq!(exit_code(&Ok(Verdict::Failed)), 1);
    }

    #[test]
    fn every_error_kind_maps_to_exit_code_2_as_spec_5_says() {
        let io = || std::io::Error::other("disk full");
        let db_errors = [
            (
                DbError::Locked("another registrar run".into()),
                ErrorKind::Locked,
            ),
            (DbError::LockLost("lost".into()), ErrorKind::LockLost),
            (DbError::Refused("exists".into()), ErrorKind::Refused),
            (DbError::Usage("bad pattern".into()), ErrorKind::Usage),
            (
                DbError::Internal("internal error: x".into()),
                ErrorKind::Internal,
            ),
            (DbError::BadBackup("truncated".into()), ErrorKind::BadBackup),
            (DbError::io("cannot write", io()), ErrorKind::Io),
            (
                DbError::NoDatabase {
                    path: "x.db".into(),
                },
                ErrorKind::Usage,
            ),
            (DbError::Sqlx(sqlx_error()), ErrorKind::Database),
        ];
        for (e, kind) in db_errors {
            assert_eq!(e.kind(), kind, "{e}");
            let text = e.to_string();
            // However deep it is wrapped, the kind is found and the code is 2.
            let facade = registrar::Error::Db(e);
            assert_eq!(registrar::error_kind(&facade), Some(kind), "{text}");
            let command = CommandError::Failed(facade);
            assert_eq!(registrar::error_kind(&command), Some(kind), "{text}");
            let wrapped = anyhow::Error::new(command).context("while doing something");
            assert_eq!(
                registrar::error_kind(wrapped.as_ref()),
                Some(kind),
                "{text}"
            );
            assert_eq!(exit_code(&Err(wrapped)), 2, "{text}");
        }
        assert_eq!(code_of(CommandError::Refused("exists".into())), 2);
        assert_eq!(
            registrar::error_kind(&CommandError::Refused("exists".into())),
            Some(ErrorKind::Refused)
        );
        assert_eq!(code_of(registrar::Error::Usage("no input".into())), 2);
        assert_eq!(
            registrar::Error::Usage("no input".into()).kind(),
            ErrorKind::Usage
        );
        assert_eq!(
            registrar::Error::Internal("a thread died".into()).kind(),
            ErrorKind::Internal
        );
        assert_eq!(
            code_of(registrar::Error::Internal("a thread died".into())),
            2
        );
        // The binary's own errors (no Registrar error inside): 2.
        assert_eq!(
            code_of(anyhow::anyhow!("give --data DIR or --file FILE")),
            2
        );
        assert_eq!(registrar::error_kind(&io()), None);
    }

    fn sqlx_error() -> sqlx::Error {
        sqlx::Error::PoolTimedOut
    }
}
