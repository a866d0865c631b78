//! The courses file: code, name, description, semester, credits, status.

use super::changes;
use super::header::col;
use super::row::RowCx;
use super::State;
use super::{MAX_COURSE_NAME_LEN, MAX_DESCRIPTION_LEN, MAX_SEMESTER_LEN};
use crate::parse::{self, quote};
use registrar_model::{Course, CourseStatus, Record, RowChange};

impl State {
    pub(super) fn check_course(&mut self, rc: &mut RowCx<'_, '_>) -> Option<(Record, RowChange)> {
        let code = self.course_code_at(rc, col::C_CODE);
        let name = rc.required(col::C_NAME, |v| parse::text(v, MAX_COURSE_NAME_LEN));
        let description = rc.optional(col::C_DESCRIPTION, |v| parse::text(v, MAX_DESCRIPTION_LEN));
        let semester = rc.optional(col::C_SEMESTER, |v| parse::text(v, MAX_SEMESTER_LEN));
        let credits = rc.optional(col::C_CREDITS, parse::credits);
        let status = rc
            .optional(col::C_STATUS, parse::course_status)
            .map(|s| s.unwrap_or(CourseStatus::Active));

        let code = code?;
        let id = self.courses.intern(code.as_str());
        let mut slot = self.courses.slot(id);
        let mut change = RowChange::New;
        if rc.issues.is_empty() {
            let stored = &self.db_courses;
            let diff = |db: u32| match (
                stored.get(db as usize),
                &name,
                &description,
                &semester,
                credits,
                status,
            ) {
                (Some(s), Some(n), Some(d), Some(se), Some(cr), Some(st)) => {
                    changes::course(&s.values, n, d, se, cr, st)
                }
                _ => Vec::new(),
            };
            match self.claim_ref(
                &mut slot,
                rc,
                || format!("the course code {}", quote(code.as_str())),
                diff,
            ) {
                Ok(c) => change = c,
                Err((c, m)) => rc.push(col::C_CODE, c, m),
            }
        }
        let out = match (name, description, semester, credits, status) {
            (Some(course_name), Some(description), Some(semester), Some(credits), Some(status))
                if rc.issues.is_empty() =>
            {
                Some((
                    Record::Course(Course {
                        course_code: code,
                        course_name,
                        description,
                        semester,
                        credits,
                        status,
                    }),
                    change,
                ))
            }
            _ => {
                Self::reject_ref(&mut slot, rc);
                None
            }
        };
        if let Some(s) = self.courses.slot_mut(id) {
            *s = slot;
        }
        out
    }
}
