//! `registrar plan`: what an import would do, row by row, against the live database, without
//! writing anything; and `import --plan plan.json --execute`, which applies exactly what was
//! reviewed.
//!
//! A plan reads and validates exactly as `import` does (the same reading thread), compares
//! each valid row with the stored row of the same key, and lists per entity the rows to
//! insert, the rows to update (each field old → new; a password only as "password changes"),
//! how many are unchanged, and with a sync the rows the export no longer holds (to delete, or
//! for users and courses to deactivate). It holds the SHA-256 of every file and a digest of
//! every stored value it compared with, so [`apply_plan`] refuses when either changed since.
//!
//! ```no_run
//! # async fn demo() -> Result<(), registrar::Error> {
//! use registrar::{Migration, SyncMode};
//! let plan = Migration::new("sqlite://registrar.db")
//!     .data_dir("data")
//!     .sync(SyncMode::Imported)
//!     .plan()
//!     .await?;
//! for e in &plan.entities {
//!     println!("{}: {} new, {} changed, {} unchanged, {} to remove",
//!         e.entity, e.insert.len(), e.update.len(), e.unchanged, e.remove.len());
//! }
//! # Ok(()) }
//! ```

use crate::driver::Driver;
use crate::import::{self, ImportMode, ImportOptions};
use crate::input::{self, Input};
use crate::sync::{self, EntityChanges, SyncMode};
use crate::Error;
use rayon::prelude::*;
use registrar_db::load as loader;
use registrar_db::Database;
use registrar_model::{Entity, FieldChange, Mode, NaturalKey, OnExisting, Report};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version of the plan file's layout.
pub const PLAN_FORMAT: u32 = 1;

/// One file a plan read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedFile {
    /// File name.
    pub name: String,
    /// What it holds.
    pub entity: Entity,
    /// SHA-256 of its bytes (`None` for records given in memory).
    pub sha256: Option<String>,
}

/// One row of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// The row's natural key.
    pub key: NaturalKey,
    /// The file it comes from (`None` for a removal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its row number (`None` for a removal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// For an update: the fields that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<FieldChange>,
    /// For a removal: `delete` (links) or `deactivate` (users, courses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// What a plan does to one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityPlan {
    /// The entity.
    pub entity: Entity,
    /// Rows the database holds now.
    pub existing: u64,
    /// Rows to insert.
    pub insert: Vec<PlannedRow>,
    /// Rows to update, with their fields.
    pub update: Vec<PlannedRow>,
    /// Rows the database holds with the same values (nothing written).
    pub unchanged: u64,
    /// Rows that differ but are left as they are (`--on-existing skip`).
    pub skipped: u64,
    /// With a sync: rows the export no longer holds, to remove.
    pub remove: Vec<PlannedRow>,
    /// With a sync: rows the export no longer holds that stay (no import made them).
    pub kept_unknown_origin: u64,
}

/// The options a plan was made with (and that [`apply_plan`] applies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// `--on-existing`.
    pub on_existing: OnExisting,
    /// `--update-passwords`.
    pub update_passwords: bool,
    /// `--sync`.
    pub sync: bool,
    /// `--sync-all`.
    pub sync_all: bool,
    /// `--sync-all --yes`.
    pub sync_all_confirmed: bool,
    /// `--max-changes` (percent).
    pub max_changes: f64,
    /// `--legacy-hashes` (`keep`, `reset` or `refuse`; plans made before it was an option read
    /// as `keep`).
    #[serde(default = "keep")]
    pub legacy_hashes: String,
    /// `--accept-unsalted-hashes`.
    #[serde(default)]
    pub accept_unsalted_hashes: bool,
    /// The mapping file the plan was made with (`--mapping`), kept whole so that executing
    /// the plan reads the files exactly as planning did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<registrar_rules::mapping::Mapping>,
    /// `--missing-password` (`error`, `reset` or `generate`; plans made before it was an
    /// option read as `error`).
    #[serde(default)]
    pub missing_password: registrar_model::MissingPassword,
    /// `--date-order` (`mdy` or `dmy`; absent: slash dates refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_order: Option<String>,
}

fn keep() -> String {
    registrar_hashes::LegacyHashes::Keep.as_str().to_owned()
}

impl PlanOptions {
    /// The `--date-order` the plan was made with.
    pub fn date_order(&self) -> Option<registrar_rules::parse::DateOrder> {
        self.date_order
            .as_deref()
            .and_then(registrar_rules::parse::DateOrder::parse)
    }

    /// The `password_hash` policy the plan was made with.
    pub fn hash_policy(&self) -> registrar_hashes::HashPolicy {
        registrar_hashes::HashPolicy {
            legacy: registrar_hashes::LegacyHashes::parse(&self.legacy_hashes).unwrap_or_default(),
            accept_unsalted: self.accept_unsalted_hashes,
        }
    }
}

/// A row-level plan of an import; see the module docs. Serialises to the `--format json` /
/// `--out plan.json` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub plan_format: u32,
    /// When it was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Registrar's version.
    pub tool_version: String,
    /// The database, password masked.
    pub database: String,
    /// The digest of every stored value the plan compared with.
    pub database_digest: String,
    /// The data path as given (absolute), read again by [`apply_plan`].
    pub input: Option<PathBuf>,
    /// Every file read, with its SHA-256.
    pub files: Vec<PlannedFile>,
    /// The options.
    pub options: PlanOptions,
    /// Per entity, in import order.
    pub entities: Vec<EntityPlan>,
    /// True when the plan can be applied: no validation error and no threshold refused.
    pub ok: bool,
    /// The validation report (issues, per-file counts) and the threshold's refusals.
    pub report: Report,
}

impl Plan {
    /// The plan of `entity`.
    pub fn entity(&self, entity: Entity) -> Option<&EntityPlan> {
        self.entities.iter().find(|e| e.entity == entity)
    }

    /// Rows the plan writes (inserted + updated + removed), all entities.
    pub fn writes(&self) -> usize {
        self.entities
            .iter()
            .map(|e| e.insert.len() + e.update.len() + e.remove.len())
            .sum()
    }
}

fn sync_options(mode: SyncMode) -> (bool, bool, bool) {
    match mode {
        SyncMode::Off => (false, false, false),
        SyncMode::Imported => (true, false, false),
        SyncMode::All { confirmed } => (true, true, confirmed),
    }
}

/// The plan of importing `input` into `db` with `options`; writes nothing.
pub async fn make_plan(
    db: &Database,
    input: &Input,
    options: &ImportOptions,
    database: &str,
) -> Result<Plan, Error> {
    let created_at = chrono::Utc::now();
    let t0 = std::time::Instant::now();
    let (files, pre_issues) = input::resolve(input)?;
    let planned_files: Vec<PlannedFile> = files
        .iter()
        .map(|f| PlannedFile {
            name: f.name(),
            entity: f.entity(),
            sha256: f.path().and_then(input::sha256_file),
        })
        .collect();
    let (existing, _) = loader::load_existing_with_ids(db, import::need_of(&files)).await?;
    let digest = existing.digest.clone();
    let existing_rows = Entity::ALL.map(|e| existing.rows(e));
    let stored_hashes = import::stored_hashes(&existing, options);
    let mut report = Report::new(Mode::Validate);
    for i in pre_issues {
        report.push(i);
    }
    let names: Vec<String> = files.iter().map(|f| f.name()).collect();
    let entities_of: Vec<Entity> = files.iter().map(|f| f.entity()).collect();
    let mut driver = Driver::validating(
        files,
        options.reader.clone(),
        options.validation(Some(existing)),
        report,
    );
    driver.progress = options.progress.clone();
    driver.collect_plan = true;
    driver.sync = options.sync.is_on();
    driver.stored_hashes = stored_hashes;
    let mut out = tokio::task::spawn_blocking(move || -> Result<_, Error> {
        let mut out = driver.run()?;
        // A plain password that the stored hash already verifies does not change.
        let checks = std::mem::take(&mut out.password_checks);
        let same: Vec<usize> = checks
            .into_par_iter()
            .filter_map(|c| {
                registrar_db::hash::verify_password(c.password.expose_secret(), &c.stored)
                    .then_some(c.plan_row)
            })
            .collect();
        for i in same {
            if let Some(r) = out.plan_rows.get_mut(i) {
                r.changes.retain(|f| !f.is_password());
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| Error::Internal(format!("the reading thread failed: {e}")))??;
    if let Some(p) = &options.progress {
        p.finish();
    }

    let mut entities: Vec<EntityPlan> = Vec::new();
    for e in Entity::ALL {
        if entities_of.contains(&e) {
            entities.push(EntityPlan {
                entity: e,
                existing: existing_rows[e as usize],
                insert: Vec::new(),
                update: Vec::new(),
                unchanged: 0,
                skipped: 0,
                remove: Vec::new(),
                kept_unknown_origin: 0,
            });
        }
    }
    let slot =
        |entities: &mut Vec<EntityPlan>, e: Entity| entities.iter().position(|p| p.entity == e);
    for s in &out.report.files {
        if let Some(i) = slot(&mut entities, s.entity) {
            entities[i].unchanged += s.unchanged;
        }
    }
    for r in std::mem::take(&mut out.plan_rows) {
        let Some(i) = slot(&mut entities, r.key.entity()) else {
            continue;
        };
        if r.skipped {
            entities[i].skipped += 1;
            continue;
        }
        if r.existing && r.changes.is_empty() {
            // Its only change was a password the stored hash already verifies.
            entities[i].unchanged += 1;
            continue;
        }
        let row = PlannedRow {
            key: r.key,
            file: names.get(r.file).cloned(),
            row: Some(r.row),
            changes: r.changes,
            action: None,
        };
        if r.existing {
            entities[i].update.push(row);
        } else {
            entities[i].insert.push(row);
        }
    }

    let decision = sync::decide(
        std::mem::take(&mut out.unclaimed),
        &out.unclean,
        options.sync,
    );
    for i in decision.issues {
        out.report.push(i);
    }
    for key in decision.remove {
        if let Some(i) = slot(&mut entities, key.entity()) {
            let action = match key.entity() {
                Entity::Users | Entity::Courses => "deactivate",
                _ => "delete",
            };
            entities[i].remove.push(PlannedRow {
                key,
                file: None,
                row: None,
                changes: Vec::new(),
                action: Some(action.into()),
            });
        }
    }
    for r in &decision.summary {
        if let Some(i) = slot(&mut entities, r.entity) {
            entities[i].kept_unknown_origin = r.kept_unknown_origin;
        }
    }
    let changes: Vec<EntityChanges> = entities
        .iter()
        .map(|e| EntityChanges {
            entity: e.entity,
            existing: e.existing,
            updated: e.update.len() as u64,
            removed: e.remove.len() as u64,
        })
        .collect();
    let max = options.max_changes.unwrap_or(crate::DEFAULT_MAX_CHANGES);
    for i in sync::threshold_issues(&changes, max) {
        out.report.push(i);
    }
    out.report.removed = decision.summary;
    out.report.duration_ms = t0.elapsed().as_millis() as u64;
    out.report.finish();
    let (sync, sync_all, sync_all_confirmed) = sync_options(options.sync);
    let input_path = match input {
        Input::Dir(p) | Input::File { path: p, .. } => std::path::absolute(p).ok(),
        _ => None,
    };
    Ok(Plan {
        plan_format: PLAN_FORMAT,
        created_at,
        tool_version: registrar_db::audit::TOOL_VERSION.to_owned(),
        database: database.to_owned(),
        database_digest: digest,
        input: input_path,
        files: planned_files,
        options: PlanOptions {
            on_existing: options.on_existing,
            update_passwords: options.update_passwords,
            sync,
            sync_all,
            sync_all_confirmed,
            max_changes: max,
            legacy_hashes: options.hash_policy.legacy.as_str().to_owned(),
            accept_unsalted_hashes: options.hash_policy.accept_unsalted,
            mapping: options.mapping.as_deref().cloned(),
            missing_password: options.missing_password,
            date_order: options.date_order.map(|o| o.as_str().to_owned()),
        },
        ok: out.report.is_ok(),
        entities,
        report: out.report,
    })
}

/// Applies a saved plan to the database at `database_url`: reads the plan's input again and
/// refuses ([`Error::StalePlan`]) when a file's SHA-256 or the database's digest differs from
/// the plan's, or when the plan was not ok; otherwise imports with the plan's options, all or
/// nothing, exactly as `import --execute` does.
pub async fn apply_plan(
    database_url: &str,
    plan: &Plan,
    progress: Option<std::sync::Arc<dyn registrar_model::Progress>>,
) -> Result<Report, Error> {
    apply_plan_with(database_url, plan, progress, None).await
}

/// [`apply_plan`], writing the passwords that a plan made with `--missing-password generate`
/// generates to `credentials_out` (required for such a plan; see [`crate::credentials`]).
pub async fn apply_plan_with(
    database_url: &str,
    plan: &Plan,
    progress: Option<std::sync::Arc<dyn registrar_model::Progress>>,
    credentials_out: Option<&std::path::Path>,
) -> Result<Report, Error> {
    if plan.plan_format != PLAN_FORMAT {
        return Err(Error::StalePlan(format!(
            "its format is {} and this build reads {PLAN_FORMAT}; make a new plan",
            plan.plan_format
        )));
    }
    if !plan.ok {
        return Err(Error::StalePlan(
            "it has errors (or a change over --max-changes) and cannot be applied; fix the files and make a new plan".into(),
        ));
    }
    let masked = registrar_db::mask_url(database_url);
    if masked != plan.database {
        return Err(Error::StalePlan(format!(
            "it was made for {} and this run writes {masked}",
            plan.database
        )));
    }
    let Some(path) = &plan.input else {
        return Err(Error::StalePlan(
            "it was made from records in memory, which cannot be read again".into(),
        ));
    };
    let input = Input::from_path(path);
    let (files, _) = input::resolve(&input)?;
    let now: Vec<(String, Option<String>)> = files
        .iter()
        .map(|f| (f.name(), f.path().and_then(input::sha256_file)))
        .collect();
    let then: Vec<(String, Option<String>)> = plan
        .files
        .iter()
        .map(|f| (f.name.clone(), f.sha256.clone()))
        .collect();
    if now != then {
        let changed: Vec<String> = then
            .iter()
            .filter(|t| !now.contains(t))
            .map(|t| t.0.clone())
            .chain(
                now.iter()
                    .filter(|n| !then.contains(n))
                    .map(|n| n.0.clone()),
            )
            .collect();
        return Err(Error::StalePlan(format!(
            "the files changed since the plan was made ({}); make a new plan and review it",
            changed.join(", ")
        )));
    }
    let sync = match (plan.options.sync, plan.options.sync_all) {
        (_, true) => SyncMode::All {
            confirmed: plan.options.sync_all_confirmed,
        },
        (true, false) => SyncMode::Imported,
        _ => SyncMode::Off,
    };
    let options = ImportOptions {
        mode: ImportMode::Execute,
        on_existing: plan.options.on_existing,
        progress,
        update_passwords: plan.options.update_passwords,
        sync,
        max_changes: Some(plan.options.max_changes),
        expect_digest: Some(plan.database_digest.clone()),
        hash_policy: plan.options.hash_policy(),
        mapping: plan.options.mapping.clone().map(std::sync::Arc::new),
        missing_password: plan.options.missing_password,
        credentials_out: credentials_out.map(|p| p.to_path_buf()),
        date_order: plan.options.date_order(),
        ..ImportOptions::default()
    };
    let db = Database::open(database_url).await?;
    let _run_lock = db.run_lock().await?;
    let report = import::run_import(&db, &input, &options).await;
    db.close().await;
    report
}

/// Saves `plan` as JSON at `path` (0600: it names people; written atomically).
pub fn write_plan(plan: &Plan, path: &std::path::Path) -> Result<(), Error> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let context = || format!("cannot write the plan {}", path.display());
    let json = serde_json::to_vec_pretty(plan)
        .map_err(|e| Error::Internal(format!("the plan does not serialise: {e}")))?;
    // tempfile creates the file 0600 on Unix.
    let mut tmp = tempfile::Builder::new()
        .prefix(".registrar-plan")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(context(), e))?;
    tmp.write_all(&json)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| Error::io(context(), e))?;
    tmp.persist(path)
        .map_err(|e| Error::io(context(), e.error))?;
    Ok(())
}

/// Reads a plan saved by [`write_plan`].
pub fn read_plan(path: &std::path::Path) -> Result<Plan, Error> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::io(format!("cannot read the plan {}", path.display()), e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::StalePlan(format!(
            "{} is not a plan saved by registrar plan --out ({e})",
            path.display()
        ))
    })
}
