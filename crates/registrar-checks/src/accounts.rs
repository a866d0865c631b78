//! Accounts: login verification, password change and the forced password reset.
//!
//! No function here ever puts a password or a hash in a message, an error or a report. The
//! database is read and written only through [`registrar_db::inspect`].

use crate::{Error, Result};
use rayon::prelude::*;
use registrar_db::hash::{hash_password, verify_password};
use registrar_db::{inspect, Conn, Database};
use registrar_model::{Password, Role};
use registrar_rules::password::check_hash_cost;
use serde::Serialize;
use zeroize::Zeroize;

/// A login that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginFailure {
    /// The user's email (lower-case); `(not shown)` when the file's email cell is not a valid
    /// email address: such a value is never printed, since it may be a password typed into the
    /// wrong column (find it by [`LoginFailure::row`]).
    pub email: String,
    /// The row of the users file.
    pub row: u64,
    /// Why: no such user, wrong password, or a stored value that is no hash Registrar can
    /// verify (or one beyond the cost caps).
    pub reason: String,
}

/// The result of [`verify_credentials`] (and of the facade's `registrar::verify_logins`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct LoginReport {
    /// Credentials given: rows of the file that have an email and a password.
    pub candidates: u64,
    /// Logins tried (the sample).
    pub checked: u64,
    /// Logins that succeeded.
    pub passed: u64,
    /// Logins that failed, in file order.
    pub failed: Vec<LoginFailure>,
    /// Rows without a password (e.g. rows giving `password_hash`), not tried; counted by
    /// whoever reads the file ([`verify_credentials`] leaves it 0).
    pub skipped: u64,
    /// Accounts stored without a password on purpose ([`registrar_hashes::NO_PASSWORD`],
    /// `--missing-password reset`): "reset required, no password". Nobody can log in as them
    /// until a reset sets one, as intended, so they are not failures; a password given for
    /// one in the file is not tried.
    #[serde(default)]
    pub no_password: u64,
}

impl LoginReport {
    /// True when every login tried succeeded.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One login to try: a row of a users file (or any other source) with an email and a password.
///
/// The email is the cell as given: a value that is not a valid email address is never shown
/// (it may be a password typed into the wrong column); it is zeroized on drop like the
/// password, and `Debug` shows only the row.
pub struct Credential {
    /// The row it came from (counted from 1 as a person sees it, the header being row 1),
    /// reported in [`LoginFailure::row`].
    pub row: u64,
    /// The email cell as given (trimmed and lower-cased before the lookup).
    pub email: String,
    /// The password to try.
    pub password: Password,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        self.email.zeroize();
    }
}

/// What [`LoginFailure::email`] holds for an email cell that is not a valid email address.
pub const NOT_SHOWN: &str = "(not shown)";

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

/// Picks `sample` of `credentials` (all when `None`; otherwise spread evenly over them: the
/// first, the last and evenly spaced ones between, so a re-run tries the same users) and checks
/// each password against the stored hash (argon2 or any legacy scheme of `registrar-hashes`),
/// on every core. Reports the emails that
/// failed (in the order given, with their rows), never a password; an email that is not a
/// valid email address is reported as [`NOT_SHOWN`].
///
/// The facade's `registrar::verify_logins` reads the credentials from a users file.
pub async fn verify_credentials(
    db: &Database,
    credentials: impl IntoIterator<Item = Credential>,
    sample: Option<usize>,
) -> Result<LoginReport> {
    let credentials: Vec<Credential> = credentials.into_iter().collect();
    let picked: Vec<usize> = sample_indices(credentials.len(), sample);
    // A value that fails the email rule is dropped here: it may be a password.
    let emails: Vec<Option<String>> = picked
        .iter()
        .map(|&i| {
            registrar_rules::parse::email_str(&credentials[i].email)
                .ok()
                .map(|e| e.as_str().to_owned())
        })
        .collect();
    let lookup: Vec<&str> = emails.iter().filter_map(|e| e.as_deref()).collect();
    let hashes = {
        let mut pooled = db.acquire().await?;
        inspect::password_hashes(&mut pooled.conn(), &lookup).await?
    };
    let total = credentials.len() as u64;
    let no_password = emails
        .iter()
        .flatten()
        .filter(|e| {
            hashes
                .get(*e)
                .is_some_and(|h| registrar_hashes::is_no_password(h))
        })
        .count() as u64;
    let checked = picked.len() as u64 - no_password;
    let failed = tokio::task::spawn_blocking(move || {
        picked
            .par_iter()
            .zip(emails.par_iter())
            .filter_map(|(&i, email)| {
                let c = &credentials[i];
                let Some(email) = email else {
                    return Some(LoginFailure {
                        email: NOT_SHOWN.to_owned(),
                        row: c.row,
                        reason: "the email cell is not a valid email address (its value is not shown: it may be a password in the wrong column); fix the row".to_owned(),
                    });
                };
                let reason = match hashes.get(email) {
                    None => Some("no user with this email in the database"),
                    Some(h) if registrar_hashes::is_no_password(h) => None,
                    Some(h) => match registrar_hashes::check(h) {
                        Err(registrar_hashes::Error::TooCostly { .. }) => Some(
                            "the stored hash's cost is beyond Registrar's caps (see registrar_hashes::MAX_BCRYPT_COST and registrar_model::MAX_HASH_M_COST); it was not tried",
                        ),
                        Err(_) => Some("the stored password is not a password hash Registrar can verify (argon2, bcrypt, SHA-crypt, MD5-crypt, SSHA, Django PBKDF2, hex MD5/SHA-1)"),
                        Ok(_) if !verify_password(c.password.expose_secret(), h) => {
                            Some("the file's password does not match the stored hash")
                        }
                        Ok(_) => None,
                    },
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
        skipped: 0,
        no_password,
    })
}

/// How many of `emails` (as written; trimmed and lower-cased here, invalid ones ignored) name
/// an account stored without a password ([`registrar_hashes::NO_PASSWORD`]): what
/// `verify-logins` reports as "reset required, no password" for rows that give no password.
pub async fn count_without_password(db: &Database, emails: &[String]) -> Result<u64> {
    let valid: Vec<String> = emails
        .iter()
        .filter_map(|e| registrar_rules::parse::email_str(e).ok())
        .map(|e| e.as_str().to_owned())
        .collect();
    if valid.is_empty() {
        return Ok(0);
    }
    let lookup: Vec<&str> = valid.iter().map(String::as_str).collect();
    let mut pooled = db.acquire().await?;
    let hashes = inspect::password_hashes(&mut pooled.conn(), &lookup).await?;
    Ok(hashes
        .values()
        .filter(|h| registrar_hashes::is_no_password(h))
        .count() as u64)
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
    let mut pooled = db.acquire().await?;
    let Some(inspect::StoredPassword { user_id, hash }) =
        inspect::password_of(&mut pooled.conn(), &email).await?
    else {
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
    inspect::store_password_hash(&mut pooled.conn(), user_id, &phc).await?;
    Ok(())
}

/// Sets `password_reset_required` on every user, except those with `except_role` (the
/// runbook: `--except-role admin`). Returns the number of users flagged.
pub async fn force_password_reset(db: &Database, except_role: Option<Role>) -> Result<u64> {
    let mut pooled = db.acquire().await?;
    force_password_reset_on(pooled.conn(), except_role).await
}

/// [`force_password_reset`] on `conn`, inside the caller's transaction (the runbook's lock-down
/// commits together with its clean-up and import).
pub async fn force_password_reset_on(mut conn: Conn<'_>, except_role: Option<Role>) -> Result<u64> {
    Ok(inspect::force_password_reset(&mut conn, except_role).await?)
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
