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
/// tried; they are counted in [`LoginReport::skipped`], except those whose account is stored
/// without a password (`--missing-password reset`), counted in [`LoginReport::no_password`]
/// ("reset required, no password", not a failure). A file without a `password` column (an
/// export imported with `--missing-password reset`) has only such rows. Reports the emails
/// that failed, never a password.
///
/// A file without an `email` column is refused
/// (`Error::Checks(registrar_checks::Error::Refused(_))`).
pub async fn verify_logins(
    db: &Database,
    users_file: &Path,
    reader: &ReaderOptions,
    sample: Option<usize>,
) -> Result<LoginReport, Error> {
    verify_file(db, users_file, reader, sample, "password").await
}

/// [`verify_logins`] on a credentials file written by `--missing-password generate`
/// (`email,temporary_password`, see [`crate::credentials`]): proves that the generated
/// passwords log in. Never prints a password.
pub async fn verify_generated_logins(
    db: &Database,
    credentials_file: &Path,
    sample: Option<usize>,
) -> Result<LoginReport, Error> {
    verify_file(
        db,
        credentials_file,
        &ReaderOptions::default(),
        sample,
        crate::credentials::HEADER[1],
    )
    .await
}

async fn verify_file(
    db: &Database,
    path: &Path,
    reader: &ReaderOptions,
    sample: Option<usize>,
    password_column: &'static str,
) -> Result<LoginReport, Error> {
    let path = path.to_path_buf();
    let opts = reader.clone();
    let (credentials, unpassworded) =
        tokio::task::spawn_blocking(move || read_credentials(&path, &opts, password_column))
            .await
            .map_err(|e| refused(format!("reading the users file failed: {e}")))??;
    let mut report = registrar_checks::verify_credentials(db, credentials, sample).await?;
    let no_password = registrar_checks::count_without_password(db, &unpassworded).await?;
    report.no_password += no_password;
    report.skipped = unpassworded.len() as u64 - no_password;
    Ok(report)
}

fn refused(why: String) -> Error {
    Error::Checks(registrar_checks::Error::Refused(why))
}

/// The email cell as a credential holds it: text only (any other kind of cell, a number or a
/// date, is passed as empty text, which fails the email rule), with the one leading `'` that
/// a credentials file puts before a cell starting `=`, `+`, `-` or `@` taken off again.
fn email_text(raw: Option<&Value>, credentials_file: bool) -> String {
    match raw {
        Some(Value::Text(s)) => {
            let t = s.as_str();
            match t.strip_prefix('\'') {
                Some(rest)
                    if credentials_file
                        && matches!(rest.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@')) =>
                {
                    rest.to_owned()
                }
                _ => t.to_owned(),
            }
        }
        _ => String::new(),
    }
}

/// The credentials of a users file, and the email cells of the rows without a password (none
/// in the row, or no password column at all; a blank email as empty text).
fn read_credentials(
    path: &Path,
    reader: &ReaderOptions,
    password_column: &str,
) -> Result<(Vec<Credential>, Vec<String>), Error> {
    let source = registrar_formats::open(path, reader)?;
    let find = |name: &str| {
        source
            .headers()
            .iter()
            .position(|h| registrar_formats::header_key(h) == name)
    };
    let email_col =
        find("email").ok_or_else(|| refused(format!("{} has no email column", path.display())))?;
    let password_col = find(password_column);
    let credentials_file = password_column != "password";
    if credentials_file && password_col.is_none() {
        return Err(refused(format!(
            "{} has no {password_column} column: give the credentials file that --missing-password generate wrote",
            path.display()
        )));
    }
    let mut out = Vec::new();
    let mut unpassworded = Vec::new();
    for event in source {
        let Event::Row(row) = event? else { continue };
        let raw = row.values.get(email_col);
        let blank = raw.is_none_or(Value::is_blank);
        let password = password_col
            .and_then(|c| row.values.get(c))
            .map(|v| Password::new(v.to_string()));
        match password {
            Some(password) if !blank && !password.expose_secret().is_empty() => {
                out.push(Credential {
                    row: row.row,
                    email: email_text(raw, credentials_file),
                    password,
                })
            }
            // A blank email is counted as skipped too (it names no account).
            _ if blank => unpassworded.push(String::new()),
            _ => unpassworded.push(email_text(raw, credentials_file)),
        }
    }
    Ok((out, unpassworded))
}
