//! The header line: each entity's columns, the required ones, and the layout of a file (where
//! each known column sits, `missing-column`, `duplicate-column`, `unknown-column`).

use crate::mapping::{resolve_header, EntityMapping};
use crate::parse::quote;
use registrar_model::{Entity, Issue, IssueCode, Report, Value};

pub(super) mod col {
    // The one column list per file is the model's; the indexes below name its positions.
    use registrar_model::Entity;

    pub const USERS: &[&str] = Entity::Users.columns();
    pub const U_EMAIL: usize = 0;
    pub const U_PASSWORD: usize = 1;
    pub const U_HASH: usize = 2;
    pub const U_ROLE: usize = 3;
    pub const U_FIRST: usize = 4;
    pub const U_LAST: usize = 5;
    pub const U_ACTIVE: usize = 6;
    pub const U_SIS: usize = 7;

    pub const COURSES: &[&str] = Entity::Courses.columns();
    pub const C_CODE: usize = 0;
    pub const C_NAME: usize = 1;
    pub const C_DESCRIPTION: usize = 2;
    pub const C_SEMESTER: usize = 3;
    pub const C_CREDITS: usize = 4;
    pub const C_STATUS: usize = 5;

    pub const ENROLLMENTS: &[&str] = Entity::Enrollments.columns();
    pub const E_DATE: usize = 2;
    pub const E_SIS: usize = 3;

    pub const GRADES: &[&str] = Entity::Grades.columns();
    pub const G_ASSESSMENT: usize = 2;
    pub const G_SCORE: usize = 3;
    pub const G_LETTER: usize = 4;
    pub const G_GRADED_ON: usize = 5;
    pub const G_SIS: usize = 6;

    pub const ATTENDANCE: &[&str] = Entity::Attendance.columns();
    pub const A_DATE: usize = 2;
    pub const A_STATUS: usize = 3;
    pub const A_SIS: usize = 4;

    /// The `student_sis_id` column of a link file (enrollments, grades, attendance).
    pub const fn student_sis(entity: Entity) -> usize {
        match entity {
            Entity::Enrollments => E_SIS,
            Entity::Grades => G_SIS,
            _ => A_SIS,
        }
    }

    /// The columns of an entity, in slot order.
    pub const fn of(entity: Entity) -> &'static [&'static str] {
        entity.columns()
    }

    /// Shared by enrollments, grades and attendance.
    pub const STUDENT: usize = 0;
    /// Shared by enrollments, grades and attendance.
    pub const COURSE: usize = 1;
}

fn columns_of(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Users => col::USERS,
        Entity::Courses => col::COURSES,
        Entity::Enrollments => col::ENROLLMENTS,
        Entity::Grades => col::GRADES,
        Entity::Attendance => col::ATTENDANCE,
    }
}

/// Required column groups: each group needs at least one of its columns; the first names it.
/// With `passwords_optional` (`--missing-password reset|generate`) a users file needs neither
/// `password` nor `password_hash`.
fn required_of(entity: Entity, passwords_optional: bool) -> &'static [&'static [usize]] {
    match entity {
        Entity::Users if passwords_optional => &[
            &[col::U_EMAIL],
            &[col::U_ROLE],
            &[col::U_FIRST],
            &[col::U_LAST],
        ],
        Entity::Users => &[
            &[col::U_EMAIL],
            &[col::U_PASSWORD, col::U_HASH],
            &[col::U_ROLE],
            &[col::U_FIRST],
            &[col::U_LAST],
        ],
        Entity::Courses => &[&[col::C_CODE], &[col::C_NAME]],
        Entity::Enrollments => &[&[col::STUDENT, col::E_SIS], &[col::COURSE]],
        Entity::Grades => &[
            &[col::STUDENT, col::G_SIS],
            &[col::COURSE],
            &[col::G_SCORE, col::G_LETTER],
        ],
        Entity::Attendance => &[
            &[col::STUDENT, col::A_SIS],
            &[col::COURSE],
            &[col::A_DATE],
            &[col::A_STATUS],
        ],
    }
}

/// Where each known column of an entity sits in the file, its name as written, and what the
/// mapping file does to its values.
pub(super) struct Layout {
    pub(super) idx: Vec<Option<usize>>,
    pub(super) names: Vec<String>,
    /// Per slot, the mapping file's value map (key trimmed and lower-cased).
    pub(super) value_maps: Vec<Option<FxMap<String, String>>>,
    /// Values appended after the file's own cells for the columns the file lacks and the
    /// mapping file gives a default (`idx` points past the header at them).
    pub(super) appended: Vec<Value>,
}

impl Layout {
    /// True when rows must be rewritten (value maps or defaults) before the rules see them.
    pub(super) fn transforms(&self) -> bool {
        !self.appended.is_empty() || self.value_maps.iter().any(Option::is_some)
    }
}

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

fn normalize_header(h: &str) -> String {
    registrar_model::header_key(h)
}

/// Resolves the header; returns the layout and the file-level errors (which stop row checks).
/// `passwords_optional`: see [`required_of`].
pub(super) fn layout(
    entity: Entity,
    headers: &[String],
    file: &str,
    passwords_optional: bool,
    report: &mut Report,
    mapping: Option<&EntityMapping>,
    labels: Option<&[String]>,
) -> (Layout, Vec<Issue>) {
    let known = columns_of(entity);
    let mapping = mapping.filter(|m| !m.is_empty());
    let mut lay = Layout {
        idx: vec![None; known.len()],
        names: known.iter().map(|s| (*s).to_owned()).collect(),
        value_maps: known
            .iter()
            .map(|k| {
                let map = mapping?.values.get(*k)?;
                Some(
                    map.iter()
                        .map(|(from, to)| (from.trim().to_lowercase(), to.clone()))
                        .collect(),
                )
            })
            .collect(),
        appended: Vec::new(),
    };
    let mut fatal = Vec::new();
    if headers.iter().any(|h| h.contains('@')) {
        // The first line is data (it holds an email address), not a header. Its values are not
        // echoed: in a users file one of them is a password.
        let names: Vec<&str> = required_of(entity, passwords_optional)
            .iter()
            .map(|g| known[g[0]])
            .collect();
        fatal.push(Issue::error(
            IssueCode::MissingColumn,
            file,
            None,
            None,
            format!(
                "the first line of the {entity} file looks like data, not a header; add a header line such as: {}",
                names.join(",")
            ),
        ));
        return (lay, fatal);
    }
    let mut unknown_seen: Vec<String> = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let n = normalize_header(h);
        if n.is_empty() {
            // A column without a name (e.g. a trailing delimiter) is ignored silently.
            continue;
        }
        let resolved = resolve_header(entity, h, mapping)
            .and_then(|(column, _)| known.iter().position(|k| *k == column));
        match resolved {
            Some(slot) => match lay.idx[slot] {
                Some(first) => {
                    let earlier = headers.get(first).map(|e| e.trim()).unwrap_or("");
                    let message = if normalize_header(earlier) == n {
                        format!(
                            "the column {} appears twice (columns {} and {}); remove one of them",
                            quote(h.trim()),
                            first + 1,
                            i + 1
                        )
                    } else {
                        format!(
                            "the columns {} (column {}) and {} (column {}) both hold {}; remove one of them or rename it in a mapping file (--mapping)",
                            quote(earlier),
                            first + 1,
                            quote(h.trim()),
                            i + 1,
                            known[slot]
                        )
                    };
                    fatal.push(Issue::error(
                        IssueCode::DuplicateColumn,
                        file,
                        None,
                        Some(h.trim()),
                        message,
                    ))
                }
                None => {
                    lay.idx[slot] = Some(i);
                    lay.names[slot] = match labels.and_then(|l| l.get(i)) {
                        Some(label) => label.clone(),
                        None => registrar_model::header_name(h).to_owned(),
                    };
                }
            },
            None => {
                if !unknown_seen.contains(&n) {
                    unknown_seen.push(n);
                    report.push(Issue::warning(
                        IssueCode::UnknownColumn,
                        file,
                        None,
                        Some(h.trim()),
                        format!(
                            "the column {} is not {} {} column and is ignored (known columns: {}; a mapping file can rename it: --mapping)",
                            quote(h.trim()),
                            article(entity),
                            entity,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    if let Some(m) = mapping {
        for (slot, k) in known.iter().enumerate() {
            if lay.idx[slot].is_none() {
                if let Some(v) = m.defaults.get(*k) {
                    lay.idx[slot] = Some(headers.len() + lay.appended.len());
                    lay.appended.push(Value::Text(v.clone()));
                }
            }
        }
    }
    for group in required_of(entity, passwords_optional) {
        if group.iter().all(|&slot| lay.idx[slot].is_none()) {
            let name = known[group[0]];
            let alternatives = if group.len() > 1 {
                let others: Vec<&str> = group[1..].iter().map(|&s| known[s]).collect();
                format!(" (or {})", others.join(" or "))
            } else {
                String::new()
            };
            // An export without passwords: say how to import it anyway.
            let hint = if entity == Entity::Users && group[0] == col::U_PASSWORD {
                " (an export without passwords imports with --missing-password reset or generate)"
            } else {
                ""
            };
            fatal.push(Issue::error(
                IssueCode::MissingColumn,
                file,
                None,
                Some(name),
                format!(
                    "the {entity} file has no '{name}' column{alternatives}; add it to the header line{hint}"
                ),
            ));
        }
    }
    (lay, fatal)
}

/// How many rows after a header with missing columns are searched for the real header.
pub(super) const HEADER_HINT_ROWS: usize = 20;

/// True when `values` name every required column of `entity` (a header row below a title).
pub(super) fn looks_like_header(
    entity: Entity,
    values: &[Value],
    passwords_optional: bool,
) -> bool {
    let known = columns_of(entity);
    let names: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            Value::Text(t) => resolve_header(entity, t, None).map(|(c, _)| c),
            _ => None,
        })
        .collect();
    required_of(entity, passwords_optional)
        .iter()
        .all(|group| group.iter().any(|&c| names.iter().any(|n| *n == known[c])))
}

/// "a" or "an" before an entity name in a message ("an enrollments column").
fn article(entity: Entity) -> &'static str {
    match entity.as_str().as_bytes().first() {
        // "users" starts with a consonant sound: "a users column".
        Some(b'a' | b'e' | b'i' | b'o') => "an",
        _ => "a",
    }
}

#[cfg(test)]
mod message_tests {
    use super::super::State;
    use super::*;
    use crate::ValidationOptions;

    #[test]
    fn a_title_row_gets_a_hint_naming_the_header_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("courses.csv");
        std::fs::write(
            &path,
            "Course list 2024,\n,\ncourse_code,course_name\nMATH101,Calculus I\n",
        )
        .unwrap();
        let mut source =
            registrar_formats::open(&path, &registrar_formats::ReaderOptions::default()).unwrap();
        let mut report = Report::new(registrar_model::Mode::Validate);
        State::new(ValidationOptions::default())
            .validate_source(Entity::Courses, source.as_mut(), &mut report, &mut |_| {})
            .unwrap();
        let missing: Vec<&str> = report
            .issues
            .iter()
            .filter(|i| i.code == IssueCode::MissingColumn)
            .map(|i| i.message.as_str())
            .collect();
        assert_eq!(missing.len(), 2, "{:?}", report.issues);
        for m in missing {
            assert!(m.contains("row 3 looks like the header"), "{m}");
        }
    }

    #[test]
    fn unknown_column_messages_read_right() {
        let mut report = Report::new(registrar_model::Mode::Validate);
        for entity in [Entity::Users, Entity::Enrollments, Entity::Attendance] {
            layout(
                entity,
                &["nickname".to_owned()],
                "f.csv",
                false,
                &mut report,
                None,
                None,
            );
        }
        let messages: Vec<&str> = report.issues.iter().map(|i| i.message.as_str()).collect();
        assert!(
            messages[0].contains("is not a users column"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("is not an enrollments column"),
            "{messages:?}"
        );
        assert!(
            messages[2].contains("is not an attendance column"),
            "{messages:?}"
        );
    }
}
