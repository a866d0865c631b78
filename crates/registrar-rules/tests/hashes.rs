//! The users file's `password_hash` column under the hash policy (issue 14): legacy hashes
//! accepted and stored verbatim, refused with `--legacy-hashes refuse`, unsalted digests only
//! with `--accept-unsalted-hashes`, over-costly ones `hash-too-costly`; no message quotes a
//! hash.

mod common;

use common::*;
use registrar_hashes::{HashPolicy, LegacyHashes};
use registrar_model::{Entity, IssueCode, Severity};
use registrar_rules::ValidationOptions;
use std::path::PathBuf;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/legacy-hashes")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))
}

/// Splits a CSV line whose quoted fields hold no quotes (the fixtures' argon2 hashes hold
/// commas).
fn split(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// A source of `text` (CSV with simple quoting).
fn source(name: &str, text: &str) -> MemSource {
    let mut lines = text.lines();
    let headers = split(lines.next().unwrap());
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows = lines
        .map(|l| split(l).iter().map(|v| cell(v)).collect())
        .collect();
    value_source(name, &headers, rows)
}

fn with(policy: HashPolicy, name: &str) -> (registrar_model::Report, Vec<Seen>) {
    run(
        vec![(Entity::Users, source(name, &fixture(name)))],
        ValidationOptions {
            hash_policy: policy,
            ..Default::default()
        },
    )
}

fn hashes_of(name: &str) -> Vec<String> {
    fixture(name)
        .lines()
        .skip(1)
        .map(|l| split(l)[1].clone())
        .collect()
}

fn assert_no_hash_in(report: &registrar_model::Report, hashes: &[String]) {
    let json = serde_json::to_string(report).unwrap();
    for h in hashes {
        // Salt and digest parts (cost parameters may be named).
        for part in h.split('$').filter(|p| {
            p.len() >= 12 && !["m=", "pbkdf2", "rounds="].iter().any(|x| p.starts_with(x))
        }) {
            assert!(!json.contains(part), "{part} in {json}");
        }
    }
}

#[test]
fn every_legacy_scheme_is_accepted_and_kept_verbatim() {
    let (r, seen) = with(HashPolicy::default(), "users.csv");
    assert!(r.is_ok(), "{:#?}", r.issues);
    let want = hashes_of("users.csv");
    assert_eq!(seen.len(), want.len());
    for (s, h) in seen.iter().zip(&want) {
        let rec = s.record.as_deref().expect("valid");
        assert!(
            rec.contains(&format!("password_hash: Some({h:?})")),
            "{rec}"
        );
    }
}

#[test]
fn unsalted_digests_need_the_flag_and_are_flagged() {
    let (r, _) = with(HashPolicy::default(), "users-unsalted.csv");
    let errs = with_code(&r, IssueCode::UnsaltedHash);
    assert_eq!(errs.len(), 2);
    assert!(errs.iter().all(|i| i.severity == Severity::Error));
    assert!(
        errs[0].message.contains("--accept-unsalted-hashes"),
        "{}",
        errs[0].message
    );
    assert_no_hash_in(&r, &hashes_of("users-unsalted.csv"));

    let policy = HashPolicy {
        accept_unsalted: true,
        ..HashPolicy::default()
    };
    let (r, seen) = with(policy, "users-unsalted.csv");
    assert!(r.is_ok(), "{:#?}", r.issues);
    assert_eq!(seen.iter().filter(|s| s.record.is_some()).count(), 2);
    let warns = with_code(&r, IssueCode::UnsaltedHash);
    assert_eq!(warns.len(), 2);
    assert!(warns.iter().all(|i| i.severity == Severity::Warning));
    assert_eq!(warns[0].column.as_deref(), Some("password_hash"));
    assert_no_hash_in(&r, &hashes_of("users-unsalted.csv"));
}

#[test]
fn refuse_makes_every_legacy_hash_an_error() {
    let policy = HashPolicy {
        legacy: LegacyHashes::Refuse,
        accept_unsalted: true,
    };
    let (r, seen) = with(policy, "users.csv");
    let n = hashes_of("users.csv").len();
    assert_eq!(with_code(&r, IssueCode::LegacyHashRefused).len(), n);
    assert!(seen.iter().all(|s| s.record.is_none()));
    assert_no_hash_in(&r, &hashes_of("users.csv"));
    // An argon2id hash at the policy is not legacy.
    let good = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let weak = "$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    let text = format!(
        "email,password_hash,role,first_name,last_name\nok@example.org,\"{good}\",student,A,B\nweak@example.org,\"{weak}\",student,A,B\n"
    );
    let (r, _) = run(
        vec![(Entity::Users, source("users.csv", &text))],
        ValidationOptions {
            hash_policy: policy,
            ..Default::default()
        },
    );
    assert_eq!(codes_at(&r, "users.csv", 2), vec![]);
    assert_eq!(
        codes_at(&r, "users.csv", 3),
        vec![IssueCode::LegacyHashRefused]
    );
    assert!(one(&r, IssueCode::LegacyHashRefused)
        .message
        .contains("below"));
}

#[test]
fn malformed_and_overcostly_hashes_get_their_codes_without_the_hash() {
    let text = fixture("users-bad.csv");
    let (r, _) = with(HashPolicy::default(), "users-bad.csv");
    for (i, line) in text.lines().skip(1).enumerate() {
        let code = line.rsplit(',').next().unwrap();
        let row = i as u64 + 2;
        let want = IssueCode::parse(code).unwrap();
        assert_eq!(codes_at(&r, "users-bad.csv", row), vec![want], "row {row}");
    }
    assert_no_hash_in(&r, &hashes_of("users-bad.csv"));
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("hunter2"), "{json}");
}
