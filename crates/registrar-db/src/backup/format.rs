//! The canonical line format: the layout of the seven tables (the five SMS tables, then
//! Registrar's external ids and teacher links), the canonical form of each
//! value (the same data gives the same bytes, and so the same checksums, on either engine),
//! and the header, table and trailer lines around the rows.

use super::TableChecksum;
use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// BIGINT / INTEGER.
    Int8,
    /// INTEGER on PostgreSQL (4 bytes).
    Int4,
    Text,
    Bool,
    Float,
    Date,
    Timestamp,
}

pub(super) struct TableSpec {
    pub(super) name: &'static str,
    pub(super) columns: &'static [(&'static str, Kind)],
    /// The primary key: rows are ordered by it, and its columns are never `NULL`.
    pub(super) key: &'static [&'static str],
    /// The schema version that created the table: a database at an older schema version
    /// (only reachable through the library without [`crate::Database::init`]) has no such
    /// table, which then reads as empty.
    pub(super) since_schema: i64,
}

pub(super) use Kind::*;

/// Every table a backup of the current format holds, parents first (the order to insert;
/// delete in reverse): the SMS tables, then the two tables of schema v3 that point at users
/// and courses.
pub(super) const TABLES: [TableSpec; 7] = [
    TableSpec {
        name: "users",
        columns: &[
            ("id", Int8),
            ("email", Text),
            ("password_hash", Text),
            ("role", Text),
            ("first_name", Text),
            ("last_name", Text),
            ("is_active", Bool),
            ("password_reset_required", Bool),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
        key: &["id"],
        since_schema: 1,
    },
    TableSpec {
        name: "courses",
        columns: &[
            ("id", Int8),
            ("course_code", Text),
            ("course_name", Text),
            ("description", Text),
            ("semester", Text),
            ("credits", Int4),
            ("status", Text),
            ("created_at", Timestamp),
            ("updated_at", Timestamp),
        ],
        key: &["id"],
        since_schema: 1,
    },
    TableSpec {
        name: "enrollments",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("enrollment_date", Date),
        ],
        key: &["id"],
        since_schema: 1,
    },
    TableSpec {
        name: "grades",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("assessment", Text),
            ("score", Float),
            ("letter_grade", Text),
            ("graded_on", Date),
        ],
        key: &["id"],
        since_schema: 1,
    },
    TableSpec {
        name: "attendances",
        columns: &[
            ("id", Int8),
            ("student_id", Int8),
            ("course_id", Int8),
            ("attendance_date", Date),
            ("status", Text),
        ],
        key: &["id"],
        since_schema: 1,
    },
    TableSpec {
        name: "registrar_user_sis_ids",
        columns: &[("user_id", Int8), ("sis_id", Text)],
        key: &["user_id"],
        since_schema: 3,
    },
    TableSpec {
        name: "registrar_course_teachers",
        columns: &[("course_id", Int8), ("teacher_id", Int8), ("role", Text)],
        key: &["course_id", "teacher_id"],
        since_schema: 3,
    },
];

/// How many of [`TABLES`] a backup of format version 1 holds (the SMS tables only).
const FORMAT_1_TABLES: usize = 5;

/// The tables a backup of format `version` holds, in file order (a prefix of [`TABLES`], so
/// that an index into it is an index into [`TABLES`]).
pub(super) fn tables_of_format(version: i64) -> &'static [TableSpec] {
    if version <= 1 {
        &TABLES[..FORMAT_1_TABLES]
    } else {
        &TABLES
    }
}

impl TableSpec {
    pub(super) fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|(c, _)| *c).collect()
    }

    /// True when rows are keyed by an `id` column (the SMS tables; SQLite reads huge rows of
    /// these one at a time, by id ranges).
    pub(super) fn keyed_by_id(&self) -> bool {
        self.key == ["id"]
    }

    pub(super) fn select_sql(&self) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY {}",
            self.column_names().join(", "),
            self.name,
            self.key.join(", ")
        )
    }
}

/// The canonical text of a timestamp: UTC, six fractional digits, `Z`.
pub(super) fn canonical_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a timestamp as SQLite may hold it (RFC 3339, or `YYYY-MM-DD[ T]HH:MM:SS[.fff]` taken
/// as UTC).
pub(super) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc());
        }
    }
    None
}

pub(super) fn canonical_timestamp_text(s: String) -> Json {
    match parse_timestamp(&s) {
        Some(t) => Json::String(canonical_timestamp(t)),
        None => Json::String(s),
    }
}

pub(super) fn canonical_date_text(s: String) -> Json {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        Err(_) => Json::String(s),
    }
}

pub(super) fn float_json(x: f64) -> Json {
    serde_json::Number::from_f64(x)
        .map(Json::Number)
        .unwrap_or(Json::Null)
}

pub(super) fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map(f).unwrap_or(Json::Null)
}

#[derive(Serialize, Deserialize)]
pub(super) struct Header {
    pub(super) format: String,
    pub(super) version: i64,
    pub(super) schema_version: i64,
    pub(super) created_at: String,
    pub(super) engine: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TableStart {
    pub(super) table: String,
    pub(super) columns: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TableEnd {
    pub(super) end: String,
    pub(super) rows: u64,
    pub(super) sha256: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Trailer {
    pub(super) tables: Vec<TableChecksum>,
    pub(super) sha256: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TrailerLine {
    pub(super) trailer: Trailer,
}

/// Checks that each value has the JSON type its column needs.
pub(super) fn check_values(spec: &TableSpec, values: &[Json]) -> std::result::Result<(), String> {
    for ((col, kind), v) in spec.columns.iter().zip(values) {
        let ok = match (kind, v) {
            (_, Json::Null) => !spec.key.contains(col),
            (Int8 | Int4, Json::Number(n)) => n.is_i64(),
            (Float, Json::Number(_)) => true,
            (Bool, Json::Bool(_)) => true,
            (Text, Json::String(_)) => true,
            (Date, Json::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
            (Timestamp, Json::String(_)) => true,
            _ => false,
        };
        if !ok {
            return Err(format!("column {col} holds a value of the wrong type"));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::{Error, Result, SMS_TABLES};

    #[test]
    fn timestamps_are_canonical() {
        let a = parse_timestamp("2026-02-01T10:00:00.123Z").unwrap();
        let b = parse_timestamp("2026-02-01 10:00:00.123").unwrap();
        let c = parse_timestamp("2026-02-01T11:00:00.123+01:00").unwrap();
        assert_eq!(canonical_timestamp(a), "2026-02-01T10:00:00.123000Z");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(
            canonical_timestamp_text("not a time".into()),
            Json::String("not a time".into())
        );
    }

    /// The canonical line of `values` as earlier builds wrote it (a `Vec<Json>` through
    /// serde_json), which every backup's checksums depend on.
    pub(in crate::backup) fn row_line(values: &[Json]) -> Result<String> {
        let mut s = serde_json::to_string(values)
            .map_err(|e| Error::BadBackup(format!("cannot encode a row: {e}")))?;
        s.push('\n');
        Ok(s)
    }

    #[test]
    fn floats_round_trip_through_the_canonical_form() {
        for x in [0.0, 85.5, 99.99, 1.0 / 3.0, 100.0] {
            let line = row_line(&[float_json(x)]).unwrap();
            let back: Vec<f64> = serde_json::from_str(&line).unwrap();
            assert_eq!(back[0], x);
            assert_eq!(row_line(&[float_json(back[0])]).unwrap(), line);
        }
    }

    #[test]
    fn null_differs_from_empty_text() {
        assert_ne!(
            row_line(&[Json::Null]).unwrap(),
            row_line(&[Json::String(String::new())]).unwrap()
        );
    }

    #[test]
    fn values_of_the_wrong_type_are_refused() {
        let spec = &TABLES[2];
        assert!(check_values(
            spec,
            &[Json::from(1), Json::from(2), Json::from(3), Json::Null]
        )
        .is_ok());
        assert!(check_values(
            spec,
            &[
                Json::from(1),
                Json::from(2),
                Json::from(3),
                Json::String("2026-13-01".into())
            ]
        )
        .is_err());
        assert!(check_values(
            spec,
            &[Json::Null, Json::from(2), Json::from(3), Json::Null]
        )
        .is_err());
    }

    #[test]
    fn table_specs_follow_sms_tables() {
        let names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        assert_eq!(names[..5], SMS_TABLES);
        assert_eq!(
            names[5..],
            ["registrar_user_sis_ids", "registrar_course_teachers"]
        );
        assert_eq!(tables_of_format(1).len(), 5);
        assert_eq!(tables_of_format(0).len(), 5);
        assert_eq!(tables_of_format(2).len(), 7);
        let pub_names: Vec<_> = crate::backup::BACKUP_TABLES.to_vec();
        assert_eq!(names, pub_names);
    }

    #[test]
    fn key_columns_are_never_null() {
        let teachers = &TABLES[6];
        assert!(check_values(
            teachers,
            &[Json::from(1), Json::from(2), Json::String("aide".into())]
        )
        .is_ok());
        assert!(check_values(
            teachers,
            &[Json::from(1), Json::Null, Json::String("aide".into())]
        )
        .is_err());
        assert!(check_values(&TABLES[5], &[Json::Null, Json::String("S1".into())]).is_err());
        assert_eq!(
            teachers.select_sql(),
            "SELECT course_id, teacher_id, role FROM registrar_course_teachers ORDER BY course_id, teacher_id"
        );
        assert!(!teachers.keyed_by_id() && TABLES[0].keyed_by_id());
    }
}
