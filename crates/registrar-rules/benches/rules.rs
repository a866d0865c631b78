//! The validation pass alone (no reading): rows/s for 1,000,000 attendance rows held in memory,
//! after 2,000 users, 50 courses and 10,000 enrollments.
//!
//! `cargo bench -p registrar-rules --bench rules`; rows from `REGISTRAR_BENCH_ROWS` (default
//! 1,000,000). The rows are built in the (untimed) setup of each iteration and moved into the
//! validator, so the figure is the rules' cost per row: parsing email, code, date and status,
//! resolving ids, checking the enrollment and the (student, course, date) uniqueness, and
//! building the typed record. Single-threaded (`ValidationOptions::sequential`), so rows/s is
//! rows/s per core.
//!
//! Time is the benchmark thread's CPU time (`/proc/thread-self/schedstat`, falling back to wall
//! time elsewhere), so the figure stays meaningful on a shared, busy machine.

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use registrar_model::{Entity, Mode, Report};
use registrar_model::{Event, Format, ReadError as Error, Row, RowSource, Value};
use registrar_rules::{RowOutcome, ValidationOptions, Validator};
use std::time::Duration;

/// CPU time of the current thread, in nanoseconds.
struct ThreadCpu {
    start: std::time::Instant,
}

impl ThreadCpu {
    fn now(&self) -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| self.start.elapsed().as_nanos() as u64)
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        self.now()
    }
    fn end(&self, i: u64) -> u64 {
        self.now().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns (cpu)")
        } else if ns < 1e6 {
            (1e-3, "µs (cpu)")
        } else if ns < 1e9 {
            (1e-6, "ms (cpu)")
        } else {
            (1e-9, "s (cpu)")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(&self, ns: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match *t {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) => n,
        } as f64;
        let per_s = n * 1e9 / ns;
        let (factor, unit) = if per_s < 1e3 {
            (1.0, "elem/s (cpu)")
        } else if per_s < 1e6 {
            (1e-3, "Kelem/s (cpu)")
        } else {
            (1e-6, "Melem/s (cpu)")
        };
        values.iter_mut().for_each(|v| *v = n * 1e9 / *v * factor);
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

struct Mem {
    headers: Vec<String>,
    events: std::vec::IntoIter<Result<Event, Error>>,
    file: String,
}

impl Iterator for Mem {
    type Item = Result<Event, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.events.next()
    }
}

impl RowSource for Mem {
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn header_row(&self) -> u64 {
        1
    }
    fn format(&self) -> Format {
        Format::Csv
    }
    fn file_name(&self) -> &str {
        &self.file
    }
}

fn source(file: &str, headers: &[&str], rows: Vec<Vec<String>>) -> Mem {
    let events: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(Event::Row(Row {
                row: i as u64 + 2,
                values: r.into_iter().map(Value::Text).collect(),
            }))
        })
        .collect();
    Mem {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        events: events.into_iter(),
        file: file.to_owned(),
    }
}

const STUDENTS: usize = 2000;
const COURSES: usize = 50;
const PER_STUDENT: usize = 5;

fn email(s: usize) -> String {
    format!("student.number{s}@lincoln-high.example.org")
}
fn code(c: usize) -> String {
    format!("COURSE{c}")
}

/// A validator that has seen the users, courses and enrollments.
fn prepared() -> Validator {
    // In line: the figure is the CPU time of this one thread, which must then do all the work
    // (reading ahead would parse dates and statuses on a thread it does not count).
    let mut v = Validator::new(ValidationOptions {
        sequential: true,
        ..Default::default()
    });
    let mut report = Report::new(Mode::Validate);
    let users = (0..STUDENTS)
        .map(|s| {
            vec![
                email(s),
                String::new(),
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc".to_owned(),
                "student".to_owned(),
                "First".to_owned(),
                "Last".to_owned(),
            ]
        })
        .collect();
    let courses = (0..COURSES)
        .map(|c| vec![code(c), format!("Course {c}")])
        .collect();
    let enrollments = (0..STUDENTS)
        .flat_map(|s| (0..PER_STUDENT).map(move |k| vec![email(s), code((s + k * 7) % COURSES)]))
        .collect();
    let files = [
        (
            Entity::Users,
            source(
                "users.csv",
                &[
                    "email",
                    "password",
                    "password_hash",
                    "role",
                    "first_name",
                    "last_name",
                ],
                users,
            ),
        ),
        (
            Entity::Courses,
            source("courses.csv", &["course_code", "course_name"], courses),
        ),
        (
            Entity::Enrollments,
            source(
                "enrollments.csv",
                &["student_email", "course_code"],
                enrollments,
            ),
        ),
    ];
    for (entity, mut src) in files {
        v.validate_source(entity, &mut src, &mut report, &mut |_| {})
            .expect("in memory");
    }
    assert!(report.is_ok(), "{:?}", report.issues.first());
    v
}

fn attendance(n: usize) -> Mem {
    let statuses = ["present", "absent", "late", "excused"];
    let base = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date");
    let pairs = STUDENTS * PER_STUDENT;
    let rows = (0..n)
        .map(|i| {
            let pair = i % pairs;
            let (s, k) = (pair / PER_STUDENT, pair % PER_STUDENT);
            let day = base + chrono::Duration::days((i / pairs) as i64);
            vec![
                email(s),
                code((s + k * 7) % COURSES),
                day.format("%Y-%m-%d").to_string(),
                statuses[i % 4].to_owned(),
            ]
        })
        .collect();
    source(
        "attendance.csv",
        &["student_email", "course_code", "date", "status"],
        rows,
    )
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let n: usize = std::env::var("REGISTRAR_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut group = c.benchmark_group("rules");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("attendance_{n}"), |b| {
        b.iter_batched(
            || (prepared(), attendance(n)),
            |(mut v, mut src)| {
                let mut report = Report::new(Mode::Validate);
                let mut valid = 0u64;
                v.validate_source(Entity::Attendance, &mut src, &mut report, &mut |o| {
                    if let RowOutcome::Valid { .. } = o {
                        valid += 1;
                    }
                })
                .expect("in memory");
                assert_eq!(valid, n as u64, "{:?}", report.issues.first());
                (v, report)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu { start: std::time::Instant::now() });
    targets = bench
}
criterion_main!(benches);
