//! Shared data for the benches: a small, self-contained, deterministic generator of a valid
//! data set (users, courses, enrollments and attendance) in CSV, NDJSON or XLSX.
//!
//! The benches do not call `examples/gen_data` so that they build and run on their own; the rows
//! follow the same rules (SPEC §2): valid unique emails that are not training accounts, strong
//! passwords, distinct courses per student, distinct weekdays per enrollment.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Courses per student.
pub const PER_STUDENT: usize = 6;
/// School days of attendance per enrollment.
pub const DAYS: usize = 100;
/// Attendance rows per student.
pub const ROWS_PER_STUDENT: usize = PER_STUDENT * DAYS;

/// A size read from an environment variable (underscores allowed), or `default`.
pub fn env_rows(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.replace('_', "").parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// The shape of a generated data set.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Students (every user is a student).
    pub students: usize,
    /// Courses.
    pub courses: usize,
}

impl Shape {
    /// A shape whose attendance file has at least `rows` rows (a multiple of 600).
    pub fn for_rows(rows: usize) -> Shape {
        let students = rows.div_ceil(ROWS_PER_STUDENT).max(1);
        let courses = (students / 5).clamp(12, 400);
        Shape { students, courses }
    }

    /// Attendance rows of this shape.
    pub fn attendance_rows(&self) -> usize {
        self.students * ROWS_PER_STUDENT
    }
}

fn email(student: usize) -> String {
    format!("pupil.{student}@district.example.org")
}

fn code(course: usize) -> String {
    format!("C{course:04}")
}

fn password(student: usize) -> String {
    // Long, mixed, unique, never containing the local part.
    format!(
        "Tq9#vLm2-{:08x}-Zr",
        (student as u64).wrapping_mul(2_654_435_761)
    )
}

/// The course indexes of a student: distinct because `k * step < courses` for `k < PER_STUDENT`.
fn courses_of(shape: &Shape, student: usize) -> impl Iterator<Item = usize> {
    let step = (shape.courses / PER_STUDENT).max(1);
    let courses = shape.courses;
    (0..PER_STUDENT).map(move |k| (student + k * step) % courses)
}

/// `DAYS` weekdays from 2026-09-01.
pub fn school_days() -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(DAYS);
    let mut d = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default();
    while out.len() < DAYS {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

const STATUSES: [&str; 4] = ["present", "absent", "late", "excused"];

fn status(student: usize, course: usize, day: usize) -> &'static str {
    // Mostly present, like a real register.
    let h = student
        .wrapping_mul(31)
        .wrapping_add(course.wrapping_mul(17))
        .wrapping_add(day.wrapping_mul(7));
    match h % 20 {
        0 => STATUSES[1],
        1 => STATUSES[2],
        2 => STATUSES[3],
        _ => STATUSES[0],
    }
}

/// Calls `f(email, course_code, date, status)` for every attendance row of `shape`.
pub fn for_each_attendance(shape: &Shape, mut f: impl FnMut(&str, &str, NaiveDate, &str)) {
    let days = school_days();
    let codes: Vec<String> = (0..shape.courses).map(code).collect();
    for s in 0..shape.students {
        let e = email(s);
        for c in courses_of(shape, s) {
            for (i, d) in days.iter().enumerate() {
                f(&e, &codes[c], *d, status(s, c, i));
            }
        }
    }
}

fn create(path: &Path) -> std::io::Result<BufWriter<File>> {
    Ok(BufWriter::with_capacity(1 << 20, File::create(path)?))
}

/// Writes `users.csv`, `courses.csv` and `enrollments.csv` of `shape` into `dir`.
pub fn write_base(dir: &Path, shape: &Shape) -> std::io::Result<()> {
    let mut w = create(&dir.join("users.csv"))?;
    writeln!(w, "email,password,role,first_name,last_name")?;
    for s in 0..shape.students {
        writeln!(w, "{},{},student,Pupil,Number{s}", email(s), password(s))?;
    }
    w.flush()?;
    let mut w = create(&dir.join("courses.csv"))?;
    writeln!(w, "course_code,course_name")?;
    for c in 0..shape.courses {
        writeln!(w, "{},Course {c}", code(c))?;
    }
    w.flush()?;
    let mut w = create(&dir.join("enrollments.csv"))?;
    writeln!(w, "student_email,course_code")?;
    for s in 0..shape.students {
        for c in courses_of(shape, s) {
            writeln!(w, "{},{}", email(s), code(c))?;
        }
    }
    w.flush()
}

/// Writes `dir/attendance.csv` and returns its path.
pub fn write_attendance_csv(dir: &Path, shape: &Shape) -> std::io::Result<PathBuf> {
    let path = dir.join("attendance.csv");
    let mut w = create(&path)?;
    writeln!(w, "student_email,course_code,date,status")?;
    let mut result = Ok(());
    for_each_attendance(shape, |e, c, d, s| {
        if result.is_ok() {
            result = writeln!(w, "{e},{c},{d},{s}");
        }
    });
    result?;
    w.flush()?;
    Ok(path)
}

/// Writes `dir/attendance.ndjson` (one object per line) and returns its path.
pub fn write_attendance_ndjson(dir: &Path, shape: &Shape) -> std::io::Result<PathBuf> {
    let path = dir.join("attendance.ndjson");
    let mut w = create(&path)?;
    let mut result = Ok(());
    for_each_attendance(shape, |e, c, d, s| {
        if result.is_ok() {
            result = writeln!(
                w,
                r#"{{"student_email":"{e}","course_code":"{c}","date":"{d}","status":"{s}"}}"#
            );
        }
    });
    result?;
    w.flush()?;
    Ok(path)
}

/// Writes `dir/attendance.xlsx` (dates as date cells, like an Excel export) and returns its path.
pub fn write_attendance_xlsx(
    dir: &Path,
    shape: &Shape,
) -> Result<PathBuf, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let path = dir.join("attendance.xlsx");
    let mut book = Workbook::new();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    let sheet = book.add_worksheet_with_constant_memory();
    for (col, h) in ["student_email", "course_code", "date", "status"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *h)?;
    }
    let mut row = 0u32;
    let mut result: Result<(), rust_xlsxwriter::XlsxError> = Ok(());
    for_each_attendance(shape, |e, c, d, s| {
        if result.is_err() {
            return;
        }
        row += 1;
        result = (|| -> Result<(), rust_xlsxwriter::XlsxError> {
            sheet.write_string(row, 0, e)?;
            sheet.write_string(row, 1, c)?;
            let date = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
            sheet.write_datetime_with_format(row, 2, &date, &date_format)?;
            sheet.write_string(row, 3, s)?;
            Ok(())
        })();
    });
    result?;
    book.save(&path)?;
    Ok(path)
}
