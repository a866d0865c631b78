//! Sync decisions shared by `import --sync`, `migrate --sync` and `plan --sync`: which database
//! rows the export no longer holds are removed, and the `--max-changes` threshold that stops a
//! mass removal or update before anything is written.
//!
//! Decisions (where the issue and SPEC are silent):
//! - Removals are computed only for entities that have a file in the run, and only when every
//!   file of that entity was read completely with no error at all: a wrong header, a bad
//!   encoding or a skipped invalid row can never read as "the export no longer holds it".
//! - Only rows an earlier import created or last changed are removed (`--sync`); `--sync-all`
//!   removes rows of unknown origin too, and is refused without `--yes` when there are any.
//! - The threshold counts, per entity, rows updated plus rows removed against the rows the
//!   database held before the run; inserts never count. An entity with no rows yet has no
//!   threshold. The refusal names the exact `--max-changes` value that approves the run.

use registrar_model::{Entity, EntityRemoved, Issue, IssueCode, NaturalKey};

/// How a run treats the rows the export no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Leave them (the default).
    #[default]
    Off,
    /// `--sync`: remove those an earlier import created or last changed.
    Imported,
    /// `--sync-all`: remove every one, rows of unknown origin too; `confirmed` (`--yes`) is
    /// required when there are rows of unknown origin to remove.
    All {
        /// `--yes` was given.
        confirmed: bool,
    },
}

impl SyncMode {
    /// True unless [`SyncMode::Off`].
    pub fn is_on(self) -> bool {
        self != SyncMode::Off
    }
}

/// The default `--max-changes`: percent of an entity's rows a run may update or remove.
pub const DEFAULT_MAX_CHANGES: f64 = 10.0;

/// What a sync removes.
#[derive(Debug, Default)]
pub(crate) struct SyncDecision {
    /// Keys to remove.
    pub(crate) remove: Vec<NaturalKey>,
    /// Per entity: rows to remove and rows kept (unknown origin).
    pub(crate) summary: Vec<EntityRemoved>,
    /// Warnings (an entity not read cleanly) and errors (`--sync-all` without `--yes`).
    pub(crate) issues: Vec<Issue>,
}

pub(crate) fn decide(
    unclaimed: Vec<(Entity, Vec<(NaturalKey, bool)>)>,
    unclean: &[Entity],
    mode: SyncMode,
) -> SyncDecision {
    let mut d = SyncDecision::default();
    if !mode.is_on() {
        return d;
    }
    for e in unclean {
        d.issues.push(Issue::warning(
            IssueCode::SyncIncomplete,
            "",
            None,
            None,
            format!(
                "nothing of {e} is removed by this sync: a {e} file was not read completely and cleanly; fix its errors and run again"
            ),
        ));
    }
    for (entity, keys) in unclaimed {
        let mut removed = 0u64;
        let mut kept = 0u64;
        let mut unknown = 0u64;
        for (key, imported) in keys {
            match (imported, mode) {
                (true, _) | (false, SyncMode::All { .. }) => {
                    if !imported {
                        unknown += 1;
                    }
                    removed += 1;
                    d.remove.push(key);
                }
                _ => kept += 1,
            }
        }
        if unknown > 0 && mode == (SyncMode::All { confirmed: false }) {
            d.issues.push(Issue::error(
                IssueCode::UnknownOrigin,
                "",
                None,
                None,
                format!(
                    "--sync-all would remove {unknown} {entity} rows that no Registrar import made (made by hand in the SMS, or the database's own); nothing was written. Review them with registrar plan --sync-all, then add --yes to remove them too, or use --sync to keep them"
                ),
            ));
        }
        d.summary.push(EntityRemoved {
            entity,
            removed,
            kept_unknown_origin: kept,
        });
    }
    d
}

/// One entity's changes against the rows it held before the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntityChanges {
    pub(crate) entity: Entity,
    pub(crate) existing: u64,
    pub(crate) updated: u64,
    pub(crate) removed: u64,
}

/// The `too-many-changes` errors of a run whose updates plus removals exceed `max_pct` percent
/// of an entity's existing rows.
pub(crate) fn threshold_issues(changes: &[EntityChanges], max_pct: f64) -> Vec<Issue> {
    let mut out = Vec::new();
    for c in changes {
        let n = c.updated + c.removed;
        if c.existing == 0 || n == 0 {
            continue;
        }
        let pct = n as f64 * 100.0 / c.existing as f64;
        if pct > max_pct {
            let approve = pct.ceil() as u64;
            out.push(Issue::error(
                IssueCode::TooManyChanges,
                "",
                None,
                None,
                format!(
                    "this run would change {} and remove {} of the {} {} rows in the database ({pct:.1} %), more than --max-changes {max_pct} %; nothing was written. Review the plan (registrar plan --data ... --sync), then approve it with --max-changes {approve}",
                    c.updated, c.removed, c.existing, c.entity
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(e: &str) -> NaturalKey {
        NaturalKey::User(e.into())
    }

    #[test]
    fn a_sync_removes_only_imported_rows_unless_sync_all() {
        let unclaimed = || {
            vec![(
                Entity::Users,
                vec![(key("a@x.org"), true), (key("b@x.org"), false)],
            )]
        };
        let d = decide(unclaimed(), &[], SyncMode::Imported);
        assert_eq!(d.remove, [key("a@x.org")]);
        assert_eq!(d.summary[0].kept_unknown_origin, 1);
        assert!(d.issues.is_empty());
        let d = decide(unclaimed(), &[], SyncMode::All { confirmed: false });
        assert_eq!(d.remove.len(), 2);
        assert_eq!(d.issues[0].code, IssueCode::UnknownOrigin);
        assert!(d.issues[0].is_error());
        let d = decide(unclaimed(), &[], SyncMode::All { confirmed: true });
        assert!(d.issues.is_empty());
        assert!(decide(unclaimed(), &[], SyncMode::Off).remove.is_empty());
    }

    #[test]
    fn the_threshold_names_the_flag_that_approves_it() {
        let c = |existing, updated, removed| EntityChanges {
            entity: Entity::Users,
            existing,
            updated,
            removed,
        };
        assert!(threshold_issues(&[c(100, 5, 5)], 10.0).is_empty());
        let i = threshold_issues(&[c(100, 0, 40)], 10.0);
        assert_eq!(i[0].code, IssueCode::TooManyChanges);
        assert!(
            i[0].message.contains("--max-changes 40"),
            "{}",
            i[0].message
        );
        assert!(threshold_issues(&[c(100, 0, 40)], 40.0).is_empty());
        assert!(threshold_issues(&[c(0, 0, 0)], 10.0).is_empty());
    }
}
