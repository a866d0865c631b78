//! Entities and typed records.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use zeroize::Zeroize;

/// One of the five data files, in import order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    /// `users`
    Users,
    /// `courses`
    Courses,
    /// `enrollments`
    Enrollments,
    /// `grades`
    Grades,
    /// `attendance`
    Attendance,
}

impl Entity {
    /// All entities in import order: users, courses, enrollments, grades, attendance.
    pub const ALL: [Entity; 5] = [
        Entity::Users,
        Entity::Courses,
        Entity::Enrollments,
        Entity::Grades,
        Entity::Attendance,
    ];

    /// The file stem (`"users"`, ..., `"attendance"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Users => "users",
            Entity::Courses => "courses",
            Entity::Enrollments => "enrollments",
            Entity::Grades => "grades",
            Entity::Attendance => "attendance",
        }
    }

    /// The columns its file may hold (SPEC §2), in the order of the typed record's fields: the
    /// one list the rules, the records API and the generators share.
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            Entity::Users => &[
                "email",
                "password",
                "password_hash",
                "role",
                "first_name",
                "last_name",
                "is_active",
                "sis_id",
            ],
            Entity::Courses => &[
                "course_code",
                "course_name",
                "description",
                "semester",
                "credits",
                "status",
            ],
            Entity::Enrollments => &[
                "student_email",
                "course_code",
                "enrollment_date",
                "student_sis_id",
            ],
            Entity::Grades => &[
                "student_email",
                "course_code",
                "assessment",
                "score",
                "letter_grade",
                "graded_on",
                "student_sis_id",
            ],
            Entity::Attendance => &[
                "student_email",
                "course_code",
                "date",
                "status",
                "student_sis_id",
            ],
        }
    }

    /// The entity a file stem names (case-insensitive), if any.
    pub fn from_stem(stem: &str) -> Option<Entity> {
        let s = stem.trim().to_ascii_lowercase();
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $( $(#[$d:meta])* $v:ident => $s:literal ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $( $(#[$d])* $v, )* }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[ $( $name::$v, )* ];
            /// The stored, lower-case text.
            pub fn as_str(self) -> &'static str { match self { $( $name::$v => $s, )* } }
            /// Parses case-insensitively, ignoring surrounding spaces.
            pub fn parse(s: &str) -> Option<$name> {
                let t = s.trim();
                $( if t.eq_ignore_ascii_case($s) { return Some($name::$v); } )*
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

str_enum!(
    /// A user's role.
    Role {
        /// Administrator.
        Admin => "admin",
        /// Teacher.
        Teacher => "teacher",
        /// Student.
        Student => "student",
        /// Read-only viewer.
        Viewer => "viewer",
    }
);

str_enum!(
    /// A course's status.
    CourseStatus {
        /// Open (the default).
        Active => "active",
        /// Not offered now.
        Inactive => "inactive",
        /// Kept for history.
        Archived => "archived",
    }
);

str_enum!(
    /// An attendance mark.
    AttendanceStatus {
        /// Present.
        Present => "present",
        /// Absent.
        Absent => "absent",
        /// Late.
        Late => "late",
        /// Excused.
        Excused => "excused",
    }
);

/// A letter grade: A+ A A- B+ B B- C+ C C- D+ D D- F P NP I W (stored upper-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LetterGrade(&'static str);

impl LetterGrade {
    /// Every allowed letter grade, upper-case.
    pub const ALL: &'static [&'static str] = &[
        "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F", "P", "NP", "I",
        "W",
    ];

    /// Parses case-insensitively, ignoring surrounding spaces.
    pub fn parse(s: &str) -> Option<LetterGrade> {
        let t = s.trim();
        LetterGrade::ALL
            .iter()
            .find(|g| g.eq_ignore_ascii_case(t))
            .map(|g| LetterGrade(g))
    }

    /// The upper-case grade.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for LetterGrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A validated, trimmed, lower-case email address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Email(Arc<str>);

impl Email {
    /// Wraps a string that the caller has already validated and lower-cased
    /// (`registrar-rules` does the validation). The text is shared: cloning an `Email` (or
    /// making one from an `Arc<str>`) does not copy it.
    pub fn new_unchecked(s: impl Into<Arc<str>>) -> Email {
        Email(s.into())
    }
    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated, trimmed, upper-case course code (`^[A-Z][A-Z0-9_.-]{0,19}$`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CourseCode(Arc<str>);

impl CourseCode {
    /// Wraps a string that the caller has already validated and upper-cased. The text is
    /// shared, as [`Email`]'s is.
    pub fn new_unchecked(s: impl Into<Arc<str>>) -> CourseCode {
        CourseCode(s.into())
    }
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CourseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plain-text password. It is zeroized when dropped, and its `Debug` output is `Password(***)`,
/// so it cannot leak through logs or error messages. There is deliberately no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a plain password.
    pub fn new(s: impl Into<String>) -> Password {
        Password(s.into())
    }
    /// The secret itself; use only to hash or verify it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A user row (`users` file).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Unique, lower-case.
    pub email: Email,
    /// The plain password, when the file gives one (hashed before it is stored).
    pub password: Option<Password>,
    /// A pre-computed argon2 PHC string, stored as is (takes precedence when both are given).
    pub password_hash: Option<String>,
    /// The role.
    pub role: Role,
    /// Trimmed, at most 100 characters.
    pub first_name: String,
    /// Trimmed, at most 100 characters.
    pub last_name: String,
    /// Default true.
    pub is_active: bool,
    /// The school's own id for the user (a student number or a OneRoster sourcedId): optional,
    /// unique across users, at most 255 characters. Enrollments, grades and attendance may name
    /// a student by it (`student_sis_id`).
    pub sis_id: Option<String>,
}

/// A course row (`courses` file).
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    /// Unique, upper-case.
    pub course_code: CourseCode,
    /// At most 200 characters.
    pub course_name: String,
    /// Optional description.
    pub description: Option<String>,
    /// Optional semester text.
    pub semester: Option<String>,
    /// Optional, 0 to 20.
    pub credits: Option<i32>,
    /// Default active.
    pub status: CourseStatus,
}

/// An enrollment row (`enrollments` file).
#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    /// The student's email.
    pub student_email: Email,
    /// The course.
    pub course_code: CourseCode,
    /// Optional date.
    pub enrollment_date: Option<NaiveDate>,
}

/// A grade row (`grades` file).
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// The student's email.
    pub student_email: Email,
    /// The course.
    pub course_code: CourseCode,
    /// Default `final`.
    pub assessment: String,
    /// 0 to 100.
    pub score: Option<f64>,
    /// Upper-case letter grade.
    pub letter_grade: Option<LetterGrade>,
    /// Optional date.
    pub graded_on: Option<NaiveDate>,
}

/// An attendance row (`attendance` file).
#[derive(Debug, Clone, PartialEq)]
pub struct Attendance {
    /// The student's email.
    pub student_email: Email,
    /// The course.
    pub course_code: CourseCode,
    /// The day.
    pub date: NaiveDate,
    /// The mark.
    pub status: AttendanceStatus,
}

/// Any typed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A user.
    User(User),
    /// A course.
    Course(Course),
    /// An enrollment.
    Enrollment(Enrollment),
    /// A grade.
    Grade(Grade),
    /// An attendance mark.
    Attendance(Attendance),
}

impl Record {
    /// The entity this record belongs to.
    pub fn entity(&self) -> Entity {
        match self {
            Record::User(_) => Entity::Users,
            Record::Course(_) => Entity::Courses,
            Record::Enrollment(_) => Entity::Enrollments,
            Record::Grade(_) => Entity::Grades,
            Record::Attendance(_) => Entity::Attendance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_debug_hides_secret() {
        let p = Password::new("Sup3rSecret!");
        assert_eq!(format!("{p:?}"), "Password(***)");
        let u = User {
            email: Email::new_unchecked("a@b.cd"),
            password: Some(p),
            password_hash: None,
            role: Role::Student,
            first_name: "A".into(),
            last_name: "B".into(),
            is_active: true,
            sis_id: None,
        };
        assert!(!format!("{u:?}").contains("Sup3rSecret"));
    }

    #[test]
    fn enums_parse_case_insensitively() {
        assert_eq!(Role::parse(" Teacher "), Some(Role::Teacher));
        assert_eq!(Role::parse("janitor"), None);
        assert_eq!(
            CourseStatus::parse("ARCHIVED"),
            Some(CourseStatus::Archived)
        );
        assert_eq!(
            AttendanceStatus::parse("Late"),
            Some(AttendanceStatus::Late)
        );
        assert_eq!(
            LetterGrade::parse("np").map(LetterGrade::as_str),
            Some("NP")
        );
        assert_eq!(LetterGrade::parse("E"), None);
        assert_eq!(Entity::from_stem("Attendance"), Some(Entity::Attendance));
    }
}
