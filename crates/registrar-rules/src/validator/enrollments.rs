//! The enrollments file: (student, course) unique, optional enrollment date.

use super::changes;
use super::header::col;
use super::keys::{pack_pair, row32};
use super::row::RowCx;
use super::State;
use crate::parse::{self, quote};
use registrar_model::{Enrollment, IssueCode, Record, Role, RowChange};

impl State {
    pub(super) fn check_enrollment(
        &mut self,
        rc: &mut RowCx<'_, '_>,
    ) -> Option<(Record, RowChange)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let order = self.date_order;
        let date = rc.optional(col::E_DATE, |v| parse::date_in(v, order));
        if let (Some(e), Some((_, role))) = (&email, student) {
            if role != Role::Student {
                rc.push(
                    col::STUDENT,
                    IssueCode::NotAStudent,
                    format!(
                        "{} is a {role}, not a student; only students can be enrolled",
                        quote(e.as_str())
                    ),
                );
            }
        }
        let (email, code, (sid, _), cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        let mut slot = self
            .enrollments
            .get(&pack_pair(sid, cid))
            .copied()
            .unwrap_or_default();
        let mut change = RowChange::New;
        if rc.issues.is_empty() {
            let stored = &self.db_enrollments;
            let diff = |db: u32| match (stored.get(db as usize), date) {
                (Some(s), Some(d)) => changes::enrollment(s.values, d),
                _ => Vec::new(),
            };
            match self.claim(
                &mut slot.key,
                rc,
                || {
                    format!(
                        "the enrollment of {} in {}",
                        quote(email.as_str()),
                        quote(code.as_str())
                    )
                },
                diff,
            ) {
                Ok(c) => change = c,
                Err((c, m)) => rc.push(col::STUDENT, c, m),
            }
        }
        let out = match date {
            Some(enrollment_date) if rc.issues.is_empty() => Some((
                Record::Enrollment(Enrollment {
                    student_email: email,
                    course_code: code,
                    enrollment_date,
                }),
                change,
            )),
            _ => {
                if slot.key.run_row == 0 && slot.rejected_row == 0 {
                    slot.rejected_row = row32(rc.row).max(1);
                    slot.rejected_file = rc.cx.file_idx;
                }
                None
            }
        };
        self.enrollments.insert(pack_pair(sid, cid), slot);
        out
    }
}
