//! Properties of the value parsers on spreadsheet cell values (typed cells, not text), which
//! `parse_props.rs` covers only through text: a date cell is its date, a date-time cell at
//! midnight is its date and with a time of day is `invalid-date`; numbers read as Int or
//! Float cells; boolean cells are themselves; a spreadsheet error cell is never accepted.

use chrono::{NaiveDate, NaiveTime};
use proptest::prelude::*;
use registrar_model::IssueCode;
use registrar_model::Value;
use registrar_rules::parse;

fn day(n: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(n).unwrap_or(NaiveDate::MIN)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn date_cells_are_their_date(n in 600_000i32..800_000) {
        let d = day(n);
        prop_assert_eq!(parse::date(&Value::Date(d)).ok(), Some(d));
        prop_assert_eq!(parse::date(&Value::DateTime(d.and_time(NaiveTime::MIN))).ok(), Some(d));
    }

    #[test]
    fn date_time_cells_with_a_time_are_invalid(n in 600_000i32..800_000, secs in 1u32..86_400) {
        let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).unwrap_or(NaiveTime::MIN);
        let e = parse::date(&Value::DateTime(day(n).and_time(t))).unwrap_err();
        prop_assert_eq!(e.code, IssueCode::InvalidDate);
    }

    #[test]
    fn numeric_cells_read_as_numbers(i in 0i64..=20) {
        prop_assert_eq!(parse::credits(&Value::Int(i)).ok(), Some(i as i32));
        prop_assert_eq!(parse::credits(&Value::Float(i as f64)).ok(), Some(i as i32));
        prop_assert_eq!(parse::score(&Value::Int(i * 5)).ok(), Some((i * 5) as f64));
        prop_assert_eq!(parse::integer(&Value::Int(i), 0, 20).ok(), Some(i));
    }

    #[test]
    fn number_respects_its_range(x in -1e6f64..1e6, lo in -1e3f64..0.0, hi in 0.0f64..1e3) {
        let r = parse::number(&Value::Float(x), lo, hi);
        if (lo..=hi).contains(&x) {
            prop_assert_eq!(r.ok(), Some(x));
        } else {
            prop_assert!(r.is_err());
        }
    }

    #[test]
    fn boolean_cells_are_themselves(b in any::<bool>()) {
        prop_assert_eq!(parse::boolean(&Value::Bool(b)).ok(), Some(b));
    }

    #[test]
    fn error_cells_are_never_accepted(e in "#[A-Z/0!?]{1,6}") {
        let v = Value::Error(e);
        prop_assert!(parse::date(&v).is_err());
        prop_assert!(parse::boolean(&v).is_err());
        prop_assert!(parse::credits(&v).is_err());
        prop_assert!(parse::score(&v).is_err());
        prop_assert!(parse::email(&v).is_err());
        prop_assert!(parse::course_code(&v).is_err());
        prop_assert!(parse::letter_grade(&v).is_err());
    }
}
