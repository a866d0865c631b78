//! `verify-logins`, `set-password` and `force-password-reset`.

use super::Verdict;
use crate::args::{ForcePasswordResetArgs, SetPasswordArgs, VerifyLoginsArgs};
use crate::render::{self, OutputFormat};
use anyhow::bail;
use registrar::commands::{PasswordChange, Session};
use registrar::model::Password;
use std::io::{BufRead, IsTerminal};

/// `registrar verify-logins`.
pub async fn verify_logins(session: &Session, a: VerifyLoginsArgs) -> anyhow::Result<Verdict> {
    let r = match (&a.file, &a.credentials) {
        (_, Some(credentials)) => {
            session
                .verify_generated_logins(&a.db.database, credentials, a.sample)
                .await?
        }
        (Some(file), None) => {
            session
                .verify_logins(&a.db.database, file, &a.reader.options(), a.sample)
                .await?
        }
        (None, None) => bail!("give --file users.csv or --credentials FILE"),
    };
    match a.format {
        OutputFormat::Json => println!("{}", render::json(&r)),
        OutputFormat::Human => print!("{}", render::login_report(&r)),
    }
    Ok(r.ok().into())
}

/// `registrar set-password`.
pub async fn set_password(session: &Session, a: SetPasswordArgs) -> anyhow::Result<Verdict> {
    let (current, new) = read_passwords()?;
    match session
        .set_password(&a.db.database, &a.email, &current, &new)
        .await?
    {
        PasswordChange::Changed => {
            println!("password changed for {}", a.email);
            Ok(Verdict::Success)
        }
        PasswordChange::Refused(m) => {
            eprintln!("refused: {m}");
            Ok(Verdict::Failed)
        }
    }
}

/// `registrar force-password-reset`.
pub async fn force_password_reset(
    session: &Session,
    a: ForcePasswordResetArgs,
) -> anyhow::Result<Verdict> {
    let n = session
        .force_password_reset(&a.db.database, a.except_role)
        .await?;
    println!("{n} user(s) must change their password at next login");
    Ok(Verdict::Success)
}

/// Reads the current and the new password: from the terminal without echo, or as two lines on
/// stdin when stdin is not a terminal. Never from argv.
fn read_passwords() -> anyhow::Result<(Password, Password)> {
    if std::io::stdin().is_terminal() {
        let current = Password::new(rpassword::prompt_password("Current password: ")?);
        let new = Password::new(rpassword::prompt_password("New password: ")?);
        let again = Password::new(rpassword::prompt_password("New password again: ")?);
        if new != again {
            bail!("the two new passwords differ; nothing was changed");
        }
        Ok((current, new))
    } else {
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        let mut next = |what: &str| -> anyhow::Result<Password> {
            match lines.next() {
                Some(line) => Ok(Password::new(
                    line?.trim_end_matches(['\r', '\n']).to_owned(),
                )),
                None => {
                    bail!("expected the {what} password on stdin (two lines: current, then new)")
                }
            }
        };
        let current = next("current")?;
        let new = next("new")?;
        Ok((current, new))
    }
}
