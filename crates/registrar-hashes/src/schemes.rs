//! The well-formedness checks and verifiers of each scheme.
//!
//! Every primitive is a well-kept crate: argon2 (`argon2`), bcrypt (`bcrypt`), SHA-crypt
//! (RustCrypto `sha-crypt`), PBKDF2 (RustCrypto `pbkdf2` + `hmac` + `sha2`), SHA-1 (`sha1`),
//! MD5 (`md-5`). What is composed here is only what each scheme's documentation says to do
//! with a digest:
//! - LDAP `{SSHA}` (RFC 2307 style, as OpenLDAP's `slappasswd` writes it):
//!   `base64(sha1(password ‖ salt) ‖ salt)`.
//! - hex MD5 / SHA-1: `hex(md5(password))`, `hex(sha1(password))`.
//! - MD5-crypt (`$1$`, Poul-Henning Kamp's FreeBSD `crypt-md5.c`, also glibc's): 1,000 rounds
//!   of MD5 over the password, the salt and the previous digest, in the documented order. No
//!   well-kept crate on RustCrypto's traits implements it (`pwhash` is on `digest` 0.9 and would
//!   add a second generation of every digest crate; `md5crypt` is on the unrelated `md5` crate),
//!   so the composition is here, over RustCrypto's `md-5`, and tested against glibc's `crypt`
//!   (through Python) in `tests/fixtures/legacy-hashes`.
//!
//! Every comparison of a computed digest with a stored one is constant-time (`subtle`), and
//! every buffer that holds the password or a value derived from it is zeroized.

use crate::{Error, HashScheme, Result};
use base64::Engine as _;
use md5::Md5;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Largest bcrypt cost accepted (2^16 rounds: about 5 s per verification on a 2025 core).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Largest PBKDF2 iteration count accepted (Django 5.2 uses 1,000,000 and 6.0 1,200,000; at
/// 3,000,000 one verification takes about a second).
pub const MAX_PBKDF2_ITERATIONS: u32 = 3_000_000;
/// Largest SHA-crypt `rounds=` accepted (the default is 5,000, passlib's 535,000).
pub const MAX_SHA_CRYPT_ROUNDS: u32 = 1_000_000;
/// Longest SSHA salt accepted, in bytes (OpenLDAP writes 4 or 8).
pub const MAX_SSHA_SALT: usize = 64;

/// The crypt(3) alphabet (`./0-9A-Za-z`).
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'/'
}

fn malformed(scheme: HashScheme, why: &'static str) -> Error {
    Error::Malformed { scheme, why }
}

/// Base64 with or without padding (LDAP tools and Django both pad; some exports strip it).
fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

// ---- argon2 -------------------------------------------------------------------------------

pub(crate) fn check_argon2(scheme: HashScheme, hash: &str) -> Result<argon2::Params> {
    let parsed = argon2::PasswordHash::new(hash)
        .map_err(|_| malformed(scheme, "it is not a valid PHC string"))?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(malformed(scheme, "it has no salt or no hash part"));
    }
    let params = argon2::Params::try_from(&parsed)
        .map_err(|_| malformed(scheme, "its parameters are not valid argon2 parameters"))?;
    registrar_model::check_argon2_cost(params.m_cost(), params.t_cost(), params.p_cost()).map_err(
        |_| Error::TooCostly {
            scheme,
            cost: format!(
                "m = {} KiB, t = {}, p = {}",
                params.m_cost(),
                params.t_cost(),
                params.p_cost()
            ),
            limit: format!(
                "m up to {} KiB, t up to {}, p up to {} and m × t up to {}",
                registrar_model::MAX_HASH_M_COST,
                registrar_model::MAX_HASH_T_COST,
                registrar_model::MAX_HASH_P_COST,
                registrar_model::MAX_HASH_WORK
            ),
        },
    )?;
    Ok(params)
}

pub(crate) fn argon2_version_is_current(hash: &str) -> bool {
    argon2::PasswordHash::new(hash)
        .ok()
        .and_then(|p| p.version)
        .is_some_and(|v| v == 0x13)
}

pub(crate) fn verify_argon2(password: &str, hash: &str) -> Result<bool> {
    use argon2::PasswordVerifier;
    let parsed = argon2::PasswordHash::new(hash)
        .map_err(|_| malformed(HashScheme::Argon2id, "it is not a valid PHC string"))?;
    // The comparison inside `verify_password` is constant-time (`password_hash::Output`).
    Ok(argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

// ---- bcrypt -------------------------------------------------------------------------------

/// `$2b$CC$` + 22 characters of salt + 31 of hash, in bcrypt's base64 alphabet.
pub(crate) fn check_bcrypt(hash: &str) -> Result<()> {
    let s = HashScheme::Bcrypt;
    let b = hash.as_bytes();
    if b.len() != 60 || b[6] != b'$' {
        return Err(malformed(
            s,
            "it must be 60 characters: $2b$, a two-digit cost, $, 53 characters",
        ));
    }
    let cost: u32 = hash[4..6]
        .parse()
        .map_err(|_| malformed(s, "its cost is not a two-digit number"))?;
    if !(4..=31).contains(&cost) {
        return Err(malformed(s, "its cost must be between 04 and 31"));
    }
    if !b[7..].iter().all(|&c| is_crypt_char(c)) {
        return Err(malformed(
            s,
            "its salt and hash hold characters outside bcrypt's alphabet",
        ));
    }
    if cost > MAX_BCRYPT_COST {
        return Err(Error::TooCostly {
            scheme: s,
            cost: format!("cost {cost}"),
            limit: format!("a cost up to {MAX_BCRYPT_COST}"),
        });
    }
    Ok(())
}

pub(crate) fn verify_bcrypt(password: &str, hash: &str) -> Result<bool> {
    // bcrypt's own comparison is constant-time (`subtle`); like PHP and Moodle it looks at the
    // first 72 bytes of the password.
    bcrypt::verify(password.as_bytes(), hash)
        .map_err(|_| malformed(HashScheme::Bcrypt, "it could not be read"))
}

// ---- SHA-crypt ----------------------------------------------------------------------------

struct ShaCrypt<'a> {
    rounds: u32,
    salt: &'a str,
    digest: &'a str,
}

/// `$5$[rounds=N$]salt$hash` / `$6$...`: salt 1 to 16 characters, hash 43 / 86 characters.
fn parse_sha_crypt(scheme: HashScheme, hash: &str) -> Result<ShaCrypt<'_>> {
    let hash_len = if scheme == HashScheme::Sha256Crypt {
        43
    } else {
        86
    };
    let mut parts = hash[3..].split('$');
    let mut salt = parts.next().unwrap_or("");
    let mut rounds = 5_000;
    if let Some(r) = salt.strip_prefix("rounds=") {
        rounds = r
            .parse()
            .map_err(|_| malformed(scheme, "its rounds= value is not a number"))?;
        if rounds < 1000 {
            return Err(malformed(scheme, "its rounds= value is below 1000"));
        }
        salt = parts.next().unwrap_or("");
    }
    let digest = parts
        .next()
        .ok_or_else(|| malformed(scheme, "it has no hash part"))?;
    if parts.next().is_some() {
        return Err(malformed(
            scheme,
            "it has more $-separated parts than salt and hash",
        ));
    }
    if salt.is_empty()
        || salt.len() > 16
        || salt.bytes().any(|c| c == b':' || c.is_ascii_whitespace())
    {
        return Err(malformed(scheme, "its salt must be 1 to 16 characters"));
    }
    if digest.len() != hash_len || !digest.bytes().all(is_crypt_char) {
        return Err(malformed(
            scheme,
            "its hash part has the wrong length or characters",
        ));
    }
    Ok(ShaCrypt {
        rounds,
        salt,
        digest,
    })
}

pub(crate) fn check_sha_crypt(scheme: HashScheme, hash: &str) -> Result<()> {
    let p = parse_sha_crypt(scheme, hash)?;
    if p.rounds > MAX_SHA_CRYPT_ROUNDS {
        return Err(Error::TooCostly {
            scheme,
            cost: format!("rounds={}", p.rounds),
            limit: format!("rounds up to {MAX_SHA_CRYPT_ROUNDS}"),
        });
    }
    Ok(())
}

pub(crate) fn verify_sha_crypt(scheme: HashScheme, password: &str, hash: &str) -> Result<bool> {
    let p = parse_sha_crypt(scheme, hash)?;
    let unreadable = |_| malformed(scheme, "it could not be computed");
    let rounds = p.rounds as usize;
    let got = Zeroizing::new(if scheme == HashScheme::Sha256Crypt {
        let params = sha_crypt::Sha256Params::new(rounds).map_err(unreadable)?;
        sha_crypt::sha256_crypt_b64(password.as_bytes(), p.salt.as_bytes(), &params)
            .map_err(unreadable)?
    } else {
        let params = sha_crypt::Sha512Params::new(rounds).map_err(unreadable)?;
        sha_crypt::sha512_crypt_b64(password.as_bytes(), p.salt.as_bytes(), &params)
            .map_err(unreadable)?
    });
    Ok(got.as_bytes().ct_eq(p.digest.as_bytes()).into())
}

// ---- MD5-crypt ----------------------------------------------------------------------------

/// `$1$salt$hash`: salt at most 8 characters, hash 22.
pub(crate) fn check_md5_crypt(hash: &str) -> Result<()> {
    let s = HashScheme::Md5Crypt;
    let (salt, digest) = split_md5_crypt(hash)?;
    if salt.is_empty()
        || salt.len() > 8
        || salt.bytes().any(|c| c == b':' || c.is_ascii_whitespace())
    {
        return Err(malformed(s, "its salt must be 1 to 8 characters"));
    }
    if digest.len() != 22 || !digest.bytes().all(is_crypt_char) {
        return Err(malformed(
            s,
            "its hash part must be 22 characters of the crypt alphabet",
        ));
    }
    Ok(())
}

fn split_md5_crypt(hash: &str) -> Result<(&str, &str)> {
    let rest = &hash[3..];
    let (salt, digest) = rest
        .split_once('$')
        .ok_or_else(|| malformed(HashScheme::Md5Crypt, "it has no hash part"))?;
    if digest.contains('$') {
        return Err(malformed(
            HashScheme::Md5Crypt,
            "it has more $-separated parts than salt and hash",
        ));
    }
    Ok((salt, digest))
}

/// MD5-crypt as in FreeBSD's `crypt-md5.c` (and glibc's `md5-crypt.c`): returns the 22
/// characters after the salt.
fn md5_crypt_digest(password: &[u8], salt: &[u8]) -> Zeroizing<Vec<u8>> {
    const MAGIC: &[u8] = b"$1$";
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = Zeroizing::new(<[u8; 16]>::from(alt.finalize()));

    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(MAGIC);
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = Zeroizing::new(<[u8; 16]>::from(ctx.finalize()));
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(&fin[..]);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(&fin[..]);
        } else {
            c.update(password);
        }
        *fin = c.finalize().into();
    }
    let mut out = Zeroizing::new(Vec::with_capacity(22));
    let mut put = |v: u32, n: usize| {
        let mut v = v;
        for _ in 0..n {
            out.push(CRYPT_ALPHABET[(v & 0x3f) as usize]);
            v >>= 6;
        }
    };
    let f = |i: usize| u32::from(fin[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        put((f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    put(f(11), 2);
    out
}

pub(crate) fn verify_md5_crypt(password: &str, hash: &str) -> Result<bool> {
    let (salt, digest) = split_md5_crypt(hash)?;
    let got = md5_crypt_digest(password.as_bytes(), salt.as_bytes());
    Ok(got.as_slice().ct_eq(digest.as_bytes()).into())
}

// ---- LDAP {SSHA} --------------------------------------------------------------------------

fn ssha_bytes(hash: &str) -> Result<Zeroizing<Vec<u8>>> {
    let s = HashScheme::Ssha;
    let raw = Zeroizing::new(
        b64()
            .decode(&hash[6..])
            .map_err(|_| malformed(s, "its value after {SSHA} is not base64"))?,
    );
    if raw.len() <= 20 || raw.len() > 20 + MAX_SSHA_SALT {
        return Err(malformed(
            s,
            "it must hold a 20-byte SHA-1 digest followed by a salt of 1 to 64 bytes",
        ));
    }
    Ok(raw)
}

/// `{SSHA}` + base64(SHA-1 digest ‖ salt).
pub(crate) fn check_ssha(hash: &str) -> Result<()> {
    ssha_bytes(hash).map(|_| ())
}

pub(crate) fn verify_ssha(password: &str, hash: &str) -> Result<bool> {
    let raw = ssha_bytes(hash)?;
    let (digest, salt) = raw.split_at(20);
    let mut h = Sha1::new();
    h.update(password.as_bytes());
    h.update(salt);
    let got = Zeroizing::new(<[u8; 20]>::from(h.finalize()));
    Ok(got.ct_eq(digest).into())
}

// ---- Django PBKDF2 ------------------------------------------------------------------------

struct Django<'a> {
    iterations: u32,
    salt: &'a str,
    digest: Vec<u8>,
}

fn parse_django(hash: &str) -> Result<Django<'_>> {
    let s = HashScheme::DjangoPbkdf2Sha256;
    let mut parts = hash.split('$');
    let _algorithm = parts.next();
    let (Some(iterations), Some(salt), Some(digest), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            s,
            "it must be pbkdf2_sha256$<iterations>$<salt>$<hash>",
        ));
    };
    let iterations: u32 = iterations
        .parse()
        .map_err(|_| malformed(s, "its iteration count is not a number"))?;
    if iterations == 0 {
        return Err(malformed(s, "its iteration count is 0"));
    }
    if salt.is_empty() || salt.len() > 128 || salt.bytes().any(|c| c.is_ascii_whitespace()) {
        return Err(malformed(s, "its salt must be 1 to 128 characters"));
    }
    let digest = b64()
        .decode(digest)
        .map_err(|_| malformed(s, "its hash part is not base64"))?;
    if digest.len() != 32 {
        return Err(malformed(
            s,
            "its hash part must be a 32-byte SHA-256 output",
        ));
    }
    Ok(Django {
        iterations,
        salt,
        digest,
    })
}

/// `pbkdf2_sha256$<iterations>$<salt>$<base64 of 32 bytes>`.
pub(crate) fn check_django(hash: &str) -> Result<()> {
    let d = parse_django(hash)?;
    if d.iterations > MAX_PBKDF2_ITERATIONS {
        return Err(Error::TooCostly {
            scheme: HashScheme::DjangoPbkdf2Sha256,
            cost: format!("{} iterations", d.iterations),
            limit: format!("up to {MAX_PBKDF2_ITERATIONS} iterations"),
        });
    }
    Ok(())
}

pub(crate) fn verify_django(password: &str, hash: &str) -> Result<bool> {
    let d = parse_django(hash)?;
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.as_bytes(),
        d.salt.as_bytes(),
        d.iterations,
        &mut out[..],
    );
    Ok(out.ct_eq(&d.digest[..]).into())
}

// ---- hex digests --------------------------------------------------------------------------

pub(crate) fn verify_hex(scheme: HashScheme, password: &str, hash: &str) -> Result<bool> {
    let stored =
        hex::decode(hash).map_err(|_| malformed(scheme, "it is not a hexadecimal digest"))?;
    let got: Zeroizing<Vec<u8>> = Zeroizing::new(match scheme {
        HashScheme::HexMd5 => Md5::digest(password.as_bytes()).to_vec(),
        _ => Sha1::digest(password.as_bytes()).to_vec(),
    });
    Ok(got.as_slice().ct_eq(&stored).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_crypt_matches_glibc() {
        // Computed with glibc's crypt(3) (Python's `crypt.crypt`).
        for (pw, salt, want) in [
            ("Hello world!", "saltstri", "YMyguxXMBpd2TEZ.vS/3q1"),
            ("", "ab", "rn6aQS/o7141mj179E/zA."),
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "12345678",
                "beiWYJUUHF.ZVo9A4ag9w0",
            ),
        ] {
            let d = md5_crypt_digest(pw.as_bytes(), salt.as_bytes());
            assert_eq!(std::str::from_utf8(&d).unwrap(), want, "{salt}");
        }
    }
}
