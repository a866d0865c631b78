//! What a site's export calls things: the built-in header aliases and the mapping file
//! (`--mapping FILE.toml`).
//!
//! A header cell is matched against an entity's columns in this order, the first match wins:
//! 1. a rename in the mapping file (`[users.columns] "Pupil Mail" = "email"`);
//! 2. the column's own name, compared by [`registrar_model::header_key`] (case-folded;
//!    spaces, hyphens and camelCase boundaries read as underscores: `First Name`,
//!    `first-name` and `firstName` are all `first_name`);
//! 3. the built-in aliases of [`builtin_aliases`] (`given_name`, `surname`, `email_address`,
//!    `mail`, `student_number`, …).
//!
//! Two header cells that land on the same column are a `duplicate-column` error naming both,
//! never a silent pick.
//!
//! The mapping file also holds value maps per column (`[attendance.values.status] T = "late"`),
//! rows to skip by value (`[users.values.role] guardian = "skip"`: such rows are counted as
//! excluded and reported once per value as a `skipped-by-mapping` warning, not as errors) and
//! defaults for columns a file does not have (`[users.defaults] role = "student"`).
//!
//! ```
//! use registrar_model::Entity;
//! use registrar_rules::mapping::{Mapping, SKIP};
//!
//! let mapping = Mapping::from_toml(
//!     r#"
//!     [users.columns]
//!     "Pupil Mail" = "email"
//!     [users.values.role]
//!     aide = "teacher"
//!     guardian = "skip"
//!     [attendance.values.status]
//!     T = "late"
//!     "#,
//!     "site.toml",
//! )?;
//! let users = mapping.entity(Entity::Users);
//! assert_eq!(users.rename("pupil mail"), Some("email"));
//! assert_eq!(users.value("role", "Guardian"), Some(SKIP));
//! assert_eq!(mapping.entity(Entity::Attendance).value("status", "t"), Some("late"));
//! # Ok::<(), registrar_rules::mapping::MappingError>(())
//! ```

use registrar_model::{header_key, Entity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The value a value map gives to say "skip this row".
pub const SKIP: &str = "skip";

/// Why a mapping file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file is not valid TOML or has keys a mapping file does not have.
    #[error("{file}: {message}")]
    Syntax {
        /// The mapping file.
        file: String,
        /// What is wrong, from the TOML parser.
        message: String,
    },
    /// A rename, value map or default names a column the entity does not have, or asks for
    /// something Registrar refuses.
    #[error("{file}: {message}")]
    Invalid {
        /// The mapping file.
        file: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A mapping file: one [`EntityMapping`] per entity, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The users file.
    #[serde(default)]
    pub users: EntityMapping,
    /// The courses file.
    #[serde(default)]
    pub courses: EntityMapping,
    /// The enrollments file.
    #[serde(default)]
    pub enrollments: EntityMapping,
    /// The grades file.
    #[serde(default)]
    pub grades: EntityMapping,
    /// The attendance file.
    #[serde(default)]
    pub attendance: EntityMapping,
}

/// What one entity's file calls things.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityMapping {
    /// Header as written (matched by [`header_key`]) → the column it holds.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Column → (value as written, matched trimmed and ignoring case → the value Registrar
    /// reads, or [`SKIP`]).
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Column → the value every row gets when the file has no such column.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
}

impl Mapping {
    /// Parses and checks a mapping file's text; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Mapping, MappingError> {
        let mut mapping: Mapping = toml::from_str(text).map_err(|e| MappingError::Syntax {
            file: file.to_owned(),
            message: e.message().to_owned(),
        })?;
        for entity in Entity::ALL {
            mapping.entity_mut(entity).check(entity, file)?;
        }
        Ok(mapping)
    }

    /// Reads and checks a mapping file.
    pub fn from_path(path: &std::path::Path) -> Result<Mapping, MappingError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Syntax {
            file: file.clone(),
            message: format!("cannot read the mapping file: {e}"),
        })?;
        Mapping::from_toml(&text, &file)
    }

    /// The part for one entity.
    pub fn entity(&self, entity: Entity) -> &EntityMapping {
        match entity {
            Entity::Users => &self.users,
            Entity::Courses => &self.courses,
            Entity::Enrollments => &self.enrollments,
            Entity::Grades => &self.grades,
            Entity::Attendance => &self.attendance,
        }
    }

    fn entity_mut(&mut self, entity: Entity) -> &mut EntityMapping {
        match entity {
            Entity::Users => &mut self.users,
            Entity::Courses => &mut self.courses,
            Entity::Enrollments => &mut self.enrollments,
            Entity::Grades => &mut self.grades,
            Entity::Attendance => &mut self.attendance,
        }
    }
}

impl EntityMapping {
    /// True when it renames, maps or defaults nothing.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.values.is_empty() && self.defaults.is_empty()
    }

    /// The column a header cell is renamed to, if the mapping file renames it.
    pub fn rename(&self, header: &str) -> Option<&str> {
        let key = header_key(header);
        self.columns
            .iter()
            .find(|(from, _)| header_key(from) == key)
            .map(|(_, to)| to.as_str())
    }

    /// What the value map of `column` gives for `value` (trimmed, ignoring case).
    pub fn value(&self, column: &str, value: &str) -> Option<&str> {
        let map = self.values.get(column)?;
        let v = value.trim();
        map.get(v)
            .or_else(|| {
                map.iter()
                    .find(|(from, _)| from.trim().eq_ignore_ascii_case(v))
                    .map(|(_, to)| to)
            })
            .map(String::as_str)
    }

    /// Checks every named column against the entity, normalising the column names.
    fn check(&mut self, entity: Entity, file: &str) -> Result<(), MappingError> {
        let known = entity.columns();
        let invalid = |message: String| MappingError::Invalid {
            file: file.to_owned(),
            message,
        };
        let field = |name: &str, what: &str| -> Result<&'static str, MappingError> {
            let key = header_key(name);
            known.iter().copied().find(|k| *k == key).ok_or_else(|| {
                if key.is_empty() {
                    invalid(format!(
                        "[{entity}.{what}] has an empty column name: fill it in with one of {}",
                        known.join(", ")
                    ))
                } else {
                    invalid(format!(
                        "[{entity}.{what}] names '{name}', which is not {} {entity} column (known columns: {})",
                        article(entity),
                        known.join(", ")
                    ))
                }
            })
        };
        let mut columns = BTreeMap::new();
        let mut seen: Vec<String> = Vec::new();
        for (from, to) in &self.columns {
            let key = header_key(from);
            if seen.contains(&key) {
                return Err(invalid(format!(
                    "[{entity}.columns] renames '{from}' twice (headers are compared ignoring case, spaces and hyphens)"
                )));
            }
            seen.push(key);
            if to.trim().is_empty() {
                return Err(invalid(format!(
                    "[{entity}.columns] \"{from}\" = \"\": name the column it holds ({}), or delete the line to ignore the column",
                    known.join(", ")
                )));
            }
            columns.insert(from.clone(), field(to, "columns")?.to_owned());
        }
        let mut values = BTreeMap::new();
        for (column, map) in &self.values {
            let f = field(column, "values")?;
            if f == "password" || f == "password_hash" {
                return Err(invalid(format!(
                    "[{entity}.values.{column}]: passwords are never rewritten by a mapping file"
                )));
            }
            if let Some((from, _)) = map.iter().find(|(_, to)| to.trim().is_empty()) {
                return Err(invalid(format!(
                    "[{entity}.values.{column}] \"{from}\" = \"\": give the value it means, or \"skip\" to skip such rows"
                )));
            }
            values.insert(f.to_owned(), map.clone());
        }
        let mut defaults = BTreeMap::new();
        for (column, value) in &self.defaults {
            let f = field(column, "defaults")?;
            if f == "password" || f == "password_hash" {
                return Err(invalid(format!(
                    "[{entity}.defaults] {column}: a default password would give every account the same password; use --missing-password reset or generate"
                )));
            }
            if f == "email" || f == "course_code" || f == "student_email" || f == "sis_id" {
                return Err(invalid(format!(
                    "[{entity}.defaults] {column}: a key column cannot have one default value for every row"
                )));
            }
            defaults.insert(f.to_owned(), value.clone());
        }
        self.columns = columns;
        self.values = values;
        self.defaults = defaults;
        Ok(())
    }
}

/// "a" or "an" before an entity name ("an enrollments column").
pub(crate) fn article(entity: Entity) -> &'static str {
    match entity.as_str().as_bytes().first() {
        Some(b'a' | b'e' | b'i' | b'o') => "an",
        _ => "a",
    }
}

/// The built-in aliases of an entity: (alias key, column). Keys are [`header_key`]s.
pub fn builtin_aliases(entity: Entity) -> &'static [(&'static str, &'static str)] {
    match entity {
        Entity::Users => &[
            ("email_address", "email"),
            ("e_mail", "email"),
            ("mail", "email"),
            ("user_email", "email"),
            ("given_name", "first_name"),
            ("firstname", "first_name"),
            ("forename", "first_name"),
            ("family_name", "last_name"),
            ("lastname", "last_name"),
            ("surname", "last_name"),
            ("user_role", "role"),
            ("active", "is_active"),
            ("enabled", "is_active"),
            ("enabled_user", "is_active"),
            ("student_number", "sis_id"),
            ("student_no", "sis_id"),
            ("student_id", "sis_id"),
            ("sourced_id", "sis_id"),
            ("external_id", "sis_id"),
            ("sis_user_id", "sis_id"),
        ],
        Entity::Courses => &[
            ("code", "course_code"),
            ("class_code", "course_code"),
            ("name", "course_name"),
            ("title", "course_name"),
            ("course_title", "course_name"),
            ("term", "semester"),
        ],
        Entity::Enrollments => &[
            ("email", "student_email"),
            ("email_address", "student_email"),
            ("student_email_address", "student_email"),
            ("student_number", "student_sis_id"),
            ("student_no", "student_sis_id"),
            ("student_id", "student_sis_id"),
            ("sis_id", "student_sis_id"),
            ("code", "course_code"),
            ("class_code", "course_code"),
            ("begin_date", "enrollment_date"),
            ("start_date", "enrollment_date"),
        ],
        Entity::Grades => &[
            ("email", "student_email"),
            ("email_address", "student_email"),
            ("student_email_address", "student_email"),
            ("student_number", "student_sis_id"),
            ("student_no", "student_sis_id"),
            ("student_id", "student_sis_id"),
            ("sis_id", "student_sis_id"),
            ("code", "course_code"),
            ("class_code", "course_code"),
            ("assignment", "assessment"),
            ("mark", "score"),
            ("points", "score"),
            ("letter", "letter_grade"),
            ("graded_date", "graded_on"),
            ("score_date", "graded_on"),
        ],
        Entity::Attendance => &[
            ("email", "student_email"),
            ("email_address", "student_email"),
            ("student_email_address", "student_email"),
            ("student_number", "student_sis_id"),
            ("student_no", "student_sis_id"),
            ("student_id", "student_sis_id"),
            ("sis_id", "student_sis_id"),
            ("code", "course_code"),
            ("class_code", "course_code"),
            ("attendance_date", "date"),
            ("attendance_status", "status"),
        ],
    }
}

/// How a header cell was matched to a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// A rename in the mapping file.
    Mapping,
    /// The column's own name (after [`header_key`]).
    Name,
    /// A built-in alias.
    Alias,
}

/// The column of `entity` a header cell names, and how, if any.
pub fn resolve_header(
    entity: Entity,
    header: &str,
    mapping: Option<&EntityMapping>,
) -> Option<(&'static str, Matched)> {
    let known = entity.columns();
    if let Some(to) = mapping.and_then(|m| m.rename(header)) {
        if let Some(k) = known.iter().copied().find(|k| *k == to) {
            return Some((k, Matched::Mapping));
        }
    }
    let key = header_key(header);
    if let Some(k) = known.iter().copied().find(|k| *k == key) {
        return Some((k, Matched::Name));
    }
    builtin_aliases(entity)
        .iter()
        .find(|(alias, _)| *alias == key)
        .map(|(_, column)| (*column, Matched::Alias))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_names_a_column_of_its_entity_and_no_alias_is_a_column() {
        for entity in Entity::ALL {
            for (alias, column) in builtin_aliases(entity) {
                assert!(
                    entity.columns().contains(column),
                    "{entity}: {alias} -> {column}"
                );
                assert!(!entity.columns().contains(alias), "{entity}: {alias}");
                assert_eq!(header_key(alias), *alias);
            }
        }
    }

    #[test]
    fn headers_resolve_by_name_alias_and_mapping() {
        let r = |e, h| resolve_header(e, h, None).map(|(c, _)| c);
        assert_eq!(r(Entity::Users, "First Name"), Some("first_name"));
        assert_eq!(r(Entity::Users, "givenName"), Some("first_name"));
        assert_eq!(r(Entity::Users, "Email Address"), Some("email"));
        assert_eq!(r(Entity::Users, "Student Number"), Some("sis_id"));
        assert_eq!(
            r(Entity::Enrollments, "Student Number"),
            Some("student_sis_id")
        );
        assert_eq!(r(Entity::Enrollments, "Email"), Some("student_email"));
        assert_eq!(r(Entity::Users, "nickname"), None);
        let m =
            Mapping::from_toml("[users.columns]\n\"Pupil Mail\" = \"Email\"\n", "m.toml").unwrap();
        assert_eq!(
            resolve_header(Entity::Users, "PUPIL MAIL", Some(m.entity(Entity::Users))),
            Some(("email", Matched::Mapping))
        );
    }

    #[test]
    fn a_mapping_naming_an_unknown_column_or_a_password_default_is_refused() {
        let bad = [
            "[users.columns]\nx = \"nickname\"\n",
            "[users.defaults]\npassword = \"Welcome1!\"\n",
            "[users.values.password_hash]\na = \"b\"\n",
            "[users.defaults]\nemail = \"a@b.c\"\n",
            "[pupils.columns]\nx = \"email\"\n",
            "[users.columns]\n\"First Name\" = \"first_name\"\n\"first-name\" = \"first_name\"\n",
            "not toml at all [",
        ];
        for text in bad {
            let err = Mapping::from_toml(text, "m.toml").unwrap_err().to_string();
            assert!(err.starts_with("m.toml: "), "{err}");
            assert!(!err.contains("Welcome1!"), "{err}");
        }
    }

    #[test]
    fn value_maps_ignore_case_and_surrounding_space() {
        let m = Mapping::from_toml(
            "[attendance.values.status]\nP = \"present\"\nT = \"late\"\n",
            "m.toml",
        )
        .unwrap();
        let a = m.entity(Entity::Attendance);
        assert_eq!(a.value("status", " p "), Some("present"));
        assert_eq!(a.value("status", "T"), Some("late"));
        assert_eq!(a.value("status", "X"), None);
        assert_eq!(a.value("date", "P"), None);
    }
}
