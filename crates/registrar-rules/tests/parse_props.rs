//! Properties of the value parsers: no panic on arbitrary input, round-trips for valid values.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use registrar_model::Value;
use registrar_model::{AttendanceStatus, CourseStatus, IssueCode, LetterGrade, Role};
use registrar_rules::{parse, password};

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Empty),
        any::<String>().prop_map(Value::Text),
        "\\PC{0,40}".prop_map(Value::Text),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Bool),
        (-100_000i32..100_000)
            .prop_map(|d| Value::Date(NaiveDate::from_num_days_from_ce_opt(700_000 + d).unwrap())),
        "#[A-Z/0!?]{1,6}".prop_map(Value::Error),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic(v in any_value()) {
        let _ = parse::email(&v);
        let _ = parse::boolean(&v);
        let _ = parse::credits(&v);
        let _ = parse::integer(&v, i64::MIN, i64::MAX);
        let _ = parse::score(&v);
        let _ = parse::date(&v);
        let _ = parse::course_code(&v);
        let _ = parse::role(&v);
        let _ = parse::course_status(&v);
        let _ = parse::attendance_status(&v);
        let _ = parse::letter_grade(&v);
        let _ = parse::text(&v, 10);
        if let Value::Text(s) = &v {
            let _ = password::check_password(s, Some("someone"));
            let _ = password::check_hash(s);
        }
    }

    #[test]
    fn errors_carry_a_message(v in any_value()) {
        for e in [
            parse::email(&v).err(),
            parse::date(&v).err(),
            parse::score(&v).err(),
            parse::course_code(&v).err(),
        ].into_iter().flatten() {
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn booleans_round_trip(b in any::<bool>(), style in 0usize..4, upper in any::<bool>(), pad in " {0,2}") {
        let words = if b { ["true", "yes", "y", "1"] } else { ["false", "no", "n", "0"] };
        let w = if upper { words[style].to_uppercase() } else { words[style].to_owned() };
        let s = format!("{pad}{w}{pad}");
        prop_assert_eq!(parse::boolean(&text(&s)).unwrap(), b);
        prop_assert_eq!(parse::boolean(&Value::Bool(b)).unwrap(), b);
    }

    #[test]
    fn credits_round_trip(i in 0i64..=20, as_float in any::<bool>()) {
        let s = if as_float { format!("{i}.0") } else { i.to_string() };
        prop_assert_eq!(i64::from(parse::credits(&text(&s)).unwrap()), i);
        prop_assert_eq!(i64::from(parse::credits(&Value::Float(i as f64)).unwrap()), i);
        prop_assert_eq!(i64::from(parse::credits(&Value::Int(i)).unwrap()), i);
    }

    #[test]
    fn credits_out_of_range(i in prop_oneof![i64::MIN..0, 21i64..i64::MAX]) {
        prop_assert_eq!(parse::credits(&Value::Int(i)).unwrap_err().code, IssueCode::OutOfRange);
        prop_assert_eq!(parse::credits(&text(&i.to_string())).unwrap_err().code, IssueCode::OutOfRange);
    }

    #[test]
    fn fractional_credits_are_invalid(i in 0i64..20, frac in 1u32..100) {
        let s = format!("{i}.{frac:02}");
        prop_assert_eq!(parse::credits(&text(&s)).unwrap_err().code, IssueCode::InvalidNumber);
    }

    #[test]
    fn scores_round_trip(x in 0.0f64..=100.0) {
        let s = x.to_string();
        prop_assert_eq!(parse::score(&text(&s)).unwrap(), x);
        prop_assert_eq!(parse::score(&Value::Float(x)).unwrap(), x);
    }

    #[test]
    fn scores_out_of_range(x in prop_oneof![-1e12f64..-0.000_001, 100.000_001f64..1e12]) {
        prop_assert_eq!(parse::score(&Value::Float(x)).unwrap_err().code, IssueCode::OutOfRange);
    }

    #[test]
    fn dates_round_trip(days in 0i32..3_000_000) {
        let d = NaiveDate::from_num_days_from_ce_opt(days + 1).unwrap();
        prop_assume!(d.year() <= 9999);
        let s = d.format("%Y-%m-%d").to_string();
        prop_assert_eq!(parse::date(&text(&s)).unwrap(), d);
        prop_assert_eq!(parse::date_str(&format!(" {s}T00:00:00 ")).unwrap(), d);
        prop_assert_eq!(parse::date(&Value::Date(d)).unwrap(), d);
        prop_assert_eq!(parse::date(&Value::DateTime(d.and_hms_opt(0, 0, 0).unwrap())).unwrap(), d);
    }

    #[test]
    fn other_date_forms_are_invalid(m in 1u32..=12, d in 1u32..=28, y in 1000u32..=9999) {
        for s in [format!("{m}/{d}/{y}"), format!("{d}.{m}.{y}"), format!("{y}{m:02}{d:02}")] {
            prop_assert_eq!(parse::date(&text(&s)).unwrap_err().code, IssueCode::InvalidDate);
        }
    }

    #[test]
    fn letter_grades_round_trip(i in 0usize..LetterGrade::ALL.len(), lower in any::<bool>()) {
        let g = LetterGrade::ALL[i];
        let s = if lower { g.to_lowercase() } else { g.to_owned() };
        prop_assert_eq!(parse::letter_grade(&text(&format!(" {s} "))).unwrap().as_str(), g);
    }

    #[test]
    fn enumerations_round_trip(i in 0usize..4, j in 0usize..3, upper in any::<bool>()) {
        let case = |s: &str| if upper { s.to_uppercase() } else { s.to_owned() };
        let r = Role::ALL[i];
        prop_assert_eq!(parse::role(&text(&case(r.as_str()))).unwrap(), r);
        let a = AttendanceStatus::ALL[i];
        prop_assert_eq!(parse::attendance_status(&text(&case(a.as_str()))).unwrap(), a);
        let c = CourseStatus::ALL[j];
        prop_assert_eq!(parse::course_status(&text(&case(c.as_str()))).unwrap(), c);
    }

    #[test]
    fn course_codes_round_trip(code in "[A-Za-z][A-Za-z0-9_.-]{0,19}", pad in " {0,3}") {
        let parsed = parse::course_code(&text(&format!("{pad}{code}{pad}"))).unwrap();
        prop_assert_eq!(parsed.as_str(), code.to_ascii_uppercase());
        // Parsing the stored form gives it back.
        let again = parse::course_code_str(parsed.as_str()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    #[test]
    fn long_or_odd_codes_are_invalid(code in "[A-Z][A-Z0-9]{20,30}|[0-9_.-][A-Z0-9]{0,5}|[A-Z]{1,5}[ #/][A-Z0-9]{1,5}") {
        prop_assert_eq!(parse::course_code(&text(&code)).unwrap_err().code, IssueCode::InvalidCode);
    }

    #[test]
    fn emails_round_trip(
        local in "[A-Za-z0-9][A-Za-z0-9_+-]{0,15}(\\.[A-Za-z0-9_+-]{1,8}){0,2}",
        labels in prop::collection::vec("[A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?", 1..4),
        tld in "[A-Za-z]{2,6}",
        pad in " {0,2}",
    ) {
        let domain = format!("{}.{tld}", labels.join("."));
        let raw = format!("{pad}{local}@{domain}{pad}");
        let e = parse::email(&text(&raw)).unwrap();
        prop_assert_eq!(e.as_str(), format!("{local}@{domain}").to_lowercase());
        prop_assert_eq!(parse::email_str(e.as_str()).unwrap(), e.clone());
        prop_assert_eq!(e.local_part(), local.to_lowercase());
    }

    #[test]
    fn emails_without_dotted_domain_are_invalid(local in "[a-z]{1,10}", host in "[a-z]{1,10}") {
        let s = format!("{local}@{host}");
        prop_assert_eq!(parse::email(&text(&s)).unwrap_err().code, IssueCode::InvalidEmail);
        let s = format!("{local}@@{host}.edu");
        prop_assert_eq!(parse::email(&text(&s)).unwrap_err().code, IssueCode::InvalidEmail);
    }

    #[test]
    fn password_messages_never_hold_the_password(p in "[A-Za-z]{2,10}[0-9!#%&*-][A-Za-z0-9!#%&*-]{0,30}") {
        // (Letters then a digit or symbol: such a string cannot occur in a message by chance.)
        if let Err(m) = password::check_password(&p, Some("someone")) {
            prop_assert!(!m.contains(&p));
        }
    }
}
