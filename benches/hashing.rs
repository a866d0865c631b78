//! argon2id hashing throughput with Registrar's parameters (m = 19456 KiB, t = 2, p = 1):
//! one hash on one thread, and N hashes across every core (the rayon pool of
//! `registrar_db::hash`, each thread reusing its memory block). `hashing/fresh_alloc` is the
//! argon2 crate's plain `hash_password` (a new 19 MiB block per hash) for comparison.
//!
//! `cargo bench --bench hashing`. Target (issue 6): all-cores rate ≥ 85 % of
//! cores × the single-thread rate.

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use registrar::db::hash::{hash_all, hash_password, is_argon2_hash, M_COST, P_COST, T_COST};
use registrar::model::Password;
use std::time::Duration;

fn passwords(n: usize) -> Vec<Password> {
    (0..n)
        .map(|i| Password::new(format!("Bench-pass-{i:06}-xyz")))
        .collect()
}

fn hashing(c: &mut Criterion) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let one = Password::new("Bench-pass-single-xyz");
    assert!(is_argon2_hash(&hash_password(&one)));

    let mut group = c.benchmark_group("hashing");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    group.throughput(Throughput::Elements(1));
    group.bench_function("one_thread", |b| b.iter(|| hash_password(&one)));

    let params = Params::new(M_COST, T_COST, P_COST, Some(32)).expect("argon2 parameters");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::encode_b64(b"0123456789abcdef").expect("salt");
    group.bench_function("fresh_alloc_one_thread", |b| {
        b.iter(|| {
            argon
                .hash_password(one.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .expect("hash")
        })
    });

    let n = 8 * cores;
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(BenchmarkId::new("all_cores", n), &n, |b, &n| {
        b.iter_batched(
            || passwords(n),
            |pw| {
                let hashes = hash_all(pw);
                assert_eq!(hashes.len(), n);
                hashes
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
