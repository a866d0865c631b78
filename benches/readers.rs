//! Reading throughput of the CSV, XLSX and NDJSON readers on a generated attendance file:
//! MB/s (`readers/bytes`) and rows/s (`readers/rows`).
//!
//! `cargo bench --bench readers`; rows from `REGISTRAR_BENCH_READ_ROWS` (default 200,000;
//! rounded up to a multiple of 600).

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use registrar::formats::{open, Event, ReaderOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[allow(dead_code)]
mod common;

/// Reads every event of `path`, returning the number of rows (panics on an issue: the
/// generated file is valid, so an issue means the bench measures the wrong thing).
fn read_all(path: &Path) -> u64 {
    let options = ReaderOptions::default();
    let source = match open(path, &options) {
        Ok(s) => s,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    };
    let mut rows = 0u64;
    for event in source {
        match event {
            Ok(Event::Row(row)) => {
                rows += 1;
                criterion::black_box(&row);
            }
            Ok(Event::Issue(issue)) => panic!("unexpected issue: {issue}"),
            Err(e) => panic!("read error: {e}"),
        }
    }
    rows
}

fn readers(c: &mut Criterion) {
    let shape = common::Shape::for_rows(common::env_rows("REGISTRAR_BENCH_READ_ROWS", 200_000));
    let rows = shape.attendance_rows() as u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let files: Vec<(&str, PathBuf)> = vec![
        (
            "csv",
            common::write_attendance_csv(dir.path(), &shape).expect("write csv"),
        ),
        (
            "ndjson",
            common::write_attendance_ndjson(dir.path(), &shape).expect("write ndjson"),
        ),
        (
            "xlsx",
            common::write_attendance_xlsx(dir.path(), &shape).expect("write xlsx"),
        ),
    ];
    for (name, path) in &files {
        let got = read_all(path);
        assert_eq!(got, rows, "{name}: every generated row must be read");
    }

    for (group_name, by_bytes) in [("readers/bytes", true), ("readers/rows", false)] {
        let mut group = c.benchmark_group(group_name);
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        for (name, path) in &files {
            let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            group.throughput(if by_bytes {
                Throughput::Bytes(bytes)
            } else {
                Throughput::Elements(rows)
            });
            group.bench_with_input(BenchmarkId::new(*name, rows), path, |b, path| {
                b.iter(|| read_all(path))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, readers);
criterion_main!(benches);
