//! The login an SMS runs: verify a password against the stored hash, whatever system made it,
//! and converge the database to argon2id as people log in.
//!
//! Accounts migrated with `--legacy-hashes keep` (the default) keep the hash their old system
//! made (bcrypt, SHA-crypt, MD5-crypt, LDAP `{SSHA}`, Django PBKDF2, hex MD5/SHA-1, or argon2
//! below Registrar's policy). At each login the SMS calls [`verify_and_upgrade`]; when the
//! password matches and the stored hash is legacy, the answer carries the argon2id re-hash to
//! store instead ([`verify_and_upgrade_in`] stores it itself). After everyone has logged in
//! once, `registrar check --fail-on-legacy` passes.
//!
//! - Comparisons are constant-time (`subtle`, or the primitive crate's own constant-time
//!   check), every buffer derived from the password is zeroized, and
//!   [`verify_and_upgrade_in`] takes a [`Password`], which zeroizes itself on drop.
//! - A stored hash beyond the cost caps (bcrypt cost > 16, PBKDF2 > 3,000,000 iterations, …;
//!   see [`registrar_hashes`]) is never run: [`Error::UnusableHash`]. No error names the
//!   scheme or holds the hash, and a wrong password is `ok: false`, never an error.
//! - Verification is CPU work (tens to hundreds of milliseconds): [`verify_and_upgrade`] is
//!   synchronous (call it from a blocking context), [`verify_and_upgrade_in`] runs it on
//!   tokio's blocking pool.
//!
//! # Example
//! ```
//! use registrar::login::verify_and_upgrade;
//!
//! // An account imported from Django, its hash kept verbatim.
//! let stored = "pbkdf2_sha256$1000$saltsalt$2vLrmxK8YFROnGTL6oinO4bfT02gvTppeFbz7HWz5X0=";
//! let v = verify_and_upgrade("correct horse battery", stored)?;
//! assert!(v.ok);
//! let new = v.upgraded.expect("legacy: the argon2id re-hash to store");
//! assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
//! // The next login verifies against the new hash and needs no upgrade.
//! let again = verify_and_upgrade("correct horse battery", &new)?;
//! assert!(again.ok && again.upgraded.is_none());
//! assert!(!verify_and_upgrade("wrong", &new)?.ok);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::Error;
use registrar_db::{inspect, Database};
use registrar_model::Password;

pub use registrar_hashes::{is_legacy, Verified};

/// Verifies `password` against `stored_hash` (any scheme Registrar accepts) and, when it
/// matches and the hash is legacy ([`is_legacy`]), returns its argon2id re-hash in
/// [`Verified::upgraded`] for the caller to store in place of the old one.
///
/// A wrong password is `Ok` with `ok: false`. [`Error::UnusableHash`] when the stored value
/// cannot be checked (malformed, unsupported, beyond the cost caps); the message names no
/// scheme. Synchronous and CPU-bound.
pub fn verify_and_upgrade(password: &str, stored_hash: &str) -> Result<Verified, Error> {
    registrar_hashes::verify_and_upgrade(password, stored_hash).map_err(|_| Error::UnusableHash)
}

/// [`verify_and_upgrade`] against the database: looks up the user by email (trimmed, ignoring
/// case), verifies on tokio's blocking pool, and when the stored hash is legacy stores the
/// argon2id re-hash (only if the stored hash is still the one verified; the account's
/// `password_reset_required` is left as it is).
///
/// An email with no user is `ok: false` (like a wrong password, so a caller cannot tell them
/// apart). [`Verified::upgraded`] is the hash that was stored, if any.
pub async fn verify_and_upgrade_in(
    db: &Database,
    email: &str,
    password: &Password,
) -> Result<Verified, Error> {
    let email = email.trim().to_lowercase();
    let mut pooled = db.acquire().await?;
    let Some(stored) = inspect::password_of(&mut pooled.conn(), &email).await? else {
        return Ok(Verified {
            ok: false,
            upgraded: None,
        });
    };
    let (pw, hash) = (password.clone(), stored.hash.clone());
    let v = tokio::task::spawn_blocking(move || verify_and_upgrade(pw.expose_secret(), &hash))
        .await
        .map_err(|e| Error::Internal(format!("the login check failed: {e}")))??;
    if let Some(new) = &v.upgraded {
        let n =
            inspect::replace_password_hash(&mut pooled.conn(), stored.user_id, &stored.hash, new)
                .await?;
        if n == 0 {
            // Another login or a password change replaced the hash first: keep theirs.
            return Ok(Verified {
                ok: v.ok,
                upgraded: None,
            });
        }
    }
    Ok(v)
}
