//! Validation without a database: a folder or files, read with `registrar-formats` and checked
//! with `registrar-rules`.

use crate::Error;
use registrar_formats::{DataFile, ReaderOptions};
use registrar_model::{Entity, FileSummary, Mode, Report};
use registrar_rules::{ValidationOptions, Validator};
use std::path::Path;
use std::time::Instant;

/// Validates every data file of `dir` (found by stem) with no database.
pub fn validate_dir(dir: &Path, options: &ReaderOptions) -> Result<Report, Error> {
    let start = Instant::now();
    let mut report = Report::new(Mode::Validate);
    match registrar_formats::discover(dir) {
        Ok((files, issues)) => {
            for i in issues {
                report.push(i);
            }
            run_files(&files, options, ValidationOptions::default(), &mut report)?;
        }
        Err(registrar_formats::Error::File(issue)) => report.push(*issue),
        Err(e) => return Err(e.into()),
    }
    report.duration_ms = elapsed_ms(start);
    report.finish();
    Ok(report)
}

/// Validates one file; the entity comes from its stem when `entity` is `None`.
///
/// Returns [`Error::UnknownEntity`] when `entity` is `None` and the stem names no entity.
pub fn validate_file(
    path: &Path,
    entity: Option<Entity>,
    options: &ReaderOptions,
) -> Result<Report, Error> {
    let start = Instant::now();
    let entity = entity
        .or_else(|| registrar_formats::entity_of(path))
        .ok_or_else(|| Error::UnknownEntity {
            file: registrar_formats::file_name_of(path),
        })?;
    let mut report = Report::new(Mode::Validate);
    let mut validator = Validator::new(ValidationOptions::default());
    match registrar_formats::open(path, options) {
        Ok(mut source) => {
            validator.validate_source(entity, source.as_mut(), &mut report, &mut |_| {})?;
        }
        Err(registrar_formats::Error::File(issue)) => report.push(*issue),
        Err(e) => return Err(e.into()),
    }
    report.duration_ms = elapsed_ms(start);
    report.finish();
    Ok(report)
}

/// Validates the given files in import order (users, courses, enrollments, grades,
/// attendance; files of the same entity keep their order).
pub fn validate_files(
    files: &[DataFile],
    options: &ReaderOptions,
    validation: ValidationOptions,
) -> Result<Report, Error> {
    let start = Instant::now();
    let mut report = Report::new(Mode::Validate);
    run_files(files, options, validation, &mut report)?;
    report.duration_ms = elapsed_ms(start);
    report.finish();
    Ok(report)
}

fn run_files(
    files: &[DataFile],
    options: &ReaderOptions,
    validation: ValidationOptions,
    report: &mut Report,
) -> Result<(), Error> {
    let mut ordered: Vec<&DataFile> = files.iter().collect();
    ordered.sort_by_key(|f| f.entity);
    let mut validator = Validator::new(validation);
    for df in ordered {
        match registrar_formats::open_as(&df.path, df.format, options) {
            Ok(mut source) => {
                validator.validate_source(df.entity, source.as_mut(), report, &mut |_| {})?;
            }
            Err(registrar_formats::Error::File(issue)) => {
                report.files.push(FileSummary::new(
                    registrar_formats::file_name_of(&df.path),
                    df.entity,
                    df.format.as_str(),
                ));
                report.push(*issue);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}
