//! A [`Roster`]: what a database holds, as an exporter needs it (who exists, which courses
//! there are, who is enrolled in or teaches which, and the grades), with the keys that make
//! generated identifiers stable. `registrar-db` fills it; `registrar-formats` writes it as a
//! OneRoster bundle. It holds no password and no password hash.

use crate::{CourseStatus, NaiveDate, Role};

/// Everything a roster export writes, in the order the database gave it (exporters sort
/// again by the natural keys, so the order here never changes the output).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roster {
    /// The courses.
    pub courses: Vec<RosterCourse>,
    /// The users (every role).
    pub users: Vec<RosterUser>,
    /// Students' enrollments and teachers' links to their courses.
    pub enrollments: Vec<RosterEnrollment>,
    /// The grades.
    pub grades: Vec<RosterGrade>,
    /// How many attendance marks the database holds (OneRoster has no place for them; an
    /// exporter says they were left out).
    pub attendance: u64,
}

/// A course, with the span of dates of its activity.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterCourse {
    /// The course code (unique, upper-case).
    pub code: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The semester text (`Fall 2026`), if any.
    pub semester: Option<String>,
    /// Credits, 0 to 20.
    pub credits: Option<i32>,
    /// Active, inactive or archived.
    pub status: CourseStatus,
    /// The earliest date of its enrollments, grades and attendance (for a term's dates).
    pub first_date: Option<NaiveDate>,
    /// The latest such date.
    pub last_date: Option<NaiveDate>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterUser {
    /// The database's key of the user (for a generated identifier when `sis_id` is none).
    pub key: i64,
    /// The user's external id (an imported sourcedId or student number), if any.
    pub sis_id: Option<String>,
    /// The email (lower-case).
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The role.
    pub role: Role,
    /// False for a deactivated account.
    pub is_active: bool,
}

/// How a user belongs to a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RosterRole {
    /// An enrolled student.
    Student,
    /// A teacher of the course.
    Teacher,
    /// An aide (assistant teacher) of the course.
    Aide,
}

/// A user's membership of a course.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEnrollment {
    /// The user's key ([`RosterUser::key`]).
    pub user_key: i64,
    /// The course code.
    pub course_code: String,
    /// Student, teacher or aide.
    pub role: RosterRole,
    /// The enrollment date (students only).
    pub begin_date: Option<NaiveDate>,
}

/// A grade.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterGrade {
    /// The student's key ([`RosterUser::key`]).
    pub user_key: i64,
    /// The course code.
    pub course_code: String,
    /// The assessment (`final`, `midterm`, ...).
    pub assessment: String,
    /// The score, 0 to 100.
    pub score: Option<f64>,
    /// The letter grade (upper-case).
    pub letter_grade: Option<String>,
    /// When it was graded.
    pub graded_on: Option<NaiveDate>,
}
