//! The structural check of a OneRoster bundle against the CSV binding ([`super::spec`]).
//!
//! What [`check_bundle`] reports (every problem an [`Issue`] naming the bundle's file, row and
//! column):
//!
//! | problem | code | severity |
//! |---|---|---|
//! | the manifest's own problems ([`Bundle::issues`]) | `invalid-manifest`, ... | error (unknown properties: warning) |
//! | a file the manifest lists as `bulk`/`delta` is not in the bundle | `missing-file` | error |
//! | a file that a read file references (classes → courses) is absent | `missing-file` | error |
//! | a file in the bundle the manifest does not list | `invalid-manifest` | error |
//! | a file Registrar does not use, one marked `absent`, or an unknown CSV | `ignored-file` | warning |
//! | a required column missing / a column twice | `missing-column` / `duplicate-column` | error |
//! | a column that is neither the specification's nor `metadata.*` | `unknown-column` | warning |
//! | the columns not in the specification's order | `column-order` | warning (they are read by name) |
//! | an empty sourcedId or reference | `missing-value` | error |
//! | the same sourcedId twice in a file (the message names the first row) | `duplicate-key` | error |
//! | a value outside its column's vocabulary (status, roles, types, `true`/`false`) | `invalid-vocabulary` | error |
//! | a sourcedId that a row references but no file of the bundle defines | `unknown-reference` | error |
//!
//! The check is structural: the values of other columns (names, dates, scores) are the
//! reader's to validate. References are checked against `bulk` files only: a `delta` file
//! holds changes, so what it references may already be in the receiving system; a reference
//! into a `delta` file, or from one into an absent file, is not reported.
//!
//! Files are streamed; what is kept is the set of sourcedIds of each file (for duplicates
//! and references), so memory grows with the number of records, not with their size.

use super::spec::{self, FileMode, FileSpec, Vocabulary};
use super::{Bundle, BundleFile};
use registrar_model::{Event, Issue, IssueCode, RowSource};
use std::collections::{HashMap, HashSet};

/// Checks `bundle` (see the module docs); the issues come in file order.
pub fn check_bundle(bundle: &Bundle) -> Vec<Issue> {
    let mut issues: Vec<Issue> = bundle.issues().to_vec();
    let version = bundle.manifest().version;
    let manifest = bundle.manifest();
    let present = bundle.files();

    // Files the manifest lists but the bundle lacks.
    for f in spec::files(version) {
        if let Some(mode @ (FileMode::Bulk | FileMode::Delta)) = manifest.mode(f.name) {
            if !bundle.has(f.name) {
                issues.push(Issue::error(
                    IssueCode::MissingFile,
                    f.name,
                    None,
                    None,
                    format!(
                        "the manifest lists {} as {}, but the bundle holds no {}; add the file or set {} to absent",
                        f.name,
                        mode.as_str(),
                        f.name,
                        f.manifest_property()
                    ),
                ));
            }
        }
    }

    // Files present: listed? used?
    for file in &present {
        match (file.spec, file.mode) {
            (None, _) => issues.push(Issue::warning(
                IssueCode::IgnoredFile,
                &file.name,
                None,
                None,
                format!(
                    "{} is not a file of OneRoster {version}; it is ignored",
                    file.name
                ),
            )),
            (Some(s), None) => issues.push(Issue::error(
                IssueCode::InvalidManifest,
                &file.name,
                None,
                None,
                format!(
                    "the bundle holds {} but the manifest does not list it; add the row {},bulk (or delta) to manifest.csv",
                    file.name,
                    s.manifest_property()
                ),
            )),
            (Some(s), Some(FileMode::Absent)) => issues.push(Issue::warning(
                IssueCode::IgnoredFile,
                &file.name,
                None,
                None,
                format!(
                    "the manifest marks {} absent, so it is not read; set {} to bulk or delta to use it",
                    file.name,
                    s.manifest_property()
                ),
            )),
            (Some(s), Some(_)) if !s.registrar_uses => issues.push(Issue::warning(
                IssueCode::IgnoredFile,
                &file.name,
                None,
                None,
                format!("Registrar does not use {}; it is not read", file.name),
            )),
            _ => {}
        }
    }

    let mut state = State {
        version,
        ids: HashMap::new(),
        deferred: Vec::new(),
        modes: HashMap::new(),
    };
    for f in spec::files(version) {
        let mode = if bundle.has(f.name) {
            manifest.mode(f.name)
        } else {
            None
        };
        state.modes.insert(f.name, mode);
    }
    // Missing targets of references: once per (file, target).
    for file in present.iter().filter(|f| f.is_read()) {
        let spec = file.spec.expect("is_read implies a spec");
        let mut targets: Vec<&str> = spec.columns.iter().filter_map(|c| c.references).collect();
        targets.sort_unstable();
        targets.dedup();
        for target in targets {
            let required = spec
                .columns
                .iter()
                .any(|c| c.required && c.references == Some(target));
            let target_mode = state.modes.get(target).copied().flatten();
            if target != spec.name
                && required
                && file.mode == Some(FileMode::Bulk)
                && matches!(target_mode, None | Some(FileMode::Absent))
            {
                issues.push(Issue::error(
                    IssueCode::MissingFile,
                    &file.name,
                    None,
                    None,
                    format!(
                        "{} references {target}, which the bundle does not hold (or the manifest marks absent); add {target}",
                        file.name
                    ),
                ));
            }
        }
    }

    for file in &present {
        let Some(spec) = file.spec else { continue };
        match bundle.open_file(&file.name) {
            Ok(mut source) => {
                if file.is_read() {
                    state.check_file(file, spec, source.as_mut(), &mut issues);
                } else if matches!(file.mode, Some(FileMode::Bulk | FileMode::Delta)) {
                    // Not used, but its ids may be referenced (lineItems → categories).
                    state.collect_ids(spec, source.as_mut());
                }
            }
            Err(crate::Error::File(issue)) if file.is_read() => issues.push(*issue),
            Err(e) if file.is_read() => issues.push(Issue::error(
                IssueCode::UnreadableFile,
                &file.name,
                None,
                None,
                format!("the file cannot be read: {e}"),
            )),
            Err(_) => {}
        }
    }
    state.check_deferred(&mut issues);
    issues
}

struct State {
    version: spec::Version,
    /// sourcedIds defined per file (only of files that are bulk or delta).
    ids: HashMap<&'static str, HashMap<String, u64>>,
    /// Self references (parent orgs, agents), checked once the file is read.
    deferred: Vec<(String, &'static str, u64, &'static str, String)>,
    /// Each specification file's mode (`None`: not in the bundle or not listed).
    modes: HashMap<&'static str, Option<FileMode>>,
}

impl State {
    fn collect_ids(&mut self, spec: &'static FileSpec, source: &mut dyn RowSource) {
        let Some(col) = source.headers().iter().position(|h| h == "sourcedId") else {
            return;
        };
        let ids = self.ids.entry(spec.name).or_default();
        for event in &mut *source {
            let Ok(Event::Row(row)) = event else { continue };
            if let Some(v) = row.values.get(col) {
                let id = v.to_string().trim().to_owned();
                if !id.is_empty() {
                    ids.entry(id).or_insert(row.row);
                }
            }
        }
    }

    fn check_file(
        &mut self,
        file: &BundleFile,
        spec: &'static FileSpec,
        source: &mut dyn RowSource,
        issues: &mut Vec<Issue>,
    ) {
        let name = source.file_name().to_owned();
        let header_row = source.header_row();
        let headers: Vec<String> = source.headers().to_vec();

        // Header: duplicates, required, unknown, order.
        let mut positions: HashMap<&str, usize> = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            if positions.insert(h.as_str(), i).is_some() {
                issues.push(Issue::error(
                    IssueCode::DuplicateColumn,
                    &name,
                    Some(header_row),
                    Some(h),
                    format!("the column {h} appears twice; keep one"),
                ));
            }
        }
        let mut header_ok = true;
        for c in spec.required() {
            if !headers.iter().any(|h| h == c.name) {
                header_ok = false;
                let near = headers.iter().find(|h| h.eq_ignore_ascii_case(c.name));
                let hint = match near {
                    Some(h) => format!(
                        " ({h:?} is there: OneRoster headers are case-sensitive; write {})",
                        c.name
                    ),
                    None => String::new(),
                };
                issues.push(Issue::error(
                    IssueCode::MissingColumn,
                    &name,
                    Some(header_row),
                    Some(c.name),
                    format!(
                        "the required column {} is missing{hint}; OneRoster {} {} has the columns {}",
                        c.name,
                        self.version,
                        spec.name,
                        column_list(spec)
                    ),
                ));
            }
        }
        for h in &headers {
            if spec.column(h).is_none() && !spec::is_extension_column(h) {
                issues.push(Issue::warning(
                    IssueCode::UnknownColumn,
                    &name,
                    Some(header_row),
                    Some(h),
                    format!(
                        "{h} is not a column of OneRoster {} {} and is ignored (extension columns are named metadata.<name>)",
                        self.version, spec.name
                    ),
                ));
            }
        }
        let known: Vec<(&str, usize)> = headers
            .iter()
            .filter_map(|h| spec.position(h).map(|p| (h.as_str(), p)))
            .collect();
        if let Some(w) = known.windows(2).find(|w| w[0].1 > w[1].1) {
            issues.push(Issue::warning(
                IssueCode::ColumnOrder,
                &name,
                Some(header_row),
                Some(w[1].0),
                format!(
                    "the column {} comes after {}, but OneRoster {} orders {} as {}; the columns are read by name, but a strict consumer may refuse the file",
                    w[1].0,
                    w[0].0,
                    self.version,
                    spec.name,
                    column_list(spec)
                ),
            ));
        }
        if let Some(last_spec) = headers.iter().rposition(|h| spec.column(h).is_some()) {
            if let Some((i, h)) = headers
                .iter()
                .enumerate()
                .find(|(_, h)| spec::is_extension_column(h))
            {
                if i < last_spec {
                    issues.push(Issue::warning(
                        IssueCode::ColumnOrder,
                        &name,
                        Some(header_row),
                        Some(h),
                        format!(
                            "the extension column {h} comes before {}; extension columns go after the specification's columns",
                            headers[last_spec]
                        ),
                    ));
                }
            }
        }

        // Columns whose values are checked.
        let sid_col = positions.get("sourcedId").copied();
        let mut checked: Vec<(usize, &'static str, Checked)> = Vec::new();
        for c in spec.columns {
            let Some(&i) = positions.get(c.name) else {
                continue;
            };
            if let Some(target) = c.references {
                checked.push((
                    i,
                    c.name,
                    Checked::Reference(target, c.required, list_column(c.name)),
                ));
            } else if let Some(vocab) = spec::vocabulary(spec.name, c.name) {
                checked.push((i, c.name, Checked::Vocabulary(vocab, c.required)));
            }
        }
        let delta = file.mode == Some(FileMode::Delta);
        let mut ids: HashMap<String, u64> = HashMap::new();
        for event in &mut *source {
            let row = match event {
                Ok(Event::Row(row)) => row,
                Ok(Event::Issue(issue)) => {
                    issues.push(issue);
                    continue;
                }
                Err(crate::Error::File(issue)) => {
                    issues.push(*issue);
                    break;
                }
                Err(e) => {
                    issues.push(Issue::error(
                        IssueCode::UnreadableFile,
                        &name,
                        None,
                        None,
                        format!("reading stopped: {e}"),
                    ));
                    break;
                }
            };
            let cell = |i: usize| {
                row.values
                    .get(i)
                    .map(|v| v.to_string().trim().to_owned())
                    .unwrap_or_default()
            };
            if let Some(i) = sid_col {
                let id = cell(i);
                if id.is_empty() {
                    issues.push(Issue::error(
                        IssueCode::MissingValue,
                        &name,
                        Some(row.row),
                        Some("sourcedId"),
                        "every record needs a sourcedId",
                    ));
                } else if let Some(first) = ids.get(&id) {
                    issues.push(Issue::error(
                        IssueCode::DuplicateKey,
                        &name,
                        Some(row.row),
                        Some("sourcedId"),
                        format!("the sourcedId {id:?} is already used on row {first}; sourcedIds are unique within a file"),
                    ));
                } else {
                    ids.insert(id, row.row);
                }
            }
            if !header_ok {
                continue;
            }
            for (i, column, what) in &checked {
                let value = cell(*i);
                match what {
                    Checked::Vocabulary(vocab, required) => {
                        if value.is_empty() {
                            // `status` may be empty in bulk files; other vocabularies when optional.
                            if *required || (delta && *column == "status") {
                                issues.push(Issue::error(
                                    IssueCode::MissingValue,
                                    &name,
                                    Some(row.row),
                                    Some(column),
                                    format!(
                                        "{column} is required; one of {}",
                                        vocab.values(self.version).join(", ")
                                    ),
                                ));
                            }
                        } else if vocab.lookup(self.version, &value).is_none() {
                            issues.push(Issue::error(
                                IssueCode::InvalidVocabulary,
                                &name,
                                Some(row.row),
                                Some(column),
                                format!(
                                    "{value:?} is not a OneRoster {} {}; use one of {}",
                                    self.version,
                                    vocab.describe(),
                                    vocab.values(self.version).join(", ")
                                ),
                            ));
                        }
                    }
                    Checked::Reference(target, required, list) => {
                        let refs: Vec<&str> = if *list {
                            value
                                .split(',')
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .collect()
                        } else if value.is_empty() {
                            Vec::new()
                        } else {
                            vec![value.as_str()]
                        };
                        if refs.is_empty() {
                            if *required {
                                issues.push(Issue::error(
                                    IssueCode::MissingValue,
                                    &name,
                                    Some(row.row),
                                    Some(column),
                                    format!("{column} is required: the sourcedId of a record of {target}"),
                                ));
                            }
                            continue;
                        }
                        for r in refs {
                            if *target == spec.name {
                                self.deferred.push((
                                    name.clone(),
                                    column,
                                    row.row,
                                    target,
                                    r.to_owned(),
                                ));
                            } else {
                                self.check_reference(&name, column, row.row, target, r, issues);
                            }
                        }
                    }
                }
            }
        }
        self.ids.entry(spec.name).or_default().extend(ids);
    }

    fn check_reference(
        &self,
        file: &str,
        column: &str,
        row: u64,
        target: &'static str,
        id: &str,
        issues: &mut Vec<Issue>,
    ) {
        // Only a complete (bulk) target can prove that an id is missing.
        if self.modes.get(target).copied().flatten() != Some(FileMode::Bulk) {
            return;
        }
        let defined = self.ids.get(target).is_some_and(|ids| ids.contains_key(id));
        if !defined {
            issues.push(Issue::error(
                IssueCode::UnknownReference,
                file,
                Some(row),
                Some(column),
                format!("{id:?} is not the sourcedId of any record of {target}; add that record or fix the reference"),
            ));
        }
    }

    fn check_deferred(&mut self, issues: &mut Vec<Issue>) {
        let deferred = std::mem::take(&mut self.deferred);
        let mut seen = HashSet::new();
        for (file, column, row, target, id) in deferred {
            if seen.insert((file.clone(), row, column, id.clone())) {
                self.check_reference(&file, column, row, target, &id, issues);
            }
        }
    }
}

enum Checked {
    /// A vocabulary column; the flag: a value is required.
    Vocabulary(Vocabulary, bool),
    /// A reference to a file; flags: required, a comma-separated list.
    Reference(&'static str, bool, bool),
}

/// True for the columns that hold a comma-separated list of sourcedIds.
fn list_column(name: &str) -> bool {
    name.ends_with("SourcedIds")
}

fn column_list(spec: &FileSpec) -> String {
    spec.columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(",")
}
