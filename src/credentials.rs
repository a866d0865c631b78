//! Temporary passwords for accounts that arrive without one (`--missing-password generate`),
//! and the credentials file that hands them out.
//!
//! - [`generate_password`]: 20 characters drawn uniformly (rejection sampling on the operating
//!   system's random source, `rand_core::OsRng`) from [`ALPHABET`], 56 letters and digits with
//!   the look-alikes left out (`0 O o 1 l I`), about 116 bits. It is hashed with argon2id by
//!   the import's hashing pipeline exactly like a password from a file, and the account is
//!   flagged `password_reset_required`.
//! - The credentials file is a CSV `email,temporary_password`, one line per generated
//!   account, created with permissions 0600 as a temporary file in the target's folder and
//!   **put in place right before the import commits**, with the rejects files (a commit that
//!   fails takes it back out). So a run that fails, is refused, rolls back or only validates
//!   leaves no credentials file, and the file always matches what the database holds. An
//!   existing file at the target is refused before the run starts (it may be the only copy of
//!   an earlier run's passwords).
//! - A generated password exists in memory (zeroized on drop), in the hashing job and in this
//!   file, nowhere else: never in a report, a message, the audit log, a rejects file or a
//!   plan.

use crate::import::rejects::{excel_safe, open_private, PendingRejects};
use crate::Error;
use rand_core::{OsRng, RngCore};
use registrar_model::Password;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The characters of a generated password: letters and digits without the look-alikes
/// `0 O o 1 l I`.
pub const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// Characters in a generated password.
pub const GENERATED_LEN: usize = 20;

/// The header of a credentials file.
pub const HEADER: [&str; 2] = ["email", "temporary_password"];

/// A new random temporary password for the account `email` that passes the password policy
/// ([`registrar_rules::password::check_password`]): drawn again in the rare case that it holds
/// the email's local part (a 20-character draw holds a given 3-letter run about once in 2,000
/// times).
pub fn generate_password_for(email: &str) -> Password {
    let local = email.split('@').next().unwrap_or("");
    loop {
        let p = generate_password();
        if registrar_rules::password::check_password(p.expose_secret(), Some(local)).is_ok() {
            return p;
        }
    }
}

/// A new random temporary password ([`GENERATED_LEN`] characters of [`ALPHABET`]); see
/// [`generate_password_for`] for one that also passes the policy for a given account.
pub fn generate_password() -> Password {
    // The largest multiple of the alphabet's size below 256: bytes at or above it are
    // drawn again, so every character is equally likely.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut out = String::with_capacity(GENERATED_LEN);
    let mut buf = [0u8; 32];
    while out.len() < GENERATED_LEN {
        OsRng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < limit && out.len() < GENERATED_LEN {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    use zeroize::Zeroize;
    buf.zeroize();
    Password::new(out)
}

/// Refuses a credentials file target that cannot be written safely: one that exists already
/// (never overwritten) or whose folder does not exist.
pub fn check_target(target: &Path) -> Result<(), Error> {
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(Error::Usage(format!(
            "the credentials file {} exists already; it is never overwritten (it may hold an earlier run's passwords): move it away or give another --credentials-out",
            target.display()
        )));
    }
    let dir = parent_of(target);
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "cannot write the credentials file {}: the folder {} does not exist",
            target.display(),
            dir.display()
        )));
    }
    Ok(())
}

fn parent_of(target: &Path) -> PathBuf {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `credentials` (email, password) to a temporary 0600 file beside `target`, synced;
/// the caller puts it in place right before its commit (see the module docs).
pub(crate) fn write_pending(
    target: &Path,
    credentials: &[(String, Password)],
) -> Result<PendingRejects, Error> {
    check_target(target)?;
    let dir = parent_of(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials.csv".into());
    let mut n = 0u32;
    let (tmp, file) = loop {
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match open_private(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(Error::io(format!("cannot create {}", tmp.display()), e)),
        }
    };
    let cannot = |e: std::io::Error| Error::io(format!("cannot write {}", tmp.display()), e);
    let result = (|| {
        let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
        let csv_err = |e: csv::Error| std::io::Error::other(e.to_string());
        out.write_record(HEADER).map_err(csv_err)?;
        let mut cell = String::new();
        for (email, password) in credentials {
            excel_safe(email, &mut cell);
            out.write_record([cell.as_str(), password.expose_secret()])
                .map_err(csv_err)?;
        }
        let mut inner = out
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        inner.flush()?;
        let file = inner
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(cannot(e));
    }
    Ok(PendingRejects {
        tmp,
        target: target.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_unambiguous_distinct_and_pass_the_policy() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = generate_password_for("ann@example.org");
            let s = p.expose_secret();
            assert_eq!(s.chars().count(), GENERATED_LEN);
            assert!(s.bytes().all(|b| ALPHABET.contains(&b)), "{s}");
            assert!(!s.contains(['0', 'O', 'o', '1', 'l', 'I']));
            assert!(registrar_rules::password::check_password(s, Some("ann")).is_ok());
            assert!(seen.insert(s.to_owned()));
        }
    }

    #[test]
    fn a_generated_password_never_holds_the_local_part_regression() {
        // The policy refuses a password holding the local part (ignoring case): so must the
        // generator (it drew "ann" inside a password once in a test run).
        for _ in 0..200 {
            let p = generate_password_for("abc@example.org");
            assert!(!p.expose_secret().to_lowercase().contains("abc"));
        }
    }

    #[test]
    fn the_file_is_private_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("creds.csv");
        let p = write_pending(
            &target,
            &[(
                "ann@example.org".into(),
                Password::new("Abc23456789defghjkmn"),
            )],
        )
        .unwrap();
        assert!(!target.exists(), "only a temporary file until the commit");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p.tmp).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::rename(&p.tmp, &p.target).unwrap();
        let text = std::fs::read_to_string(&target).unwrap();
        assert_eq!(
            text,
            "email,temporary_password\nann@example.org,Abc23456789defghjkmn\n"
        );
        assert!(matches!(check_target(&target), Err(Error::Usage(_))));
        assert!(write_pending(&target, &[]).is_err());
    }
}
