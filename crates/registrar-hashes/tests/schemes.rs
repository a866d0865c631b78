//! Every scheme against hashes made by independent implementations (Python's hashlib, glibc's
//! crypt(3) and the bcrypt package; `tests/fixtures/legacy-hashes/make.py`), plus malformed
//! and over-costly ones.

use registrar_hashes::{
    check, detect, is_legacy, upgrade, verify, verify_and_upgrade, Error, HashScheme,
};
use std::collections::HashMap;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<HashMap<String, String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/legacy-hashes")
        .join(name);
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// (email, scheme name, hash, password) of a users file and its logins file.
fn accounts(users: &str, logins: &str) -> Vec<(String, String, String, String)> {
    let passwords: HashMap<String, String> = fixture(logins)
        .into_iter()
        .map(|r| (r["email"].clone(), r["password"].clone()))
        .collect();
    fixture(users)
        .into_iter()
        .map(|r| {
            let email = r["email"].clone();
            let pw = passwords[&email].clone();
            (
                email,
                r["last_name"].clone(),
                r["password_hash"].clone(),
                pw,
            )
        })
        .collect()
}

#[test]
fn every_scheme_verifies_its_password_and_refuses_another() {
    let mut seen = Vec::new();
    for (email, scheme, hash, pw) in accounts("users.csv", "logins.csv")
        .into_iter()
        .chain(accounts("users-unsalted.csv", "logins-unsalted.csv"))
    {
        let got = detect(&hash).unwrap_or_else(|| panic!("{email}: not detected"));
        assert_eq!(got.as_str(), scheme, "{email}");
        assert_eq!(check(&hash), Ok(got), "{email}");
        assert_eq!(verify(&pw, &hash), Ok(true), "{email}");
        assert_eq!(verify(&format!("{pw}x"), &hash), Ok(false), "{email}");
        assert_eq!(verify("", &hash), Ok(false), "{email}");
        assert!(is_legacy(&hash), "{email}");
        assert_eq!(got.is_unsalted(), scheme.ends_with("-hex"), "{email}");
        seen.push(got);
    }
    for s in HashScheme::ALL {
        if !s.is_argon2() {
            assert!(seen.contains(&s), "no fixture account for {s}");
        }
    }
}

#[test]
fn upgrade_turns_each_into_argon2id_that_verifies() {
    for (email, _, hash, pw) in accounts("users.csv", "logins.csv")
        .into_iter()
        .chain(accounts("users-unsalted.csv", "logins-unsalted.csv"))
    {
        let v = verify_and_upgrade(&pw, &hash).unwrap();
        assert!(v.ok, "{email}");
        let new = v
            .upgraded
            .clone()
            .unwrap_or_else(|| panic!("{email}: not upgraded"));
        assert_eq!(detect(&new), Some(HashScheme::Argon2id));
        assert!(!is_legacy(&new));
        assert_eq!(verify(&pw, &new), Ok(true), "{email}");
        assert!(!format!("{v:?}").contains(&new));
        // A wrong password is not upgraded.
        let w = verify_and_upgrade("not-the-password", &hash).unwrap();
        assert!(!w.ok && w.upgraded.is_none(), "{email}");
    }
}

#[test]
fn argon2_below_policy_is_legacy_and_at_policy_is_not() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
    let make = |alg, m, t| {
        let params = argon2::Params::new(m, t, 1, None).unwrap();
        argon2::Argon2::new(alg, argon2::Version::V0x13, params)
            .hash_password(b"Argon-Old-Params-1", &salt)
            .unwrap()
            .to_string()
    };
    let weak = make(argon2::Algorithm::Argon2id, 4096, 3);
    assert_eq!(check(&weak), Ok(HashScheme::Argon2id));
    assert!(is_legacy(&weak));
    let v = verify_and_upgrade("Argon-Old-Params-1", &weak).unwrap();
    assert!(v.ok && v.upgraded.is_some());
    let argon2i = make(argon2::Algorithm::Argon2i, 19_456, 2);
    assert!(is_legacy(&argon2i));
    assert_eq!(verify("Argon-Old-Params-1", &argon2i), Ok(true));
    let ok = make(argon2::Algorithm::Argon2id, 19_456, 2);
    assert!(!is_legacy(&ok));
    let v = verify_and_upgrade("Argon-Old-Params-1", &ok).unwrap();
    assert!(v.ok && v.upgraded.is_none());
    assert!(!is_legacy(&make(argon2::Algorithm::Argon2id, 47_104, 1)));
    assert!(!is_legacy(&upgrade("x-y-z-w").unwrap()));
}

#[test]
fn malformed_and_overcostly_hashes_are_errors_that_never_quote_them() {
    let bad = fixture("users-bad.csv");
    assert!(bad.len() >= 8);
    for r in bad {
        let (hash, code) = (&r["password_hash"], &r["expected_code"]);
        let e = check(hash).unwrap_err();
        match code.as_str() {
            "invalid-hash" => assert!(
                matches!(e, Error::Malformed { .. } | Error::Unrecognised),
                "{}: {e:?}",
                r["email"]
            ),
            "hash-too-costly" => assert!(matches!(e, Error::TooCostly { .. }), "{e:?}"),
            other => panic!("unknown expected code {other}"),
        }
        // verify refuses without running the hash, with the same error.
        assert_eq!(verify("whatever", hash), Err(e.clone()));
        let msg = e.to_string();
        // The cost parameters may be named; the salt and the digest never.
        let is_param = |p: &str| {
            p.bytes().all(|b| b.is_ascii_digit())
                || p.starts_with("rounds=")
                || p.starts_with("m=")
                || p.starts_with("argon2")
        };
        for part in hash.split('$').filter(|p| p.len() >= 6 && !is_param(p)) {
            assert!(!msg.contains(part), "{msg}");
        }
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}

#[test]
fn hand_made_malformed_shapes() {
    for h in [
        "",
        "$2b$",
        "$2b$xx$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0",
        "$2b$03$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0",
        "$2b$10$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz!",
        "$1$saltsaltsalt$abcdefghijklmnopqrstuv",
        "$1$salt$short",
        "$1$salt",
        "$5$rounds=10$salt$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
        "$5$rounds=x$salt$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
        "$5$salt$abc$def",
        "{SSHA}!!!notbase64",
        "pbkdf2_sha256$0$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pbkdf2_sha256$x$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pbkdf2_sha256$1000$salt$AAAA",
        "pbkdf2_sha256$1000$salt",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "5f4dcc3b5aa765d61d8327deb882cf9",
        "5f4dcc3b5aa765d61d8327deb882cf9z",
        "$hunter2$secret",
    ] {
        let e = check(h).unwrap_err();
        assert!(!matches!(e, Error::TooCostly { .. }), "{h}: {e}");
        assert!(!e.to_string().contains("hunter2"));
        assert!(verify("password-1", h).is_err(), "{h}");
    }
    // The bounds themselves are accepted.
    let d = "pbkdf2_sha256$3000000$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert!(check(d).is_ok());
    let d = "pbkdf2_sha256$3000001$salt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert!(matches!(check(d), Err(Error::TooCostly { .. })));
    let b = "$2b$16$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0";
    assert!(check(b).is_ok());
    let b = "$2b$17$abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz0";
    let e = check(b).unwrap_err();
    assert!(
        e.to_string().contains("cost 17") && e.to_string().contains("up to 16"),
        "{e}"
    );
}

#[test]
fn names_round_trip() {
    for s in HashScheme::ALL {
        assert_eq!(HashScheme::from_name(s.as_str()), Some(s));
        assert_eq!(s.to_string(), s.as_str());
    }
    assert_eq!(HashScheme::from_name("nope"), None);
}
