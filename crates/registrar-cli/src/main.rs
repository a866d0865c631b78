//! `registrar`: the operator's command line. It parses arguments ([`args`]), dispatches to one
//! small function per command ([`cmd`]) that calls the `registrar` facade
//! ([`registrar::commands`]), and renders the results ([`render`], human or JSON). Exit codes
//! (one mapping, [`exit_code`]): 0 success; 1 the data or the database failed a check; 2 usage,
//! I/O or database errors.

mod args;
mod cmd;
mod progress;
mod render;

use args::{Cli, Command};
use clap::Parser;
use cmd::Verdict;
use registrar::commands::Session;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
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
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let session = Session::new().with_notices(Arc::new(|n| eprintln!("{}", render::notice(n))));
    let result = runtime.block_on(async {
        let r = run(&session, cli.command).await;
        session.close().await;
        r
    });
    exit_code(result)
}

/// The one mapping from a command's result to the exit code: 0 success, 1 failed checks or
/// data, 2 errors (printed once, on one line).
fn exit_code(result: anyhow::Result<Verdict>) -> ExitCode {
    match result {
        Ok(Verdict::Success) => ExitCode::SUCCESS,
        Ok(Verdict::Failed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", render::one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// Runs one command.
async fn run(session: &Session, command: Command) -> anyhow::Result<Verdict> {
    match command {
        Command::Init(a) => cmd::schema::init(session, a).await,
        Command::SeedTraining(a) => cmd::schema::seed_training(session, a).await,
        Command::Validate(a) => cmd::import::validate(session, a).await,
        Command::Import(a) => cmd::import::import(session, a).await,
        Command::Migrate(a) => cmd::migrate::migrate(a).await,
        Command::Backup(a) => cmd::backup::backup(session, a).await,
        Command::Restore(a) => cmd::backup::restore(session, a).await,
        Command::VerifyBackup(a) => cmd::backup::verify_backup(session, a).await,
        Command::Clean(a) => cmd::clean::clean(session, a).await,
        Command::Check(a) => cmd::inspect::check(session, a).await,
        Command::VerifyLogins(a) => cmd::accounts::verify_logins(session, a).await,
        Command::SetPassword(a) => cmd::accounts::set_password(session, a).await,
        Command::ForcePasswordReset(a) => cmd::accounts::force_password_reset(session, a).await,
        Command::Stats(a) => cmd::inspect::stats(session, a).await,
        Command::Audit(a) => cmd::inspect::audit(session, a).await,
        Command::Completions(a) => cmd::docs::completions(a),
        Command::Man(a) => cmd::docs::man(a),
    }
}
