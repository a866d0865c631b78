//! The attendance file (the hot path): (student, course, date) unique, a status.

use super::changes;
use super::header::col;
use super::keys::{claim_key, pack_attendance};
use super::row::RowCx;
use super::State;
use crate::parse::{self, quote};
use chrono::Datelike;
use registrar_model::{Attendance, Record, RowChange};

impl State {
    pub(super) fn check_attendance(
        &mut self,
        rc: &mut RowCx<'_, '_>,
    ) -> Option<(Record, RowChange)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let order = self.date_order;
        let date = rc.required(col::A_DATE, |v| parse::date_in(v, order));
        let status = rc.required(col::A_STATUS, parse::attendance_status);
        let (email, code, student, cid) = match (email, code, student, course) {
            (Some(e), Some(c), Some(s), Some(cid)) => (e, c, s, cid),
            _ => return None,
        };
        self.check_enrolled(rc, &email, &code, student, cid);
        let (date, status) = (date?, status?);
        if !rc.issues.is_empty() {
            return None;
        }
        let day = date.num_days_from_ce();
        // One hash operation: a fresh entry always claims successfully, so no stray entries.
        let slot = match pack_attendance(student.0, cid, day) {
            Some(k) => self.attendance.entry(k).or_default(),
            None => self
                .attendance_wide
                .entry((student.0, cid, day))
                .or_default(),
        };
        let stored = &self.db_attendance;
        match claim_key(
            self.on_existing,
            &self.files,
            slot,
            rc,
            || {
                format!(
                    "the attendance of {} in {} on {date}",
                    quote(email.as_str()),
                    quote(code.as_str())
                )
            },
            |db| match stored.get(db as usize) {
                Some(s) => changes::attendance(s.values, status),
                None => Vec::new(),
            },
        ) {
            Ok(change) => Some((
                Record::Attendance(Attendance {
                    student_email: email,
                    course_code: code,
                    date,
                    status,
                }),
                change,
            )),
            Err((c, m)) => {
                rc.push(col::STUDENT, c, m);
                None
            }
        }
    }
}
