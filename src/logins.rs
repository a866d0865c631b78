//! `verify_logins`: a users file's passwords against the stored hashes.
//!
//! This module reads the file (registrar-formats); the logins are tried by
//! [`registrar_checks::verify_credentials`], which knows nothing of files.

use crate::{Error, ReaderOptions};
use registrar_checks::{Credential, LoginReport};
use registrar_db::Database;
use registrar_formats::{Event, Value};
use registrar_model::Password;
use std::path::Path;

/// Reads a users file (any format [`registrar_formats::open`] reads; the `email` and
/// `password` columns are found by [`registrar_formats::header_key`], so case and spacing do not
/// matter), picks `sample` of its users (all when `None`; otherwise spread evenly over the file)
/// and checks each file password against the stored hash (argon2 or any legacy scheme of
/// `registrar-hashes`), on every core
/// ([`registrar_checks::verify_credentials`]). Rows with a blank email or no password are not
/// tried; they are counted in [`LoginReport::skipped`]. Reports the emails that failed, never a
/// password.
///
/// A file without an `email` or a `password` column is refused
/// (`Error::Checks(registrar_checks::Error::Refused(_))`).
pub async fn verify_logins(
    db: &Database,
    users_file: &Path,
    reader: &ReaderOptions,
    sample: Option<usize>,
) -> Result<LoginReport, Error> {
    let path = users_file.to_path_buf();
    let opts = reader.clone();
    let (credentials, skipped) =
        tokio::task::spawn_blocking(move || read_credentials(&path, &opts))
            .await
            .map_err(|e| refused(format!("reading the users file failed: {e}")))??;
    let mut report = registrar_checks::verify_credentials(db, credentials, sample).await?;
    report.skipped = skipped;
    Ok(report)
}

fn refused(why: String) -> Error {
    Error::Checks(registrar_checks::Error::Refused(why))
}

/// The credentials of a users file, and the number of rows skipped (blank email or no password).
fn read_credentials(path: &Path, reader: &ReaderOptions) -> Result<(Vec<Credential>, u64), Error> {
    let source = registrar_formats::open(path, reader)?;
    let find = |name: &str| {
        source
            .headers()
            .iter()
            .position(|h| registrar_formats::header_key(h) == name)
    };
    let email_col =
        find("email").ok_or_else(|| refused(format!("{} has no email column", path.display())))?;
    let password_col = find("password").ok_or_else(|| {
        refused(format!(
            "{} has no password column, so there is nothing to log in with",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    let mut skipped = 0u64;
    for event in source {
        let Event::Row(row) = event? else { continue };
        let raw = row.values.get(email_col);
        let blank = raw.is_none_or(Value::is_blank);
        let password = row
            .values
            .get(password_col)
            .map(|v| Password::new(v.to_string()));
        match password {
            Some(password) if !blank && !password.expose_secret().is_empty() => {
                out.push(Credential {
                    row: row.row,
                    // Only a text cell can be an email address; any other kind of cell (a
                    // number, a date) is passed as empty text, which fails the email rule.
                    email: match raw {
                        Some(Value::Text(s)) => s.clone(),
                        _ => String::new(),
                    },
                    password,
                })
            }
            _ => skipped += 1,
        }
    }
    Ok((out, skipped))
}
