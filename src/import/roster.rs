//! What an import of a OneRoster bundle does besides loading rows: the teacher links of its
//! teacher and aide enrollments, and (delta bundles) the removals its `tobedeleted` rows ask
//! for. Both are written in the import's transaction, after the rows.
//!
//! A removal names its record by sourcedId (users) and course code; it is resolved against
//! the database as it was before the run (a record the database does not hold has nothing to
//! remove, and is reported as a warning, not an error). Users are deactivated, courses set
//! inactive, enrollments and grades deleted, exactly as a sync removes them.

use registrar_formats::oneroster::read::{LinkRole, Removal, Sidecar};
use registrar_model::{Entity, Existing, Issue, IssueCode, NaturalKey};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The database's keys a bundle's removals are resolved against.
pub(crate) struct Keys {
    /// sis_id → email.
    sis: HashMap<String, String>,
    /// Stored course codes.
    courses: HashSet<String>,
}

impl Keys {
    /// The keys of `existing` (read before the run).
    pub(crate) fn of(existing: &Existing) -> Keys {
        Keys {
            sis: existing
                .users
                .iter()
                .filter_map(|(email, s)| Some((s.values.sis_id.clone()?, email.clone())))
                .collect(),
            courses: existing.courses.keys().cloned().collect(),
        }
    }
}

/// A course code as the validation pass stores it (normalised), or as given when it is not a
/// valid code (it then matches nothing).
pub(crate) fn code(raw: &str) -> String {
    let normalized = registrar_rules::parse::normalize_course_code(raw);
    registrar_rules::parse::course_code_str(&normalized)
        .map(|c| c.as_str().to_owned())
        .unwrap_or_else(|_| raw.trim().to_owned())
}

/// The removals of `side` as natural keys, the teacher links to delete, and a warning for
/// what names nothing the database holds.
pub(crate) fn removals(
    side: &Sidecar,
    keys: &Keys,
    bundle: &str,
) -> (Vec<NaturalKey>, Vec<(String, String)>, Vec<Issue>) {
    let mut out = Vec::new();
    let mut links = Vec::new();
    let mut missing: BTreeMap<Entity, u64> = BTreeMap::new();
    let email = |sis: &str| keys.sis.get(sis).cloned();
    let course = |c: &str| {
        let c = code(c);
        keys.courses.contains(&c).then_some(c)
    };
    for r in &side.removals {
        let (entity, key) = match r {
            Removal::User(s) => (Entity::Users, email(s).map(NaturalKey::User)),
            Removal::Course(c) => (Entity::Courses, course(c).map(NaturalKey::Course)),
            Removal::Enrollment(s, c) => (
                Entity::Enrollments,
                email(s)
                    .zip(course(c))
                    .map(|(e, c)| NaturalKey::Enrollment(e, c)),
            ),
            Removal::Grade(s, c, a) => (
                Entity::Grades,
                email(s)
                    .zip(course(c))
                    .map(|(e, c)| NaturalKey::Grade(e, c, a.trim().to_lowercase())),
            ),
            Removal::TeacherLink(s, c) => {
                links.push((s.clone(), code(c)));
                continue;
            }
        };
        match key {
            Some(k) => out.push(k),
            None => *missing.entry(entity).or_default() += 1,
        }
    }
    out.sort();
    out.dedup();
    let issues = missing
        .into_iter()
        .map(|(entity, n)| {
            Issue::warning(
                IssueCode::UnknownReference,
                bundle,
                None,
                None,
                format!(
                    "{n} tobedeleted {entity} rows name nothing the database holds (no user with that sourcedId, or no such course): nothing to remove"
                ),
            )
        })
        .collect();
    (out, links, issues)
}

/// The teacher links of `side`, one per (teacher, course) (the last row wins), codes
/// normalised.
pub(crate) fn links(side: &Sidecar) -> Vec<registrar_db::load::LinkRow> {
    let mut by_key: BTreeMap<(String, String), &'static str> = BTreeMap::new();
    for l in &side.teacher_links {
        let role = match l.role {
            LinkRole::Teacher => "teacher",
            LinkRole::Aide => "aide",
        };
        by_key.insert((l.teacher_sis_id.clone(), code(&l.course_code)), role);
    }
    by_key.into_iter().map(|((s, c), r)| (s, c, r)).collect()
}
