//! The validation pass (rows/s) on a 1,000,000-row attendance CSV plus the users, courses and
//! enrollments it refers to, generated once into a temp dir.
//!
//! `cargo bench --bench validation`; rows from `REGISTRAR_BENCH_ROWS` (default 1,000,000;
//! rounded up to a multiple of 600). The base files are 0.3 % of the rows (1,667 users, 333
//! courses, 10,002 enrollments at 1 M), so the figure is the attendance rate. Wall-clock time:
//! on a machine with more than one core the file is read on a second thread while the rules
//! run (`ValidationOptions::sequential`); `taskset -c 0 cargo bench --bench validation` gives
//! the one-core rate.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use registrar::formats::ReaderOptions;
use registrar::validate_dir;
use std::path::Path;
use std::time::Duration;

#[allow(dead_code)]
mod common;

fn validate(dir: &Path) -> usize {
    match validate_dir(dir, &ReaderOptions::default()) {
        Ok(report) => {
            assert!(
                report.issues.is_empty(),
                "the generated data set must be valid; first issue: {}",
                report.issues[0]
            );
            report.files.len()
        }
        Err(e) => panic!("validation failed: {e}"),
    }
}

fn validation(c: &mut Criterion) {
    let shape = common::Shape::for_rows(common::env_rows("REGISTRAR_BENCH_ROWS", 1_000_000));
    let rows = shape.attendance_rows() as u64;
    let dir = tempfile::tempdir().expect("temp dir");
    common::write_base(dir.path(), &shape).expect("write base files");
    common::write_attendance_csv(dir.path(), &shape).expect("write attendance");
    assert_eq!(
        validate(dir.path()),
        4,
        "users, courses, enrollments, attendance"
    );

    let mut group = c.benchmark_group("validation");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(rows));
    group.bench_with_input(
        BenchmarkId::new("attendance_csv", rows),
        dir.path(),
        |b, dir| b.iter(|| validate(dir)),
    );
    group.finish();
}

criterion_group!(benches, validation);
criterion_main!(benches);
