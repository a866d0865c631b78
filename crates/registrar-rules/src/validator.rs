//! The validation pass (placeholder: being implemented).
use crate::{RowOutcome, ValidationOptions};
use registrar_formats::{DataFile, ReaderOptions, RowSource};
use registrar_model::{Entity, Mode, Report};
use std::path::Path;

pub(crate) struct State {
    _options: ValidationOptions,
}

impl State {
    pub(crate) fn new(options: ValidationOptions) -> State {
        State { _options: options }
    }

    pub(crate) fn validate_source(
        &mut self,
        _entity: Entity,
        _source: &mut dyn RowSource,
        _report: &mut Report,
        _sink: &mut dyn FnMut(RowOutcome<'_>),
    ) -> Result<(), registrar_formats::Error> {
        Ok(())
    }
}

/// Validates every data file of `dir` (found by stem) with no database.
pub fn validate_dir(dir: &Path, options: &ReaderOptions) -> crate::Result<Report> {
    let (files, issues) = registrar_formats::discover(dir)?;
    let mut report = validate_files(&files, options, ValidationOptions::default())?;
    for i in issues {
        report.push(i);
    }
    Ok(report)
}

/// Validates one file; the entity comes from its stem when `entity` is `None`.
pub fn validate_file(
    path: &Path,
    entity: Option<Entity>,
    options: &ReaderOptions,
) -> crate::Result<Report> {
    let _ = (path, entity, options);
    Ok(Report::new(Mode::Validate))
}

/// Validates the given files in import order.
pub fn validate_files(
    files: &[DataFile],
    options: &ReaderOptions,
    validation: ValidationOptions,
) -> crate::Result<Report> {
    let _ = (files, options, validation);
    Ok(Report::new(Mode::Validate))
}
