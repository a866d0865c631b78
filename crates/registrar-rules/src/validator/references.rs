//! The student and course a row names: parsed (or found by their raw spelling), resolved
//! against this run and the database (`unknown-student`, `unknown-course`), and the enrollment
//! that grades and attendance need (`not-enrolled`, `not-a-student`).

use super::header::col;
use super::intern::raw_text;
use super::keys::pack_pair;
use super::row::RowCx;
use super::{State, MAX_SIS_ID_LEN};
use crate::parse::{self, quote};
use registrar_model::{CourseCode, Email, IssueCode, Role};

impl State {
    /// The student's id and role, or the issue (`unknown-student`).
    fn resolve_student(&self, email: &Email) -> Result<(u32, Role), String> {
        match self.users.get(email.as_str()) {
            Some(id) => self.resolve_student_id(id, email),
            None => Err(format!(
                "no user {} in the users file or the database; add the user first",
                quote(email.as_str())
            )),
        }
    }

    /// [`State::resolve_student`] for an interned id.
    fn resolve_student_id(&self, id: u32, email: &Email) -> Result<(u32, Role), String> {
        let s = self.users.slot(id);
        if let Some(role) = s.run_role.or(s.db_role) {
            return Ok((id, role));
        }
        if s.rejected_row != 0 {
            return Err(format!(
                "{} is not a valid user: the user on {} row {} was rejected; fix it first",
                quote(email.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ));
        }
        Err(format!(
            "no user {} in the users file or the database; add the user first",
            quote(email.as_str())
        ))
    }

    /// The course's id, or the issue (`unknown-course`).
    fn resolve_course(&self, code: &CourseCode) -> Result<u32, String> {
        match self.courses.get(code.as_str()) {
            Some(id) => self.resolve_course_id(id, code),
            None => Err(format!(
                "no course {} in the courses file or the database; add the course first",
                quote(code.as_str())
            )),
        }
    }

    /// [`State::resolve_course`] for an interned id.
    fn resolve_course_id(&self, id: u32, code: &CourseCode) -> Result<u32, String> {
        let s = self.courses.slot(id);
        if s.run_row != 0 || s.in_db {
            return Ok(id);
        }
        if s.rejected_row != 0 {
            return Err(format!(
                "{} is not a valid course: the course on {} row {} was rejected; fix it first",
                quote(code.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ));
        }
        Err(format!(
            "no course {} in the courses file or the database; add the course first",
            quote(code.as_str())
        ))
    }

    /// The student email of a row and its interned id when known. Raw text seen before is
    /// looked up as written (a hit is known valid, and its normalised value is the interned
    /// key); other values are parsed, and remembered when they name a known user.
    fn row_email(&mut self, rc: &mut RowCx<'_, '_>) -> (Option<Email>, Option<u32>) {
        let sis_slot = col::student_sis(rc.cx.entity);
        let sis_v = rc.value(sis_slot);
        if !sis_v.is_blank() {
            // The student named by their external id (a student number or sourcedId).
            let Some(sis) = rc.required(sis_slot, |v| parse::text(v, MAX_SIS_ID_LEN)) else {
                return (None, None);
            };
            let Some(held) = self.sis.get(sis.as_str()).copied() else {
                rc.push(
                    sis_slot,
                    IssueCode::UnknownStudent,
                    format!(
                        "no user with the sis_id {} in the users file or the database; add the user with that sis_id first",
                        quote(&sis)
                    ),
                );
                return (None, None);
            };
            let by_sis = Email::new_unchecked(self.users.key_shared(held.user));
            if rc.value(col::STUDENT).is_blank() {
                return (Some(by_sis), Some(held.user));
            }
            let (email, id) = self.row_email_column(rc);
            if let (Some(e), Some(id)) = (&email, id) {
                if id != held.user {
                    rc.push(
                        sis_slot,
                        IssueCode::UnknownStudent,
                        format!(
                            "the sis_id {} belongs to {}, but student_email names {}; fix one of them",
                            quote(&sis),
                            quote(by_sis.as_str()),
                            quote(e.as_str())
                        ),
                    );
                    return (None, None);
                }
            }
            return (email, id);
        }
        self.row_email_column(rc)
    }

    /// The student named by the `student_email` column.
    fn row_email_column(&mut self, rc: &mut RowCx<'_, '_>) -> (Option<Email>, Option<u32>) {
        let v = rc.value(col::STUDENT);
        let raw = raw_text(v);
        if let Some(id) = raw.and_then(|r| self.raw_users.get(r)) {
            return (
                Some(Email::new_unchecked(self.users.key_shared(id))),
                Some(id),
            );
        }
        let email = rc.required(col::STUDENT, parse::email);
        let id = email.as_ref().and_then(|e| self.users.get(e.as_str()));
        if let (Some(r), Some(id)) = (raw, id) {
            self.raw_users.remember(r, id);
        }
        (email, id)
    }

    /// [`State::row_email`] for the course code.
    fn row_code(&mut self, rc: &mut RowCx<'_, '_>) -> (Option<CourseCode>, Option<u32>) {
        let v = rc.value(col::COURSE);
        let raw = raw_text(v);
        if let Some(id) = raw.and_then(|r| self.raw_courses.get(r)) {
            let key = self.courses.key_shared(id);
            if let Some(r) = raw.filter(|r| parse::course_code_needs_normalizing(r)) {
                self.warn_normalized(rc, col::COURSE, r, &key);
            }
            return (Some(CourseCode::new_unchecked(key)), Some(id));
        }
        let code = self.course_code_at(rc, col::COURSE);
        let id = code.as_ref().and_then(|c| self.courses.get(c.as_str()));
        if let (Some(r), Some(id)) = (raw, id) {
            self.raw_courses.remember(r, id);
        }
        (code, id)
    }

    /// The course code in column `slot`, normalised by [`parse::normalize_course_code`];
    /// a code the rule changed gets a `course-code-normalized` warning (the first row of each
    /// file that writes it so). `None` when it is invalid (the issue is pushed).
    pub(super) fn course_code_at(
        &mut self,
        rc: &mut RowCx<'_, '_>,
        slot: usize,
    ) -> Option<CourseCode> {
        let (code, original) = rc.required(slot, parse::course_code_normalized)?;
        if let Some(original) = original {
            self.warn_normalized(rc, slot, &original, code.as_str());
        }
        Some(code)
    }

    /// Warns `course-code-normalized` for `original` → `result`, once per file and spelling.
    fn warn_normalized(&mut self, rc: &RowCx<'_, '_>, slot: usize, original: &str, result: &str) {
        if !self
            .normalized_codes
            .insert((rc.cx.file_idx, original.into()))
        {
            return;
        }
        let column = rc.cx.lay.names.get(slot).map(String::as_str);
        self.row_warnings.push(registrar_model::Issue::warning(
            IssueCode::CourseCodeNormalized,
            rc.cx.file,
            Some(rc.row),
            column,
            format!(
                "the course code {} is read as {} (every run of spaces and hyphens with a space in it becomes one -); write {result} in the file to make this warning go away (later rows of this file that write it so are read the same, without a warning)",
                quote(original),
                quote(result)
            ),
        ));
    }

    /// Resolves student and course of an enrollment, grade or attendance row, pushing
    /// `unknown-student` / `unknown-course` issues. Returns the parsed values and ids.
    #[allow(clippy::type_complexity)]
    pub(super) fn student_and_course(
        &mut self,
        rc: &mut RowCx<'_, '_>,
    ) -> (
        Option<Email>,
        Option<CourseCode>,
        Option<(u32, Role)>,
        Option<u32>,
    ) {
        let (email, uid) = self.row_email(rc);
        let (code, cid) = self.row_code(rc);
        let student = email.as_ref().and_then(|e| {
            let r = match uid {
                Some(id) => self.resolve_student_id(id, e),
                None => self.resolve_student(e),
            };
            match r {
                Ok(s) => Some(s),
                Err(m) => {
                    rc.push(col::STUDENT, IssueCode::UnknownStudent, m);
                    None
                }
            }
        });
        let course = code.as_ref().and_then(|c| {
            let r = match cid {
                Some(id) => self.resolve_course_id(id, c),
                None => self.resolve_course(c),
            };
            match r {
                Ok(id) => Some(id),
                Err(m) => {
                    rc.push(col::COURSE, IssueCode::UnknownCourse, m);
                    None
                }
            }
        });
        (email, code, student, course)
    }

    /// Pushes `not-enrolled` (or `not-a-student`) unless the student is enrolled in the course.
    pub(super) fn check_enrolled(
        &self,
        rc: &mut RowCx<'_, '_>,
        email: &Email,
        code: &CourseCode,
        (sid, role): (u32, Role),
        cid: u32,
    ) {
        let slot = self.enrollments.get(&pack_pair(sid, cid)).copied();
        if let Some(s) = slot {
            if s.key.run_row != 0 || s.key.in_db {
                return;
            }
        }
        if role != Role::Student {
            rc.push(
                col::STUDENT,
                IssueCode::NotAStudent,
                format!(
                    "{} is a {role}, not a student, and is not enrolled in {}",
                    quote(email.as_str()),
                    quote(code.as_str())
                ),
            );
            return;
        }
        let msg = match slot {
            Some(s) if s.rejected_row != 0 => format!(
                "{} is not enrolled in {}: the enrollment on {} row {} was rejected; fix it first",
                quote(email.as_str()),
                quote(code.as_str()),
                self.file_name(s.rejected_file),
                s.rejected_row
            ),
            _ => format!(
                "{} is not enrolled in {}; add the enrollment first",
                quote(email.as_str()),
                quote(code.as_str())
            ),
        };
        rc.push(col::STUDENT, IssueCode::NotEnrolled, msg);
    }
}
