//! What a valid row changes in the stored row of the same key: the [`FieldChange`]s that
//! [`super::keys::claim_key`] turns into unchanged, `already-exists`, skipped or changed.

use registrar_model::{
    AttendanceStatus, CourseStatus, FieldChange, LetterGrade, NaiveDate, Password, Role,
    StoredCourse, StoredGrade, StoredUser,
};

fn text(s: &str) -> Option<String> {
    Some(s.to_owned())
}

fn opt<T: ToString>(v: &Option<T>) -> Option<String> {
    v.as_ref().map(ToString::to_string)
}

fn push_if<T: PartialEq + ToString>(
    out: &mut Vec<FieldChange>,
    field: &str,
    old: &Option<T>,
    new: &Option<T>,
) {
    if old != new {
        out.push(FieldChange::new(field, opt(old), opt(new)));
    }
}

/// The fields of a user row that differ from the stored user. The password counts only with
/// `update_passwords` (a plain password is listed as changing; the hashing step keeps the stored
/// hash when it already verifies it), and its values are never shown.
#[allow(clippy::too_many_arguments)]
pub(super) fn user(
    stored: &StoredUser,
    role: Role,
    first_name: &str,
    last_name: &str,
    is_active: bool,
    password: Option<&Password>,
    password_hash: Option<&str>,
    sis_id: Option<&str>,
    update_passwords: bool,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    // A file without a sis_id leaves the stored one alone.
    if let Some(new) = sis_id {
        if stored.sis_id.as_deref() != Some(new) {
            out.push(FieldChange::new("sis_id", stored.sis_id.clone(), text(new)));
        }
    }
    if stored.role != role {
        out.push(FieldChange::new(
            "role",
            text(stored.role.as_str()),
            text(role.as_str()),
        ));
    }
    if stored.first_name != first_name {
        out.push(FieldChange::new(
            "first_name",
            text(&stored.first_name),
            text(first_name),
        ));
    }
    if stored.last_name != last_name {
        out.push(FieldChange::new(
            "last_name",
            text(&stored.last_name),
            text(last_name),
        ));
    }
    if stored.is_active != is_active {
        out.push(FieldChange::new(
            "is_active",
            text(&stored.is_active.to_string()),
            text(&is_active.to_string()),
        ));
    }
    if update_passwords {
        let differs = match (password_hash, password) {
            (Some(h), _) => h != stored.password_hash,
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if differs {
            out.push(FieldChange::new("password", None, None));
        }
    }
    out
}

/// The fields of a course row that differ from the stored course.
pub(super) fn course(
    stored: &StoredCourse,
    course_name: &str,
    description: &Option<String>,
    semester: &Option<String>,
    credits: Option<i32>,
    status: CourseStatus,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if stored.course_name != course_name {
        out.push(FieldChange::new(
            "course_name",
            text(&stored.course_name),
            text(course_name),
        ));
    }
    push_if(&mut out, "description", &stored.description, description);
    push_if(&mut out, "semester", &stored.semester, semester);
    push_if(&mut out, "credits", &stored.credits, &credits);
    if stored.status != status {
        out.push(FieldChange::new(
            "status",
            text(stored.status.as_str()),
            text(status.as_str()),
        ));
    }
    out
}

/// The enrollment date, when it differs.
pub(super) fn enrollment(stored: Option<NaiveDate>, date: Option<NaiveDate>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    push_if(&mut out, "enrollment_date", &stored, &date);
    out
}

/// The fields of a grade row that differ from the stored grade.
pub(super) fn grade(
    stored: &StoredGrade,
    score: Option<f64>,
    letter_grade: Option<LetterGrade>,
    graded_on: Option<NaiveDate>,
) -> Vec<FieldChange> {
    let mut out = Vec::new();
    push_if(&mut out, "score", &stored.score, &score);
    let (old, new) = (
        stored.letter_grade.map(LetterGrade::as_str),
        letter_grade.map(LetterGrade::as_str),
    );
    push_if(&mut out, "letter_grade", &old, &new);
    push_if(&mut out, "graded_on", &stored.graded_on, &graded_on);
    out
}

/// The attendance status, when it differs.
pub(super) fn attendance(
    stored: Option<AttendanceStatus>,
    status: AttendanceStatus,
) -> Vec<FieldChange> {
    if stored == Some(status) {
        Vec::new()
    } else {
        let old = stored.map_or(
            "(a status Registrar does not know)",
            AttendanceStatus::as_str,
        );
        vec![FieldChange::new("status", text(old), text(status.as_str()))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_counts_only_with_update_passwords_and_is_never_shown() {
        let s = StoredUser {
            role: Role::Student,
            first_name: "Ada".into(),
            last_name: "L".into(),
            is_active: true,
            password_hash: "$argon2id$stored".into(),
            sis_id: None,
        };
        let p = Password::new("Sup3r-secret!");
        assert!(user(
            &s,
            Role::Student,
            "Ada",
            "L",
            true,
            Some(&p),
            None,
            None,
            false
        )
        .is_empty());
        let c = user(
            &s,
            Role::Student,
            "Ada",
            "L",
            true,
            Some(&p),
            None,
            None,
            true,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].to_string(), "password changes");
        assert_eq!((c[0].old.clone(), c[0].new.clone()), (None, None));
        let same = user(
            &s,
            Role::Student,
            "Ada",
            "L",
            true,
            None,
            Some("$argon2id$stored"),
            None,
            true,
        );
        assert!(same.is_empty());
        let c = user(
            &s,
            Role::Teacher,
            "Ada",
            "Lovelace",
            false,
            None,
            None,
            None,
            false,
        );
        let shown: Vec<String> = c.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "role: student → teacher",
                "last_name: L → Lovelace",
                "is_active: true → false"
            ]
        );
    }

    #[test]
    fn grades_and_attendance_compare_every_value() {
        let g = StoredGrade {
            score: Some(90.0),
            letter_grade: LetterGrade::parse("A"),
            graded_on: None,
        };
        assert!(grade(&g, Some(90.0), LetterGrade::parse("a"), None).is_empty());
        let c = grade(&g, Some(91.5), None, None);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].to_string(), "score: 90 → 91.5");
        assert_eq!(c[1].to_string(), "letter_grade: A → (empty)");
        assert!(attendance(Some(AttendanceStatus::Late), AttendanceStatus::Late).is_empty());
        assert_eq!(attendance(None, AttendanceStatus::Late).len(), 1);
        assert_eq!(
            attendance(Some(AttendanceStatus::Late), AttendanceStatus::Absent)[0].to_string(),
            "status: late → absent"
        );
    }
}
