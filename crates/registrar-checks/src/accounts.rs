//! Accounts: login verification, password change and the forced password reset.
//!
//! No function here ever puts a password or a hash in a message, an error or a report.

use crate::{Error, Result};
use rayon::prelude::*;
use registrar_db::hash::{hash_password, is_argon2_hash, verify_password};
use registrar_db::Database;
use registrar_formats::{Event, ReaderOptions};
use registrar_model::{Password, Role};
use registrar_rules::password::check_hash_cost;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// A login that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginFailure {
    /// The user's email (lower-case); `(not shown)` when the file's email cell is not a valid
    /// email address: such a value is never printed, since it may be a password typed into the
    /// wrong column (find it by [`LoginFailure::row`]).
    pub email: String,
    /// The row of the users file.
    pub row: u64,
    /// Why: no such user, wrong password, or a stored value that is not an argon2 hash.
    pub reason: String,
}

/// The result of [`verify_logins`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LoginReport {
    /// Rows of the file that have an email and a password.
    pub candidates: u64,
    /// Logins tried (the sample).
    pub checked: u64,
    /// Logins that succeeded.
    pub passed: u64,
    /// Logins that failed, in file order.
    pub failed: Vec<LoginFailure>,
    /// Rows without a password (e.g. rows giving `password_hash`), not tried.
    pub skipped: u64,
}

impl LoginReport {
    /// True when every login tried succeeded.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

struct Candidate {
    row: u64,
    /// The email, lower-cased; `None` when the cell fails the email rule (it is not kept).
    email: Option<String>,
    password: Password,
}

/// What [`LoginFailure::email`] holds for an email cell that is not a valid email address.
pub const NOT_SHOWN: &str = "(not shown)";

fn read_candidates(path: &Path, reader: &ReaderOptions) -> Result<(Vec<Candidate>, u64)> {
    let source = registrar_formats::open(path, reader)?;
    let find = |name: &str| {
        source
            .headers()
            .iter()
            .position(|h| registrar_formats::header_key(h) == name)
    };
    let email_col = find("email")
        .ok_or_else(|| Error::Refused(format!("{} has no email column", path.display())))?;
    let password_col = find("password").ok_or_else(|| {
        Error::Refused(format!(
            "{} has no password column, so there is nothing to log in with",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    let mut skipped = 0u64;
    for event in source {
        let Event::Row(row) = event? else { continue };
        let raw = row.values.get(email_col).cloned().unwrap_or_default();
        let blank = raw.is_blank();
        // A value that fails the email rule is dropped here: it may be a password.
        let email = registrar_rules::parse::email(&raw)
            .ok()
            .map(|e| e.as_str().to_owned());
        let password = row
            .values
            .get(password_col)
            .map(|v| Password::new(v.to_string()));
        match password {
            Some(p) if !blank && !p.expose_secret().is_empty() => out.push(Candidate {
                row: row.row,
                email,
                password: p,
            }),
            _ => skipped += 1,
        }
    }
    Ok((out, skipped))
}

/// Which of `n` candidates to try: all, or `sample` spread evenly over the file (the first,
/// the last and evenly spaced ones between), so a sample covers the whole file and a re-run
/// tries the same users.
fn sample_indices(n: usize, sample: Option<usize>) -> Vec<usize> {
    match sample {
        Some(k) if k < n => {
            if k == 0 {
                return Vec::new();
            }
            if k == 1 {
                return vec![0];
            }
            let mut v: Vec<usize> = (0..k).map(|i| i * (n - 1) / (k - 1)).collect();
            v.dedup();
            v
        }
        _ => (0..n).collect(),
    }
}

async fn stored_hashes(db: &Database, emails: &[&str]) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in emails.chunks(500) {
        let rows: Vec<(String, String)> = match db {
            Database::Postgres(p) => {
                let list: Vec<String> = chunk.iter().map(|e| e.to_string()).collect();
                sqlx::query_as(
                    "SELECT lower(email), password_hash FROM users WHERE lower(email) = ANY($1)",
                )
                .bind(list)
                .fetch_all(p)
                .await?
            }
            Database::Sqlite(p) => {
                let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                    "SELECT lower(email), password_hash FROM users WHERE lower(email) IN (",
                );
                let mut sep = qb.separated(", ");
                for e in chunk {
                    sep.push_bind(e.to_string());
                }
                qb.push(")");
                qb.build_query_as().fetch_all(p).await?
            }
        };
        out.extend(rows);
    }
    Ok(out)
}

/// Reads a users file (any format [`registrar_formats::open`] reads; the `email` and
/// `password` columns are found case-insensitively), picks `sample` of its users (all when
/// `None`; otherwise spread evenly over the file, see the docs of the CLI) and checks each
/// file password against the stored argon2 hash, on every core. Reports the emails that
/// failed, never a password.
pub async fn verify_logins(
    db: &Database,
    users_file: &Path,
    reader: &ReaderOptions,
    sample: Option<usize>,
) -> Result<LoginReport> {
    let path = users_file.to_path_buf();
    let opts = reader.clone();
    let (candidates, skipped) = tokio::task::spawn_blocking(move || read_candidates(&path, &opts))
        .await
        .map_err(|e| Error::Refused(format!("reading the users file failed: {e}")))??;
    let picked: Vec<usize> = sample_indices(candidates.len(), sample);
    let emails: Vec<&str> = picked
        .iter()
        .filter_map(|&i| candidates[i].email.as_deref())
        .collect();
    let hashes = stored_hashes(db, &emails).await?;
    let total = candidates.len() as u64;
    let checked = picked.len() as u64;
    let failed = tokio::task::spawn_blocking(move || {
        picked
            .par_iter()
            .filter_map(|&i| {
                let c = &candidates[i];
                let Some(email) = &c.email else {
                    return Some(LoginFailure {
                        email: NOT_SHOWN.to_owned(),
                        row: c.row,
                        reason: "the email cell is not a valid email address (its value is not shown: it may be a password in the wrong column); fix the row".to_owned(),
                    });
                };
                let reason = match hashes.get(email) {
                    None => Some("no user with this email in the database"),
                    Some(h) if !is_argon2_hash(h) => {
                        Some("the stored password is not an argon2 hash")
                    }
                    Some(h) if check_hash_cost(h).is_err() => Some(
                        "the stored hash's argon2 parameters are beyond Registrar's caps (see registrar_rules::password::MAX_HASH_M_COST); it was not tried",
                    ),
                    Some(h) if !verify_password(c.password.expose_secret(), h) => {
                        Some("the file's password does not match the stored hash")
                    }
                    Some(_) => None,
                };
                reason.map(|r| LoginFailure {
                    email: email.clone(),
                    row: c.row,
                    reason: r.to_string(),
                })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Refused(format!("verifying the logins failed: {e}")))?;
    Ok(LoginReport {
        candidates: total,
        checked,
        passed: checked - failed.len() as u64,
        failed,
        skipped,
    })
}

async fn stored_hash(db: &Database, email: &str) -> Result<Option<(i64, String)>> {
    Ok(match db {
        Database::Postgres(p) => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE lower(email) = $1")
                .bind(email)
                .fetch_optional(p)
                .await?
        }
        Database::Sqlite(p) => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE lower(email) = ?1")
                .bind(email)
                .fetch_optional(p)
                .await?
        }
    })
}

/// Changes a user's password: `current` must match the stored hash, `new` must meet the
/// password policy of SPEC §2 ([`registrar_rules::password::check_password`]) and differ from
/// `current`. Stores the argon2id hash of `new` and clears `password_reset_required`.
/// Refusals are [`Error::Refused`] with a message that never holds a password.
pub async fn set_password(
    db: &Database,
    email: &str,
    current: &Password,
    new: &Password,
) -> Result<()> {
    let email = email.trim().to_lowercase();
    let Some((id, hash)) = stored_hash(db, &email).await? else {
        return Err(Error::Refused(format!(
            "there is no user with the email {email}"
        )));
    };
    if let Err(why) = check_hash_cost(&hash) {
        return Err(Error::Refused(format!(
            "the stored password hash of {email} cannot be checked: {why}; nothing was changed (set a new hash with an import using --on-existing update)"
        )));
    }
    let (cur, h) = (current.clone(), hash);
    let ok = tokio::task::spawn_blocking(move || verify_password(cur.expose_secret(), &h))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(Error::Refused(format!(
            "the current password of {email} is wrong; nothing was changed"
        )));
    }
    if new.expose_secret() == current.expose_secret() {
        return Err(Error::Refused(
            "the new password is the same as the current one; choose a new one".into(),
        ));
    }
    let local = email.split('@').next().unwrap_or("");
    registrar_rules::password::check_password(new.expose_secret(), Some(local))
        .map_err(Error::Refused)?;
    let new = new.clone();
    let phc = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| Error::Refused(format!("hashing the new password failed: {e}")))?;
    match db {
        Database::Postgres(p) => {
            sqlx::query(
                "UPDATE users SET password_hash = $1, password_reset_required = FALSE, \
                 updated_at = now() WHERE id = $2",
            )
            .bind(phc)
            .bind(id)
            .execute(p)
            .await?;
        }
        Database::Sqlite(p) => {
            sqlx::query(
                "UPDATE users SET password_hash = ?1, password_reset_required = 0, \
                 updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?2",
            )
            .bind(phc)
            .bind(id)
            .execute(p)
            .await?;
        }
    }
    Ok(())
}

/// Sets `password_reset_required` on every user, except those with `except_role` (the
/// runbook: `--except-role admin`). Returns the number of users flagged.
pub async fn force_password_reset(db: &Database, except_role: Option<Role>) -> Result<u64> {
    match db {
        Database::Postgres(p) => {
            let mut c = p.acquire().await?;
            force_password_reset_on(registrar_db::Conn::Pg(&mut c), except_role).await
        }
        Database::Sqlite(p) => {
            let mut c = p.acquire().await?;
            force_password_reset_on(registrar_db::Conn::Sqlite(&mut c), except_role).await
        }
    }
}

/// [`force_password_reset`] on `conn`, inside the caller's transaction (the runbook's lock-down
/// commits together with its clean-up and import).
pub async fn force_password_reset_on(
    conn: registrar_db::Conn<'_>,
    except_role: Option<Role>,
) -> Result<u64> {
    let except = except_role.map(|r| r.as_str().to_string());
    let r = match conn {
        registrar_db::Conn::Pg(c) => sqlx::query(
            "UPDATE users SET password_reset_required = TRUE \
                 WHERE $1::text IS NULL OR role <> $1::text",
        )
        .bind(except)
        .execute(&mut *c)
        .await?
        .rows_affected(),
        registrar_db::Conn::Sqlite(c) => sqlx::query(
            "UPDATE users SET password_reset_required = 1 WHERE ?1 IS NULL OR role <> ?1",
        )
        .bind(except)
        .execute(&mut *c)
        .await?
        .rows_affected(),
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_file() {
        assert_eq!(sample_indices(5, None), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_indices(5, Some(10)), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_indices(100, Some(3)), vec![0, 49, 99]);
        assert_eq!(sample_indices(100, Some(1)), vec![0]);
        assert!(sample_indices(100, Some(0)).is_empty());
        let s = sample_indices(1000, Some(10));
        assert_eq!(s.len(), 10);
        assert_eq!(*s.last().unwrap(), 999);
    }
}
