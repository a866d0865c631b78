//! Validation without a database: a folder, files or records, resolved by the one input
//! resolver and checked by the one driver that `import` and `migrate` use too (see
//! `crate::input`), with no existing rows to compare against.

use crate::driver::Driver;
use crate::input::{self, Input, Source};
use crate::Error;
use registrar_formats::{DataFile, ReaderOptions};
use registrar_model::{Entity, Issue, Mode, Report};
use registrar_rules::ValidationOptions;
use std::path::Path;
use std::time::Instant;

/// Validates every data file of `dir` (found by stem) with no database.
pub fn validate_dir(dir: &Path, options: &ReaderOptions) -> Result<Report, Error> {
    validate_input(&Input::Dir(dir.to_path_buf()), options)
}

/// Validates one file; the entity comes from its stem when `entity` is `None`.
///
/// Returns [`Error::UnknownEntity`] when `entity` is `None` and the stem names no entity.
pub fn validate_file(
    path: &Path,
    entity: Option<Entity>,
    options: &ReaderOptions,
) -> Result<Report, Error> {
    validate_input(
        &Input::File {
            path: path.to_path_buf(),
            entity,
        },
        options,
    )
}

/// Validates any [`Input`] (a folder, one file, or records in memory) with no database.
pub fn validate_input(input: &Input, options: &ReaderOptions) -> Result<Report, Error> {
    validate_input_with(input, options, ValidationOptions::default())
}

/// [`validate_input`] with [`ValidationOptions`] (the `password_hash` policy of
/// `--legacy-hashes` / `--accept-unsalted-hashes`; `existing` is usually `None` here).
pub fn validate_input_with(
    input: &Input,
    options: &ReaderOptions,
    validation: ValidationOptions,
) -> Result<Report, Error> {
    let start = Instant::now();
    let (sources, issues) = input::resolve(input)?;
    run(sources, issues, options, validation, start)
}

/// Validates the given files in import order (users, courses, enrollments, grades,
/// attendance; files of the same entity keep their order).
pub fn validate_files(
    files: &[DataFile],
    options: &ReaderOptions,
    validation: ValidationOptions,
) -> Result<Report, Error> {
    run(
        input::sources_of(files),
        Vec::new(),
        options,
        validation,
        Instant::now(),
    )
}

fn run(
    sources: Vec<Source>,
    pre_issues: Vec<Issue>,
    options: &ReaderOptions,
    validation: ValidationOptions,
    start: Instant,
) -> Result<Report, Error> {
    let mut report = Report::new(Mode::Validate);
    for i in pre_issues {
        report.push(i);
    }
    let driver = Driver::validating(sources, options.clone(), validation, report);
    let mut report = driver.run()?.report;
    report.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.finish();
    Ok(report)
}
