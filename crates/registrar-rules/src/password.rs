//! The password policy and the `password_hash` check.
//!
//! A password is accepted when it
//! - has 8 to 128 characters (characters, not bytes: `"pässwörd"` has 8);
//! - is not on the built-in list of common passwords (exact match, ignoring case). The list
//!   is compiled in (`common-passwords.txt`, from zxcvbn's password frequency list: the
//!   passwords of 8 or more characters among its 10,000 most common, plus a few school
//!   defaults such as `changeme123`);
//! - does not contain the email's local part, ignoring case. This rule applies only when the
//!   local part has at least [`MIN_LOCAL_PART_LEN`] characters (a local part like `jo` would
//!   refuse far too many good passwords).
//!
//! Messages say what to fix and never include the password (or the hash).
//!
//! ```
//! use registrar_rules::password::{check_password, is_common};
//! assert!(is_common("PASSWORD123"));
//! assert!(check_password("correct horse battery staple", Some("carol")).is_ok());
//! let why = check_password("carol2024!", Some("carol")).unwrap_err();
//! assert!(!why.contains("carol2024!"));
//! ```

use std::collections::HashSet;
use std::sync::OnceLock;
use validator::ValidateLength;
use zeroize::Zeroizing;

/// Fewest characters a password may have.
pub const MIN_LEN: usize = 8;
/// Most characters a password may have.
pub const MAX_LEN: usize = 128;
/// The email local part must have at least this many characters for the "does not contain
/// the local part" rule to apply.
pub const MIN_LOCAL_PART_LEN: usize = 3;

const COMMON: &str = include_str!("common-passwords.txt");

fn common_set() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

/// How many passwords the built-in list holds.
pub fn common_count() -> usize {
    common_set().len()
}

/// True when the password is on the built-in list of common passwords (ignoring case).
pub fn is_common(password: &str) -> bool {
    let lower = Zeroizing::new(password.to_lowercase());
    common_set().contains(lower.as_str())
}

/// Checks the policy. `email_local_part` is the part of the user's email before the `@`.
///
/// On failure returns a message naming every rule the password breaks and how to fix it; the
/// message never contains the password.
pub fn check_password(password: &str, email_local_part: Option<&str>) -> Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    // The length rule is the `validator` crate's (characters, not bytes); the count is taken
    // again only for the message.
    if !password.validate_length(Some(MIN_LEN as u64), Some(MAX_LEN as u64), None) {
        let n = password.chars().count();
        if n < MIN_LEN {
            problems.push(format!("it has {n} characters; use at least {MIN_LEN}"));
        } else {
            problems.push(format!("it has {n} characters; use at most {MAX_LEN}"));
        }
    }
    if is_common(password) {
        problems
            .push("it is on the list of common passwords; choose one that is hard to guess".into());
    }
    if let Some(local) = email_local_part {
        if local.chars().count() >= MIN_LOCAL_PART_LEN {
            let lower = Zeroizing::new(password.to_lowercase());
            if lower.contains(&local.to_lowercase()) {
                problems.push("it contains the user's email name (the part before the @); choose one that does not".into());
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("the password is too weak: {}", problems.join("; ")))
    }
}

/// A warning when the password begins or ends with whitespace (a space after the comma of a
/// hand-typed `email, password` line, say): the password is kept exactly as written, so the
/// user must type the space too. The message never quotes the password.
pub fn whitespace_warning(password: &str) -> Option<String> {
    let lead = password.starts_with(char::is_whitespace);
    let trail = password.ends_with(char::is_whitespace);
    let where_ = match (lead, trail) {
        (false, false) => return None,
        (true, false) => "begins",
        (false, true) => "ends",
        (true, true) => "begins and ends",
    };
    Some(format!(
        "the password {where_} with a space (or another blank character); it is kept exactly as written, so the user must type it too. If the space is not part of the password (for example a space after a comma in the file), remove it and import again"
    ))
}

/// Why a `password_hash` value is refused: the issue code and a message that never holds the
/// hash.
pub type HashRefusal = (registrar_model::IssueCode, String);

/// Checks a `password_hash` value under `policy` ([`registrar_hashes::check`]: one of the
/// supported schemes, well formed, its cost within the caps). Returns the scheme and, for an
/// unsalted digest accepted with `accept_unsalted`, an `unsalted-hash` warning message.
///
/// Refusals: `invalid-hash` (no supported shape, or malformed), `hash-too-costly`,
/// `unsalted-hash` (a hex digest without `accept_unsalted`), `legacy-hash-refused` (a legacy
/// hash with [`registrar_hashes::LegacyHashes::Refuse`]). No message holds the hash.
pub fn check_hash_with(
    hash: &str,
    policy: &registrar_hashes::HashPolicy,
) -> Result<(registrar_hashes::HashScheme, Option<String>), HashRefusal> {
    use registrar_hashes::{Error, LegacyHashes};
    use registrar_model::IssueCode;
    let scheme = match registrar_hashes::check(hash) {
        Ok(s) => s,
        Err(e @ Error::TooCostly { .. }) => return Err((IssueCode::HashTooCostly, e.to_string())),
        Err(e) => return Err((IssueCode::InvalidHash, e.to_string())),
    };
    if scheme.is_unsalted() && !policy.accept_unsalted {
        return Err((
            IssueCode::UnsaltedHash,
            format!("the password hash is a bare {scheme} digest without a salt, which a table of precomputed digests cracks at once; it is accepted only with --accept-unsalted-hashes (the account should then be reset), or give a plain password"),
        ));
    }
    if policy.legacy == LegacyHashes::Refuse && registrar_hashes::is_legacy(hash) {
        let why = if scheme == registrar_hashes::HashScheme::Argon2id {
            "an argon2id hash below Registrar's policy (m = 19456 KiB, t = 2)".to_owned()
        } else {
            format!("a {scheme} hash")
        };
        return Err((
            IssueCode::LegacyHashRefused,
            format!("the password hash is {why}, and this run refuses legacy hashes (--legacy-hashes refuse); give a plain password, or import with --legacy-hashes keep (upgraded at first login) or reset (the user must choose a new password)"),
        ));
    }
    if scheme.is_unsalted() {
        return Ok((
            scheme,
            Some(format!("the password hash is a bare {scheme} digest without a salt; it is kept because of --accept-unsalted-hashes and upgraded to argon2id at the first login, but consider --legacy-hashes reset")),
        ));
    }
    Ok((scheme, None))
}

/// Checks that `hash` is a well-formed password hash of a supported scheme (argon2 PHC,
/// bcrypt, SHA-crypt, MD5-crypt, LDAP `{SSHA}`, Django PBKDF2, hex MD5/SHA-1) whose cost is
/// within the caps ([`registrar_hashes::check`]). The error message never contains the hash.
pub fn check_hash(hash: &str) -> Result<(), String> {
    registrar_hashes::check(hash.trim())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub use registrar_model::{MAX_HASH_M_COST, MAX_HASH_P_COST, MAX_HASH_T_COST, MAX_HASH_WORK};

/// Checks that a stored hash's cost is within the caps (argon2: [`MAX_HASH_M_COST`],
/// [`MAX_HASH_T_COST`], [`MAX_HASH_P_COST`], [`MAX_HASH_WORK`]; bcrypt, PBKDF2, SHA-crypt: the
/// caps of [`registrar_hashes`]) before anyone verifies a password against it. A string that
/// is not a well-formed hash passes here (it is never run). The message names the parameters,
/// never the hash.
pub fn check_hash_cost(hash: &str) -> Result<(), String> {
    match registrar_hashes::check(hash.trim()) {
        Err(e @ registrar_hashes::Error::TooCostly { .. }) => Err(e.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_HASH: &str =
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

    #[test]
    fn list_is_big_enough_and_lower_case() {
        assert!(common_count() >= 1000, "{}", common_count());
        assert!(COMMON
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l == l.to_lowercase() && l.chars().count() >= MIN_LEN));
    }

    #[test]
    fn length_counts_characters() {
        assert!(check_password("pässwörd-x", None).is_ok());
        assert!(check_password("ääääääää", None).is_ok()); // 8 chars, 16 bytes
        assert!(check_password("äääääää", None).is_err()); // 7 chars, 14 bytes
        assert!(check_password(&"x".repeat(128), None).is_ok());
        let long = "x".repeat(129);
        let e = check_password(&long, None).unwrap_err();
        assert!(e.contains("at most 128"));
        assert!(!e.contains(&long));
        let e = check_password("Ab1!", None).unwrap_err();
        assert!(e.contains("at least 8"));
    }

    #[test]
    fn length_messages_are_unchanged() {
        // The length rule is the `validator` crate's; the message is ours, byte for byte.
        assert_eq!(
            check_password("\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}\u{e4}", None),
            Err("the password is too weak: it has 7 characters; use at least 8".to_owned())
        );
        assert_eq!(
            check_password(&"x".repeat(129), None),
            Err("the password is too weak: it has 129 characters; use at most 128".to_owned())
        );
        assert_eq!(check_password(&"\u{e4}".repeat(128), None), Ok(()));
    }

    #[test]
    fn common_passwords_ignoring_case() {
        for p in [
            "password",
            "PassWord",
            "12345678",
            "iloveyou",
            "Changeme123",
            "qwertyuiop",
        ] {
            let e = check_password(p, None).unwrap_err();
            assert!(e.contains("common"), "{p}: {e}");
            // (The word "password" itself appears in every message.)
            assert!(
                p.eq_ignore_ascii_case("password") || !e.to_lowercase().contains(&p.to_lowercase())
            );
        }
        assert!(check_password("Tr0ub4dor&3-horse", None).is_ok());
    }

    #[test]
    fn local_part_rule() {
        let e = check_password("xxCAROLxx-42", Some("carol")).unwrap_err();
        assert!(e.contains("email"));
        assert!(!e.to_lowercase().contains("xxcarolxx"));
        // Short local parts are ignored.
        assert!(check_password("xxjoxx-42-zz", Some("jo")).is_ok());
        assert!(check_password("xxjoxx-42-zz", Some("carol")).is_ok());
    }

    #[test]
    fn several_problems_in_one_message() {
        let e = check_password("carol", Some("carol")).unwrap_err();
        assert!(e.contains("at least 8") && e.contains("email"), "{e}");
    }

    #[test]
    fn hashes() {
        assert!(check_hash(GOOD_HASH).is_ok());
        // bcrypt and the other legacy schemes are accepted since issue 14.
        assert!(check_hash("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW").is_ok());
        assert!(check_hash(&GOOD_HASH.replace("argon2id", "argon2i")).is_ok());
        for bad in [
            "not-a-hash",
            "$pbkdf2-sha256$i=1000$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=19456,t=2,p=1",
            "$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
            "",
            "$hunter2",
            "$hunter2$secret",
        ] {
            let e = check_hash(bad).unwrap_err();
            assert!(!e.contains("hunter2") && !e.contains("secret"), "{e}");
            assert!(bad.len() < 8 || !e.contains(bad), "{e}");
        }
    }

    #[test]
    fn absurd_argon2_parameters_are_refused_without_the_hash() {
        let tail = "$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        for params in [
            "m=4194304,t=2,p=1",
            "m=19456,t=4294967295,p=1",
            "m=19456,t=2,p=64",
            "m=262144,t=10,p=1",
        ] {
            let h = format!("$argon2id$v=19${params}{tail}");
            let e = check_hash(&h).unwrap_err();
            assert!(e.contains("too high") && !e.contains(tail), "{e}");
            assert!(check_hash_cost(&h).is_err());
        }
        for params in ["m=19456,t=2,p=1", "m=65536,t=3,p=4", "m=262144,t=4,p=1"] {
            let h = format!("$argon2id$v=19${params}{tail}");
            assert!(check_hash(&h).is_ok(), "{params}");
        }
        assert!(check_hash_cost("not a hash").is_ok());
    }
}
