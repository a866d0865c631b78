//! What the database already holds, as the validation pass needs it, and what a row of the
//! files changes in it ([`RowChange`]).

use crate::{AttendanceStatus, CourseStatus, LetterGrade, Role};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The maps of [`Existing`]: a `HashMap` with the Fx hash (several times faster than SipHash
/// on the millions of short keys a re-import compares; the keys come from the database).
pub type KeyMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<rustc_hash::FxHasher>>;

/// One row the database holds: its values, and whether an earlier Registrar import created or
/// last changed it (`imported`). Rows of unknown origin (made by hand in the SMS, the adopted
/// database's own rows, the training data) are never removed by a sync without `--sync-all`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// The stored values (besides the natural key).
    pub values: T,
    /// True when an earlier import created or last changed the row.
    pub imported: bool,
}

impl<T> Stored<T> {
    /// A stored row of unknown origin.
    pub fn new(values: T) -> Stored<T> {
        Stored {
            values,
            imported: false,
        }
    }

    /// A stored row an earlier import created or last changed.
    pub fn imported(values: T) -> Stored<T> {
        Stored {
            values,
            imported: true,
        }
    }
}

/// A user as stored (the key is the lower-case email).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// Role (an SMS role Registrar does not know reads as a viewer, never a student).
    pub role: Role,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Active account.
    pub is_active: bool,
    /// The stored password hash (compared, never shown).
    pub password_hash: String,
    /// The stored external id (`registrar_user_sis_ids`), if any.
    pub sis_id: Option<String>,
}

impl StoredUser {
    /// A user with `role` and empty other values (tests and callers that know only the role).
    pub fn with_role(role: Role) -> StoredUser {
        StoredUser {
            role,
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            password_hash: String::new(),
            sis_id: None,
        }
    }
}

/// A course as stored (the key is the upper-case course code).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCourse {
    /// Name.
    pub course_name: String,
    /// Description.
    pub description: Option<String>,
    /// Semester.
    pub semester: Option<String>,
    /// Credits.
    pub credits: Option<i32>,
    /// Status (an unknown stored status reads as `inactive`).
    pub status: CourseStatus,
}

impl Default for StoredCourse {
    fn default() -> Self {
        StoredCourse {
            course_name: String::new(),
            description: None,
            semester: None,
            credits: None,
            status: CourseStatus::Active,
        }
    }
}

/// A grade as stored (the key is student, course and assessment).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StoredGrade {
    /// Score, 0–100.
    pub score: Option<f64>,
    /// Letter grade.
    pub letter_grade: Option<LetterGrade>,
    /// Day graded.
    pub graded_on: Option<NaiveDate>,
}

/// A link-table row (enrollment, grade, attendance) as stored: its student's and its course's
/// database ids (resolved through [`Existing::user_ids`] / [`Existing::course_ids`]), the rest of
/// its natural key, and its values. 24 bytes for an attendance row: a re-import against millions
/// of stored rows holds ids, not strings.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredLink<K, V> {
    /// `student_id`.
    pub student_id: i64,
    /// `course_id`.
    pub course_id: i64,
    /// The rest of the natural key: nothing (enrollments), the assessment in lower case
    /// (grades), the date (attendance).
    pub key: K,
    /// The stored values.
    pub stored: Stored<V>,
}

/// The natural keys already in the database with their stored values, so that a row of the
/// files can be found new, unchanged or changed, `already-exists` reported for a row that
/// differs, references resolved against database rows, and a sync can find what the export no
/// longer holds. Keys are normalised as the rules normalise them: emails lower-case, course
/// codes upper-case, assessments lower-case. `registrar-db` reads it, `registrar-rules`
/// validates against it.
///
/// ```
/// use registrar_model::{AttendanceStatus, Existing, NaiveDate, Role, Stored, StoredUser};
/// let mut ex = Existing::default();
/// ex.insert_user("kid@school.org", Stored::imported(StoredUser::with_role(Role::Student)));
/// ex.insert_course("HIST1", Stored::new(Default::default()));
/// let day = NaiveDate::from_ymd_opt(2025, 9, 2).unwrap();
/// ex.insert_attendance("kid@school.org", "HIST1", day, Stored::new(Some(AttendanceStatus::Late)));
/// assert_eq!(ex.rows(registrar_model::Entity::Attendance), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Users by email.
    pub users: KeyMap<String, Stored<StoredUser>>,
    /// Courses by code.
    pub courses: KeyMap<String, Stored<StoredCourse>>,
    /// The database id of each user (by email).
    pub user_ids: KeyMap<String, i64>,
    /// The database id of each course (by code).
    pub course_ids: KeyMap<String, i64>,
    /// The enrollments, each with its date.
    pub enrollments: Vec<StoredLink<(), Option<NaiveDate>>>,
    /// The grades, keyed by assessment.
    pub grades: Vec<StoredLink<String, StoredGrade>>,
    /// The attendance rows, keyed by date (`None`: a status Registrar does not know, which no
    /// file value equals), 16 bytes a row.
    pub attendance: StoredAttendance,
    /// A digest of every stored value read (hex; empty when not computed), so a saved plan can
    /// tell that the database changed since it was made.
    pub digest: String,
}

impl Existing {
    /// Rows held of `entity`.
    pub fn rows(&self, entity: crate::Entity) -> u64 {
        use crate::Entity::*;
        (match entity {
            Users => self.users.len(),
            Courses => self.courses.len(),
            Enrollments => self.enrollments.len(),
            Grades => self.grades.len(),
            Attendance => self.attendance.len(),
        }) as u64
    }

    /// Adds (or replaces) a user with the next free id: for tests and callers that build an
    /// `Existing` by hand (`registrar-db` fills the fields from the database instead).
    pub fn insert_user(&mut self, email: &str, stored: Stored<StoredUser>) {
        let email = email.trim().to_lowercase();
        let next = self.user_ids.len() as i64 + 1;
        self.user_ids.entry(email.clone()).or_insert(next);
        self.users.insert(email, stored);
    }

    /// Adds (or replaces) a course with the next free id (see [`Existing::insert_user`]).
    pub fn insert_course(&mut self, code: &str, stored: Stored<StoredCourse>) {
        let code = code.trim().to_uppercase();
        let next = self.course_ids.len() as i64 + 1;
        self.course_ids.entry(code.clone()).or_insert(next);
        self.courses.insert(code, stored);
    }

    /// The ids of a student and a course, giving a new id to one not known yet.
    fn link_ids(&mut self, email: &str, code: &str) -> (i64, i64) {
        let next = self.user_ids.len() as i64 + 1;
        let s = *self
            .user_ids
            .entry(email.trim().to_lowercase())
            .or_insert(next);
        let next = self.course_ids.len() as i64 + 1;
        let c = *self
            .course_ids
            .entry(code.trim().to_uppercase())
            .or_insert(next);
        (s, c)
    }

    /// Adds an enrollment (see [`Existing::insert_user`]).
    pub fn insert_enrollment(
        &mut self,
        email: &str,
        code: &str,
        stored: Stored<Option<NaiveDate>>,
    ) {
        let (student_id, course_id) = self.link_ids(email, code);
        self.enrollments.push(StoredLink {
            student_id,
            course_id,
            key: (),
            stored,
        });
    }

    /// Adds a grade (see [`Existing::insert_user`]).
    pub fn insert_grade(
        &mut self,
        email: &str,
        code: &str,
        assessment: &str,
        stored: Stored<StoredGrade>,
    ) {
        let (student_id, course_id) = self.link_ids(email, code);
        self.grades.push(StoredLink {
            student_id,
            course_id,
            key: assessment.trim().to_lowercase(),
            stored,
        });
    }

    /// Adds an attendance row (see [`Existing::insert_user`]).
    pub fn insert_attendance(
        &mut self,
        email: &str,
        code: &str,
        date: NaiveDate,
        stored: Stored<Option<AttendanceStatus>>,
    ) {
        let (student_id, course_id) = self.link_ids(email, code);
        self.attendance.push(StoredLink {
            student_id,
            course_id,
            key: date,
            stored,
        });
    }
}

/// A stored attendance row: what [`Existing::attendance`] holds.
pub type StoredAttendanceRow = StoredLink<NaiveDate, Option<AttendanceStatus>>;

/// The attendance rows of [`Existing`], packed to 16 bytes a row (a [`StoredAttendanceRow`] is
/// 24): a re-import against a database holding millions of attendance rows reads them all
/// before validating, so this list is the largest thing it holds. Rows whose ids do not fit 32
/// bits are kept as they are. The order of the rows is not kept.
///
/// ```
/// use registrar_model::{AttendanceStatus, NaiveDate, Stored, StoredAttendance, StoredLink};
/// let day = NaiveDate::from_ymd_opt(2025, 9, 2).unwrap();
/// let row = StoredLink { student_id: 7, course_id: 3, key: day, stored: Stored::imported(Some(AttendanceStatus::Late)) };
/// let mut rows = StoredAttendance::default();
/// rows.push(row.clone());
/// assert_eq!(rows.len(), 1);
/// assert_eq!(rows.pop(), Some(row));
/// assert!(rows.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredAttendance {
    packed: Vec<PackedAttendance>,
    wide: Vec<StoredAttendanceRow>,
}

/// Ids as `u32`, the date as days since 1 January of year 1, status and origin in one byte.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PackedAttendance {
    student: u32,
    course: u32,
    day: i32,
    status: u8,
}

/// The origin bit of [`PackedAttendance::status`].
const PACKED_IMPORTED: u8 = 1 << 3;

fn pack_status(s: Option<AttendanceStatus>, imported: bool) -> u8 {
    let code = match s {
        Some(AttendanceStatus::Present) => 0,
        Some(AttendanceStatus::Absent) => 1,
        Some(AttendanceStatus::Late) => 2,
        Some(AttendanceStatus::Excused) => 3,
        None => 4,
    };
    code | if imported { PACKED_IMPORTED } else { 0 }
}

fn unpack_status(b: u8) -> Stored<Option<AttendanceStatus>> {
    let values = match b & 7 {
        0 => Some(AttendanceStatus::Present),
        1 => Some(AttendanceStatus::Absent),
        2 => Some(AttendanceStatus::Late),
        3 => Some(AttendanceStatus::Excused),
        _ => None,
    };
    Stored {
        values,
        imported: b & PACKED_IMPORTED != 0,
    }
}

impl PackedAttendance {
    fn pack(row: &StoredAttendanceRow) -> Option<PackedAttendance> {
        use chrono::Datelike;
        Some(PackedAttendance {
            student: u32::try_from(row.student_id).ok()?,
            course: u32::try_from(row.course_id).ok()?,
            day: row.key.num_days_from_ce(),
            status: pack_status(row.stored.values, row.stored.imported),
        })
    }

    fn unpack(self) -> StoredAttendanceRow {
        StoredLink {
            student_id: i64::from(self.student),
            course_id: i64::from(self.course),
            // Packed from a date, so always a date.
            key: NaiveDate::from_num_days_from_ce_opt(self.day).unwrap_or_default(),
            stored: unpack_status(self.status),
        }
    }
}

impl StoredAttendance {
    /// Adds a row.
    pub fn push(&mut self, row: StoredAttendanceRow) {
        match PackedAttendance::pack(&row) {
            Some(p) => self.packed.push(p),
            None => self.wide.push(row),
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.packed.len() + self.wide.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a row out (the last packed one first), `None` when empty. Taking every row this
    /// way while calling [`StoredAttendance::shrink_to_fit`] now and then hands the memory
    /// back as it goes.
    pub fn pop(&mut self) -> Option<StoredAttendanceRow> {
        self.wide
            .pop()
            .or_else(|| self.packed.pop().map(PackedAttendance::unpack))
    }

    /// Frees the room of the rows taken out.
    pub fn shrink_to_fit(&mut self) {
        self.packed.shrink_to_fit();
        self.wide.shrink_to_fit();
    }

    /// Every row, by value.
    pub fn iter(&self) -> impl Iterator<Item = StoredAttendanceRow> + '_ {
        self.packed
            .iter()
            .map(|p| p.unpack())
            .chain(self.wide.iter().cloned())
    }
}

impl FromIterator<StoredAttendanceRow> for StoredAttendance {
    fn from_iter<I: IntoIterator<Item = StoredAttendanceRow>>(rows: I) -> StoredAttendance {
        let mut out = StoredAttendance::default();
        for row in rows {
            out.push(row);
        }
        out
    }
}

#[cfg(test)]
mod stored_attendance_tests {
    use super::*;

    #[test]
    fn rows_pack_to_sixteen_bytes_and_come_back_the_same() {
        assert_eq!(std::mem::size_of::<PackedAttendance>(), 16);
        let day = NaiveDate::from_ymd_opt(2025, 9, 2).unwrap();
        let mut rows = Vec::new();
        for (i, s) in [
            None,
            Some(AttendanceStatus::Present),
            Some(AttendanceStatus::Absent),
            Some(AttendanceStatus::Late),
            Some(AttendanceStatus::Excused),
        ]
        .into_iter()
        .enumerate()
        {
            for imported in [false, true] {
                rows.push(StoredLink {
                    student_id: i as i64 + 1,
                    course_id: u32::MAX as i64,
                    key: day + chrono::Days::new(i as u64),
                    stored: Stored {
                        values: s,
                        imported,
                    },
                });
            }
        }
        // Ids past 32 bits are kept whole.
        rows.push(StoredLink {
            student_id: i64::from(u32::MAX) + 1,
            course_id: -4,
            key: NaiveDate::MIN,
            stored: Stored::new(None),
        });
        let held: StoredAttendance = rows.iter().cloned().collect();
        assert_eq!(held.len(), rows.len());
        assert_eq!(held.wide.len(), 1);
        let mut back: Vec<_> = held.iter().collect();
        let mut popped = Vec::new();
        let mut held = held;
        while let Some(r) = held.pop() {
            popped.push(r);
        }
        let key = |r: &StoredAttendanceRow| (r.student_id, r.course_id, r.key, r.stored.imported);
        back.sort_by_key(key);
        popped.sort_by_key(key);
        rows.sort_by_key(key);
        assert_eq!(back, rows);
        assert_eq!(popped, rows);
    }
}

/// One field a row changes: `old` → `new` as stored text (`None` for a password: a plan says
/// only that it changes, never what it is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Column name.
    pub field: String,
    /// Stored value (`None`: hidden, or NULL).
    pub old: Option<String>,
    /// Value of the file (`None`: hidden, or NULL).
    pub new: Option<String>,
}

impl FieldChange {
    /// A change of `field` from `old` to `new`.
    pub fn new(field: &str, old: Option<String>, new: Option<String>) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            old,
            new,
        }
    }

    /// True for the password (its values are never shown).
    pub fn is_password(&self) -> bool {
        self.field == "password"
    }
}

impl std::fmt::Display for FieldChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_password() {
            return f.write_str("password changes");
        }
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(empty)".into());
        write!(
            f,
            "{}: {} → {}",
            self.field,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// The natural key of a row, normalised (emails lower-case, course codes upper-case,
/// assessments lower-case): how a plan names a row, and what a sync removes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NaturalKey {
    /// A user by email.
    User(String),
    /// A course by code.
    Course(String),
    /// An enrollment by student email and course code.
    Enrollment(String, String),
    /// A grade by student email, course code and assessment.
    Grade(String, String, String),
    /// An attendance row by student email, course code and date.
    Attendance(String, String, NaiveDate),
}

impl NaturalKey {
    /// The entity the key belongs to.
    pub fn entity(&self) -> crate::Entity {
        match self {
            NaturalKey::User(_) => crate::Entity::Users,
            NaturalKey::Course(_) => crate::Entity::Courses,
            NaturalKey::Enrollment(..) => crate::Entity::Enrollments,
            NaturalKey::Grade(..) => crate::Entity::Grades,
            NaturalKey::Attendance(..) => crate::Entity::Attendance,
        }
    }

    /// The key of a record.
    pub fn of(record: &crate::Record) -> NaturalKey {
        use crate::Record;
        match record {
            Record::User(u) => NaturalKey::User(u.email.as_str().to_lowercase()),
            Record::Course(c) => NaturalKey::Course(c.course_code.as_str().to_uppercase()),
            Record::Enrollment(e) => NaturalKey::Enrollment(
                e.student_email.as_str().to_lowercase(),
                e.course_code.as_str().to_uppercase(),
            ),
            Record::Grade(g) => NaturalKey::Grade(
                g.student_email.as_str().to_lowercase(),
                g.course_code.as_str().to_uppercase(),
                g.assessment.clone(),
            ),
            Record::Attendance(a) => NaturalKey::Attendance(
                a.student_email.as_str().to_lowercase(),
                a.course_code.as_str().to_uppercase(),
                a.date,
            ),
        }
    }
}

impl std::fmt::Display for NaturalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NaturalKey::User(e) => f.write_str(e),
            NaturalKey::Course(c) => f.write_str(c),
            NaturalKey::Enrollment(e, c) => write!(f, "{e} in {c}"),
            NaturalKey::Grade(e, c, a) => write!(f, "{e} in {c} ({a})"),
            NaturalKey::Attendance(e, c, d) => write!(f, "{e} in {c} on {d}"),
        }
    }
}

/// What a valid row of the files does to the database.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    /// Its key is not in the database: the row is inserted.
    New,
    /// The database holds the row with the same values: nothing is written.
    Unchanged,
    /// The database holds the key with other values, and `--on-existing update` updates them.
    Changed(Vec<FieldChange>),
    /// The database holds the key with other values, and `--on-existing skip` leaves it.
    Skipped,
}

impl RowChange {
    /// True when the key is in the database.
    pub fn existing(&self) -> bool {
        !matches!(self, RowChange::New)
    }
}
