//! Password hashes from old systems: recognise them, check them, verify a password against
//! them, and upgrade them to argon2id.
//!
//! # Brief overview
//! An old Student Management System rarely hands over plain passwords; when it hands over
//! anything, it is its own hashes. This crate knows the ones real exports carry:
//!
//! | [`HashScheme`] | shape | from |
//! |---|---|---|
//! | `argon2id` / `argon2i` / `argon2d` | `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (PHC) | Registrar itself, modern systems |
//! | `bcrypt` | `$2a$` / `$2b$` / `$2y$` + cost + 53 characters | PHP systems, Moodle |
//! | `sha256-crypt` / `sha512-crypt` | `$5$` / `$6$` (optionally `rounds=N$`) salt `$` hash | Unix `crypt(3)` |
//! | `md5-crypt` | `$1$salt$hash` | old Unix and LDAP directories |
//! | `ssha` | `{SSHA}` + base64(SHA-1 ‖ salt) | LDAP, Canvas's `ssha_password` |
//! | `django-pbkdf2-sha256` | `pbkdf2_sha256$iterations$salt$hash` | Django |
//! | `md5-hex` / `sha1-hex` | 32 / 40 hex digits, no salt | very old systems |
//!
//! - [`detect`] tells the scheme from the shape alone (cheap, never runs a hash).
//! - [`check`] checks that a hash is well formed and that its cost is bounded
//!   ([`MAX_BCRYPT_COST`], [`MAX_PBKDF2_ITERATIONS`], [`MAX_SHA_CRYPT_ROUNDS`] and the argon2
//!   caps of [`registrar_model::check_argon2_cost`]), so that no stored hash can make a login
//!   check take minutes.
//! - [`verify`] checks a password against any supported hash (after [`check`]).
//! - [`is_legacy`] says whether a hash should be replaced: everything but argon2id at
//!   Registrar's policy ([`POLICY_M_COST`], [`POLICY_WORK`]).
//! - [`upgrade`] hashes a password with argon2id at the policy; [`verify_and_upgrade`] is what
//!   a login does: verify, and when the stored hash is legacy, return its argon2id re-hash.
//!
//! No error message of this crate ever holds a password or a hash; a [`Error`] names the
//! scheme and what is wrong with its shape or cost. Comparisons of digests are constant-time
//! (`subtle`), and every buffer derived from a password is zeroized.
//!
//! # Example
//! ```
//! use registrar_hashes::{check, detect, is_legacy, verify, verify_and_upgrade, HashScheme};
//!
//! // Django's PBKDF2 of "correct horse battery" (salt "saltsalt", 1000 iterations).
//! let django = "pbkdf2_sha256$1000$saltsalt$2vLrmxK8YFROnGTL6oinO4bfT02gvTppeFbz7HWz5X0=";
//! assert_eq!(detect(django), Some(HashScheme::DjangoPbkdf2Sha256));
//! assert_eq!(check(django)?, HashScheme::DjangoPbkdf2Sha256);
//! assert!(verify("correct horse battery", django)?);
//! assert!(!verify("wrong", django)?);
//! assert!(is_legacy(django));
//!
//! let v = verify_and_upgrade("correct horse battery", django)?;
//! assert!(v.ok);
//! let new = v.upgraded.expect("a legacy hash is upgraded");
//! assert_eq!(detect(&new), Some(HashScheme::Argon2id));
//! assert!(!is_legacy(&new) && verify("correct horse battery", &new)?);
//!
//! // A malformed hash is an error that never quotes it.
//! let e = check("$2b$12$tooShort").unwrap_err();
//! assert!(!e.to_string().contains("tooShort"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod schemes;

pub use schemes::{MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, MAX_SHA_CRYPT_ROUNDS, MAX_SSHA_SALT};

/// Registrar's argon2id memory cost (KiB): OWASP's 19 MiB. An argon2 hash with less memory is
/// legacy ([`is_legacy`]).
pub const POLICY_M_COST: u32 = 19_456;
/// Registrar's argon2id iterations (OWASP).
pub const POLICY_T_COST: u32 = 2;
/// Registrar's argon2id lanes (OWASP).
pub const POLICY_P_COST: u32 = 1;
/// Least memory × iterations (KiB passes) of an argon2id hash that is not legacy: OWASP's
/// 19 MiB × 2 (their 46 MiB × 1 passes too).
pub const POLICY_WORK: u64 = POLICY_M_COST as u64 * POLICY_T_COST as u64;

/// The stored value of an account that has no password (`--missing-password reset`): `!`,
/// the Unix shadow file's "locked" marker. It is no hash of any scheme, so [`detect`] gives
/// `None`, [`check`] and [`verify`] an error, and no password ever verifies against it: nobody
/// can log in until an administrator (`registrar set-password` cannot, it needs the current
/// password) or the SMS's own reset flow stores a real hash. The account is flagged
/// `password_reset_required`.
pub const NO_PASSWORD: &str = "!";

/// True when `stored` is the [`NO_PASSWORD`] marker (an account awaiting a reset).
pub fn is_no_password(stored: &str) -> bool {
    stored == NO_PASSWORD
}

/// The hash schemes Registrar accepts in a `password_hash` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HashScheme {
    /// argon2id PHC string (Registrar's own; legacy below the policy).
    Argon2id,
    /// argon2i PHC string (always legacy).
    Argon2i,
    /// argon2d PHC string (always legacy).
    Argon2d,
    /// bcrypt, `$2a$` / `$2b$` / `$2y$`.
    Bcrypt,
    /// SHA-256-crypt, `$5$`.
    Sha256Crypt,
    /// SHA-512-crypt, `$6$`.
    Sha512Crypt,
    /// MD5-crypt, `$1$`.
    Md5Crypt,
    /// LDAP salted SHA-1, `{SSHA}`.
    Ssha,
    /// Django's `pbkdf2_sha256$iterations$salt$hash`.
    DjangoPbkdf2Sha256,
    /// A bare hex MD5 digest (32 hex digits, no salt).
    HexMd5,
    /// A bare hex SHA-1 digest (40 hex digits, no salt).
    HexSha1,
}

impl HashScheme {
    /// Every scheme, in the order reports list them.
    pub const ALL: [HashScheme; 11] = [
        HashScheme::Argon2id,
        HashScheme::Argon2i,
        HashScheme::Argon2d,
        HashScheme::Bcrypt,
        HashScheme::Sha256Crypt,
        HashScheme::Sha512Crypt,
        HashScheme::Md5Crypt,
        HashScheme::Ssha,
        HashScheme::DjangoPbkdf2Sha256,
        HashScheme::HexMd5,
        HashScheme::HexSha1,
    ];

    /// The stable name reports use (`argon2id`, `bcrypt`, `sha512-crypt`, `ssha`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            HashScheme::Argon2id => "argon2id",
            HashScheme::Argon2i => "argon2i",
            HashScheme::Argon2d => "argon2d",
            HashScheme::Bcrypt => "bcrypt",
            HashScheme::Sha256Crypt => "sha256-crypt",
            HashScheme::Sha512Crypt => "sha512-crypt",
            HashScheme::Md5Crypt => "md5-crypt",
            HashScheme::Ssha => "ssha",
            HashScheme::DjangoPbkdf2Sha256 => "django-pbkdf2-sha256",
            HashScheme::HexMd5 => "md5-hex",
            HashScheme::HexSha1 => "sha1-hex",
        }
    }

    /// The scheme named `s` (as [`HashScheme::as_str`] writes it).
    pub fn from_name(s: &str) -> Option<HashScheme> {
        HashScheme::ALL.into_iter().find(|h| h.as_str() == s)
    }

    /// True for the bare digests without a salt ([`HashScheme::HexMd5`],
    /// [`HashScheme::HexSha1`]): one table of precomputed digests cracks them all, so an
    /// import accepts them only when asked to (`--accept-unsalted-hashes`).
    pub fn is_unsalted(self) -> bool {
        matches!(self, HashScheme::HexMd5 | HashScheme::HexSha1)
    }

    /// True for the argon2 PHC schemes.
    pub fn is_argon2(self) -> bool {
        matches!(
            self,
            HashScheme::Argon2id | HashScheme::Argon2i | HashScheme::Argon2d
        )
    }
}

impl std::fmt::Display for HashScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a hash cannot be accepted or checked. Messages name the scheme and what is wrong, never
/// the hash (nor a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The value has none of the shapes of [`HashScheme`].
    #[error("the value is not a password hash Registrar recognises (argon2 PHC, bcrypt $2a$/$2b$/$2y$, SHA-crypt $5$/$6$, MD5-crypt $1$, LDAP {{SSHA}}, Django pbkdf2_sha256$…, or a 32/40-digit hex MD5/SHA-1 digest); export the hash whole, or give a plain password instead to have it hashed")]
    Unrecognised,
    /// The value has a scheme's shape but is not a well-formed hash of it.
    #[error("the {scheme} password hash is malformed: {why}; export the hash whole, or give a plain password instead")]
    Malformed {
        /// The scheme its shape names.
        scheme: HashScheme,
        /// What is wrong (never a part of the hash).
        why: &'static str,
    },
    /// The hash's work factor is beyond the caps: verifying a password against it would take
    /// too long (or too much memory), so it is never run.
    #[error("the {scheme} password hash's cost is too high ({cost}); Registrar accepts {limit}, so that checking a login stays fast; give a plain password instead to have it hashed")]
    TooCostly {
        /// The scheme.
        scheme: HashScheme,
        /// The cost the hash asks for (its parameters only).
        cost: String,
        /// What is accepted.
        limit: String,
    },
    /// argon2 refused to hash a password (only for passwords over 4 GiB).
    #[error("argon2 refused to hash the password")]
    Hashing,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The scheme `hash` has the shape of, from its prefix (or, for hex digests, its length);
/// `None` when it has none. Never runs a hash and never says whether it is well formed (see
/// [`check`]).
///
/// ```
/// use registrar_hashes::{detect, HashScheme};
/// assert_eq!(detect("$2y$10$abc"), Some(HashScheme::Bcrypt));
/// assert_eq!(detect("{ssha}abc"), Some(HashScheme::Ssha));
/// assert_eq!(detect("5f4dcc3b5aa765d61d8327deb882cf99"), Some(HashScheme::HexMd5));
/// assert_eq!(detect("hunter2"), None);
/// ```
pub fn detect(hash: &str) -> Option<HashScheme> {
    let starts = |p: &str| hash.starts_with(p);
    let scheme = if starts("$argon2id$") {
        HashScheme::Argon2id
    } else if starts("$argon2i$") {
        HashScheme::Argon2i
    } else if starts("$argon2d$") {
        HashScheme::Argon2d
    } else if starts("$2a$") || starts("$2b$") || starts("$2y$") {
        HashScheme::Bcrypt
    } else if starts("$5$") {
        HashScheme::Sha256Crypt
    } else if starts("$6$") {
        HashScheme::Sha512Crypt
    } else if starts("$1$") {
        HashScheme::Md5Crypt
    } else if hash.len() >= 6
        && hash.is_char_boundary(6)
        && hash[..6].eq_ignore_ascii_case("{SSHA}")
    {
        HashScheme::Ssha
    } else if starts("pbkdf2_sha256$") {
        HashScheme::DjangoPbkdf2Sha256
    } else if hash.len() == 32 && is_hex(hash) {
        HashScheme::HexMd5
    } else if hash.len() == 40 && is_hex(hash) {
        HashScheme::HexSha1
    } else {
        return None;
    };
    Some(scheme)
}

/// Checks that `hash` is a well-formed hash of a supported scheme whose cost is within the
/// caps; returns its scheme. Never runs the hash (cheap). Unsalted digests pass here: whether
/// to accept them is the importer's policy ([`HashScheme::is_unsalted`]).
///
/// Errors: [`Error::Unrecognised`], [`Error::Malformed`], [`Error::TooCostly`].
pub fn check(hash: &str) -> Result<HashScheme> {
    let scheme = detect(hash).ok_or(Error::Unrecognised)?;
    match scheme {
        HashScheme::Argon2id | HashScheme::Argon2i | HashScheme::Argon2d => {
            schemes::check_argon2(scheme, hash).map(|_| ())
        }
        HashScheme::Bcrypt => schemes::check_bcrypt(hash),
        HashScheme::Sha256Crypt | HashScheme::Sha512Crypt => schemes::check_sha_crypt(scheme, hash),
        HashScheme::Md5Crypt => schemes::check_md5_crypt(hash),
        HashScheme::Ssha => schemes::check_ssha(hash),
        HashScheme::DjangoPbkdf2Sha256 => schemes::check_django(hash),
        // The shape (length and hex digits) is all there is.
        HashScheme::HexMd5 | HashScheme::HexSha1 => Ok(()),
    }?;
    Ok(scheme)
}

/// True when `password` matches `hash`, of any supported scheme. The hash is [`check`]ed
/// first, so a malformed or over-costly one is an `Err` and is never run.
///
/// A wrong password is `Ok(false)`, never an error.
pub fn verify(password: &str, hash: &str) -> Result<bool> {
    let scheme = check(hash)?;
    match scheme {
        HashScheme::Argon2id | HashScheme::Argon2i | HashScheme::Argon2d => {
            schemes::verify_argon2(password, hash)
        }
        HashScheme::Bcrypt => schemes::verify_bcrypt(password, hash),
        HashScheme::Sha256Crypt | HashScheme::Sha512Crypt => {
            schemes::verify_sha_crypt(scheme, password, hash)
        }
        HashScheme::Md5Crypt => schemes::verify_md5_crypt(password, hash),
        HashScheme::Ssha => schemes::verify_ssha(password, hash),
        HashScheme::DjangoPbkdf2Sha256 => schemes::verify_django(password, hash),
        HashScheme::HexMd5 | HashScheme::HexSha1 => schemes::verify_hex(scheme, password, hash),
    }
}

/// True when `hash` should be replaced by an argon2id hash at the next login: every scheme but
/// argon2id, and an argon2id hash below the policy (version other than 0x13, memory below
/// [`POLICY_M_COST`] KiB, or memory × iterations below [`POLICY_WORK`]). A value that is not a
/// well-formed hash is legacy too (it is no argon2id hash at the policy).
pub fn is_legacy(hash: &str) -> bool {
    match check(hash) {
        Ok(HashScheme::Argon2id) => match schemes::check_argon2(HashScheme::Argon2id, hash) {
            Ok(p) => {
                !schemes::argon2_version_is_current(hash)
                    || p.m_cost() < POLICY_M_COST
                    || u64::from(p.m_cost()) * u64::from(p.t_cost()) < POLICY_WORK
            }
            Err(_) => true,
        },
        _ => true,
    }
}

/// Hashes `password` with argon2id at the policy (m = [`POLICY_M_COST`] KiB, t =
/// [`POLICY_T_COST`], p = [`POLICY_P_COST`]) and a random 16-byte salt; returns the PHC string.
pub fn upgrade(password: &str) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(POLICY_M_COST, POLICY_T_COST, POLICY_P_COST, Some(32))
        .map_err(|_| Error::Hashing)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::generate(&mut rand_core::OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Hashing)
}

/// What a login check found ([`verify_and_upgrade`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Verified {
    /// True when the password matches the stored hash.
    pub ok: bool,
    /// When `ok` and the stored hash is legacy ([`is_legacy`]): its argon2id re-hash, to store
    /// in place of the old one. `None` otherwise.
    pub upgraded: Option<String>,
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The new hash is not shown.
        f.debug_struct("Verified")
            .field("ok", &self.ok)
            .field("upgraded", &self.upgraded.is_some())
            .finish()
    }
}

/// A login: verifies `password` against `stored` (any supported scheme) and, when it matches
/// and `stored` is legacy, hashes the password again with argon2id ([`upgrade`]) so the caller
/// can store that instead. The database converges to argon2id as people log in.
pub fn verify_and_upgrade(password: &str, stored: &str) -> Result<Verified> {
    let ok = verify(password, stored)?;
    let upgraded = if ok && is_legacy(stored) {
        Some(upgrade(password)?)
    } else {
        None
    };
    Ok(Verified { ok, upgraded })
}

/// What an import does with a legacy hash ([`is_legacy`]) in `password_hash`
/// (`--legacy-hashes`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegacyHashes {
    /// Keep it as it is; it is upgraded to argon2id at the account's first login (the SMS
    /// calls [`verify_and_upgrade`]). The default.
    #[default]
    Keep,
    /// Keep it, and flag the account `password_reset_required`.
    Reset,
    /// Refuse the row (`legacy-hash-refused`).
    Refuse,
}

impl LegacyHashes {
    /// Every policy.
    pub const ALL: [LegacyHashes; 3] = [
        LegacyHashes::Keep,
        LegacyHashes::Reset,
        LegacyHashes::Refuse,
    ];

    /// `keep`, `reset` or `refuse`.
    pub fn as_str(self) -> &'static str {
        match self {
            LegacyHashes::Keep => "keep",
            LegacyHashes::Reset => "reset",
            LegacyHashes::Refuse => "refuse",
        }
    }

    /// The policy named `s` (as [`LegacyHashes::as_str`] writes it).
    pub fn parse(s: &str) -> Option<LegacyHashes> {
        LegacyHashes::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for LegacyHashes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An import's policy for the `password_hash` column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct HashPolicy {
    /// What a legacy hash does (`--legacy-hashes`).
    pub legacy: LegacyHashes,
    /// Accept bare hex MD5 / SHA-1 digests (`--accept-unsalted-hashes`), with an
    /// `unsalted-hash` warning per row; without it they are errors.
    pub accept_unsalted: bool,
}

#[cfg(test)]
mod no_password_tests {
    use super::*;

    #[test]
    fn the_no_password_marker_never_verifies() {
        assert!(is_no_password(NO_PASSWORD));
        assert!(!is_no_password("$argon2id$v=19$m=19456,t=2,p=1$x$y"));
        assert_eq!(detect(NO_PASSWORD), None);
        assert!(check(NO_PASSWORD).is_err());
        for pw in ["", "!", " ", "password", "\0"] {
            assert!(verify(pw, NO_PASSWORD).is_err(), "{pw:?}");
            assert!(verify_and_upgrade(pw, NO_PASSWORD).map_or(true, |v| !v.ok));
        }
    }
}
