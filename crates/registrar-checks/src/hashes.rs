//! The census of stored password hashes: accounts per scheme, legacy hashes left, stored
//! values that are no hash at all (`check`'s `non-argon2-passwords` and `legacy-hashes-left`,
//! and `stats`).

use crate::Result;
use registrar_db::{inspect, Conn};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the `users` table's `password_hash` column holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HashCensus {
    /// Accounts per scheme ([`registrar_hashes::HashScheme::as_str`]: `argon2id`, `bcrypt`,
    /// `ssha`, …), for every well-formed hash of a supported scheme.
    pub schemes: BTreeMap<String, u64>,
    /// Accounts whose hash is legacy ([`registrar_hashes::is_legacy`]: any scheme but argon2id
    /// at Registrar's policy) and well formed: they are upgraded at the next login through
    /// `registrar::login`.
    pub legacy: u64,
    /// Accounts whose stored value is NULL, no supported hash, malformed or beyond the cost
    /// caps: nobody can log in with them.
    pub unusable: u64,
    /// Accounts stored without a password on purpose (the
    /// [`registrar_hashes::NO_PASSWORD`] marker of `--missing-password reset`): nobody can
    /// log in until a reset sets one. Not counted in [`HashCensus::unusable`].
    #[serde(default)]
    pub no_password: u64,
}

/// Counts the stored hashes (one streamed pass over `users.password_hash`; no hash is kept or
/// shown).
pub async fn hash_census_on(conn: &mut Conn<'_>) -> Result<HashCensus> {
    let mut c = HashCensus::default();
    inspect::for_each_password_hash(conn, |h| match h.map(registrar_hashes::check) {
        Some(Ok(scheme)) => {
            *c.schemes.entry(scheme.as_str().to_owned()).or_default() += 1;
            if registrar_hashes::is_legacy(h.unwrap_or_default()) {
                c.legacy += 1;
            }
        }
        _ if h.is_some_and(registrar_hashes::is_no_password) => c.no_password += 1,
        _ => c.unusable += 1,
    })
    .await?;
    Ok(c)
}
