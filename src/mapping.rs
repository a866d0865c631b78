//! Mapping files (`--mapping FILE.toml`, see [`registrar_rules::mapping`]) and the starter one
//! `registrar mapping --data PATH` prints.
//!
//! The starter is inferred from what the files hold: for each file its header cells (how each
//! is matched, or a guess for the ones that match nothing), for the columns with a fixed
//! vocabulary (`role`, `is_active`, course and attendance `status`) the values seen that
//! Registrar does not read, with the usual meaning where there is one (`aide = "teacher"`,
//! `guardian = "skip"`, `T = "late"`), and for required columns the file lacks, a commented
//! default. Lines that need a decision are left commented or empty (`""`), so a starter used
//! unedited is refused with a message naming the line rather than guessing silently.
//!
//! ```no_run
//! let text = registrar::mapping::starter(
//!     &registrar::Input::from_path("export/"),
//!     &registrar::ReaderOptions::default(),
//! )?;
//! println!("{text}");
//! # Ok::<(), registrar::Error>(())
//! ```

use crate::input::{self, Input};
use crate::Error;
use registrar_formats::{Event, ReaderOptions};
use registrar_model::{header_key, Entity, Value};
pub use registrar_rules::mapping::{
    builtin_aliases, resolve_header, EntityMapping, Mapping, MappingError, Matched, SKIP,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Rows read per file to collect the values of the vocabulary columns.
const SAMPLE_ROWS: usize = 20_000;
/// Distinct values kept per column.
const SAMPLE_VALUES: usize = 40;

/// The usual meaning of a value Registrar does not read, per column: `(column, value, meant)`.
const KNOWN_VALUES: &[(&str, &str, &str)] = &[
    ("role", "administrator", "admin"),
    ("role", "principal", "admin"),
    ("role", "districtadministrator", "admin"),
    ("role", "siteadministrator", "admin"),
    ("role", "systemadministrator", "admin"),
    ("role", "aide", "teacher"),
    ("role", "instructor", "teacher"),
    ("role", "staff", "viewer"),
    ("role", "proctor", "viewer"),
    ("role", "counselor", "viewer"),
    ("role", "guardian", SKIP),
    ("role", "parent", SKIP),
    ("role", "relative", SKIP),
    ("role", "learner", "student"),
    ("role", "pupil", "student"),
    ("is_active", "a", "true"),
    ("is_active", "i", "false"),
    ("is_active", "active", "true"),
    ("is_active", "inactive", "false"),
    ("is_active", "enabled", "true"),
    ("is_active", "disabled", "false"),
    ("status", "p", "present"),
    ("status", "a", "absent"),
    ("status", "t", "late"),
    ("status", "l", "late"),
    ("status", "e", "excused"),
    ("status", "tardy", "late"),
];

/// The columns whose values the starter looks at, per entity.
fn vocabulary_columns(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Users => &["role", "is_active"],
        Entity::Courses => &["status"],
        Entity::Attendance => &["status"],
        Entity::Enrollments | Entity::Grades => &[],
    }
}

/// True when the rules read `value` in `column` as it is.
fn readable(entity: Entity, column: &str, value: &str) -> bool {
    use registrar_rules::parse;
    let v = Value::Text(value.to_owned());
    match (entity, column) {
        (Entity::Users, "role") => parse::role(&v).is_ok(),
        (Entity::Users, "is_active") => parse::boolean(&v).is_ok(),
        (Entity::Courses, "status") => parse::course_status(&v).is_ok(),
        (Entity::Attendance, "status") => parse::attendance_status(&v).is_ok(),
        _ => true,
    }
}

/// A guess of the column an unmatched header holds, from the words in it.
fn guess(entity: Entity, key: &str) -> Option<&'static str> {
    let link = !matches!(entity, Entity::Users | Entity::Courses);
    let has = |w: &str| key.split('_').any(|part| part == w) || key.contains(w);
    let g = if has("mail") {
        if link {
            "student_email"
        } else {
            "email"
        }
    } else if has("number") || key.ends_with("_id") || key.ends_with("_no") {
        match entity {
            Entity::Users => "sis_id",
            Entity::Courses => "course_code",
            _ => "student_sis_id",
        }
    } else if entity == Entity::Users && (has("first") || has("given")) {
        "first_name"
    } else if entity == Entity::Users && (has("last") || has("family") || has("surname")) {
        "last_name"
    } else if entity == Entity::Users && (has("role") || has("type")) {
        "role"
    } else if has("code") || has("class") || has("section") {
        "course_code"
    } else if matches!(entity, Entity::Attendance | Entity::Courses) && has("status") {
        "status"
    } else {
        return None;
    };
    entity.columns().contains(&g).then_some(g)
}

/// A TOML string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The required columns a starter suggests defaults for, with a default that is usually right.
fn default_hint(entity: Entity, column: &str) -> Option<&'static str> {
    match (entity, column) {
        (Entity::Users, "role") => Some("student"),
        (Entity::Users, "is_active") => Some("true"),
        (Entity::Courses, "status") => Some("active"),
        _ => None,
    }
}

/// True when at least two thirds of the distinct values seen are ones the column reads or ones
/// with a usual meaning there (a guess from the values alone: `Kind` holding `student`, `aide`,
/// `guardian` is a role; `Mark` holding `P`, `T`, `E` is an attendance status).
fn values_fit(entity: Entity, column: &str, values: &BTreeMap<String, String>) -> bool {
    let fits = values
        .iter()
        .filter(|(lower, v)| {
            readable(entity, column, v)
                || KNOWN_VALUES
                    .iter()
                    .any(|(c, from, _)| *c == column && from == lower)
        })
        .count();
    fits > 0 && fits * 3 >= values.len() * 2
}

/// A starter mapping file for the data at `input` (see the module docs).
pub fn starter(input: &Input, reader: &ReaderOptions) -> Result<String, Error> {
    let (sources, _issues) = input::resolve(input)?;
    let mut out = String::from(
        "# A starter mapping file written by `registrar mapping`: check every line (the guesses\n\
         # above all), fill in the empty values (\"\"), then give it to validate / plan / import /\n\
         # migrate with --mapping FILE.toml. Headers are matched ignoring case, spaces, hyphens and\n\
         # camelCase; the lines marked \"matched\" need nothing and only show what was understood.\n",
    );
    for mut source in sources {
        let entity = source.entity();
        let name = source.name();
        let mut rows = match source.open(reader) {
            Ok(r) => r,
            Err(e) => {
                let _ = writeln!(out, "\n# {name}: not read ({e})");
                continue;
            }
        };
        let headers = rows.headers().to_vec();
        let known = entity.columns();
        // The distinct values of every column (lower-cased → as written), from the first rows.
        let mut seen: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); headers.len()];
        let mut n = 0usize;
        while n < SAMPLE_ROWS {
            match rows.next() {
                Some(Ok(Event::Row(row))) => {
                    n += 1;
                    for (i, v) in row.values.iter().enumerate().take(headers.len()) {
                        let text = match v {
                            Value::Empty => continue,
                            Value::Text(t) => t.trim().to_owned(),
                            other => other.to_string(),
                        };
                        if !text.is_empty() && seen[i].len() < SAMPLE_VALUES {
                            seen[i].entry(text.to_lowercase()).or_insert(text);
                        }
                    }
                }
                Some(Ok(Event::Issue(_))) => {}
                Some(Err(_)) | None => break,
            }
        }
        let slot_of = |c: &str| known.iter().position(|k| *k == c);
        let mut found: Vec<Option<usize>> = vec![None; known.len()];
        let mut lines = Vec::new();
        let mut unmatched = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            let shown = registrar_model::header_name(h);
            if shown.is_empty() {
                continue;
            }
            let Some((column, how)) = resolve_header(entity, h, None) else {
                unmatched.push(i);
                continue;
            };
            let how = match how {
                Matched::Name if shown == column => "matched",
                Matched::Name => "matched (case, spaces and hyphens ignored)",
                Matched::Alias => "matched (built-in alias)",
                Matched::Mapping => "matched (mapping)",
            };
            match slot_of(column) {
                Some(slot) if found[slot].is_some() => lines.push(format!(
                    "{} = \"\"  # a second column holding {column}: name another column for it, or delete the column from the file",
                    lit(shown)
                )),
                Some(slot) => {
                    found[slot] = Some(i);
                    lines.push(format!("# {} -> {column}: {how}", lit(shown)));
                }
                None => {}
            }
        }
        for i in unmatched {
            let shown = registrar_model::header_name(&headers[i]);
            let free =
                |c: &str, found: &[Option<usize>]| slot_of(c).is_some_and(|s| found[s].is_none());
            let by_name = guess(entity, &header_key(&headers[i])).filter(|g| free(g, &found));
            let by_values = || {
                vocabulary_columns(entity)
                    .iter()
                    .copied()
                    .filter(|c| *c != "is_active")
                    .find(|c| free(c, &found) && values_fit(entity, c, &seen[i]))
            };
            match by_name.map(|g| (g, "the header")).or_else(|| by_values().map(|g| (g, "its values"))) {
                Some((g, from)) => {
                    if let Some(slot) = slot_of(g) {
                        found[slot] = Some(i);
                    }
                    lines.push(format!(
                        "{} = {}  # guessed from {from}: check it",
                        lit(shown),
                        lit(g)
                    ));
                }
                None => lines.push(format!(
                    "# {} = \"\"  # not {} {entity} column: name the one it holds ({}), or leave it commented to ignore it",
                    lit(shown),
                    if matches!(entity, Entity::Enrollments | Entity::Attendance) { "an" } else { "a" },
                    known.join(", ")
                )),
            }
        }
        let _ = writeln!(
            out,
            "\n# {name}: {} columns, {n} rows looked at",
            headers.len()
        );
        let _ = writeln!(out, "[{entity}.columns]");
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
        for column in vocabulary_columns(entity) {
            let Some(i) = slot_of(column).and_then(|slot| found[slot]) else {
                continue;
            };
            let unread: Vec<&String> = seen[i]
                .values()
                .filter(|v| !readable(entity, column, v))
                .collect();
            if unread.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n[{entity}.values.{column}]");
            for v in unread {
                let lower = v.to_lowercase();
                match KNOWN_VALUES
                    .iter()
                    .find(|(c, from, _)| c == column && *from == lower)
                {
                    Some((_, _, meant)) if *meant == SKIP => {
                        let _ = writeln!(
                            out,
                            "{} = \"skip\"  # rows with this value are skipped and reported, not errors",
                            lit(v)
                        );
                    }
                    Some((_, _, meant)) => {
                        let _ = writeln!(out, "{} = {}", lit(v), lit(meant));
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "{} = \"\"  # not a value Registrar reads: give the one it means, or \"skip\"",
                            lit(v)
                        );
                    }
                }
            }
        }
        let missing: Vec<&str> = known
            .iter()
            .enumerate()
            .filter(|(slot, c)| found[*slot].is_none() && default_hint(entity, c).is_some())
            .map(|(_, c)| *c)
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(out, "\n[{entity}.defaults]");
            for c in missing {
                let _ = writeln!(
                    out,
                    "# {c} = {}  # the file has no {c} column: uncomment to give every row this value",
                    lit(default_hint(entity, c).unwrap_or(""))
                );
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_follow_the_words_of_the_header() {
        assert_eq!(guess(Entity::Users, "pupil_mail"), Some("email"));
        assert_eq!(
            guess(Entity::Enrollments, "pupil_mail"),
            Some("student_email")
        );
        assert_eq!(guess(Entity::Users, "admission_number"), Some("sis_id"));
        assert_eq!(
            guess(Entity::Attendance, "pupil_no"),
            Some("student_sis_id")
        );
        assert_eq!(guess(Entity::Users, "preferred_pronoun"), None);
    }

    #[test]
    fn literals_are_valid_toml() {
        let text = format!("a = {}\n", lit("He said \"hi\" \\ \u{1}"));
        let v: BTreeMap<String, String> = toml::from_str(&text).unwrap();
        assert_eq!(v["a"], "He said \"hi\" \\ \u{1}");
    }
}
