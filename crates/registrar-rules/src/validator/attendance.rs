//! The attendance file (the hot path): (student, course, date) unique, a status.
//!
//! Packed keys live in a [`super::key_table::KeyTable`] whose `u32` value is either
//! - a **run row** (`1..=RUN_MAX`): the first valid row of this run with the key, numbered
//!   across the run's attendance files (`State::att_files` holds each file's base), or
//! - a **stored row** (`STORED` set): the key is in the database and no row of this run has
//!   claimed it yet; the low bits hold its status ([`stored_value`]) and whether an earlier
//!   import wrote it.
//!
//! Keys that do not pack go to `State::attendance_wide` with a [`super::keys::KeySlot`].

use super::changes;
use super::header::col;
use super::keys::{claim_key, pack_attendance};
use super::row::RowCx;
use super::State;
use crate::parse::{self, quote};
use chrono::Datelike;
use registrar_model::{
    Attendance, AttendanceStatus, IssueCode, OnExisting, Record, RowChange, Stored, Value,
};

/// The flag of a stored (database) row's value.
const STORED: u32 = 1 << 31;
/// The flag of a stored row an earlier import wrote.
const IMPORTED: u32 = 1 << 3;
/// The largest run row.
const RUN_MAX: u32 = STORED - 1;

fn status_code(s: Option<AttendanceStatus>) -> u32 {
    match s {
        Some(AttendanceStatus::Present) => 0,
        Some(AttendanceStatus::Absent) => 1,
        Some(AttendanceStatus::Late) => 2,
        Some(AttendanceStatus::Excused) => 3,
        None => 4,
    }
}

fn status_of(code: u32) -> Option<AttendanceStatus> {
    match code & 7 {
        0 => Some(AttendanceStatus::Present),
        1 => Some(AttendanceStatus::Absent),
        2 => Some(AttendanceStatus::Late),
        3 => Some(AttendanceStatus::Excused),
        _ => None,
    }
}

/// The table value of a stored attendance row.
pub(super) fn stored_value(s: &Stored<Option<AttendanceStatus>>) -> u32 {
    STORED | if s.imported { IMPORTED } else { 0 } | status_code(s.values)
}

/// For a stored row no row of this run claimed: whether an earlier import wrote it.
pub(super) fn unclaimed_stored(v: u32) -> Option<bool> {
    (v & STORED != 0).then_some(v & IMPORTED != 0)
}

/// Where an attendance file's date and status are, to parse them on the thread that reads the
/// file ([`Prep::parse`]): the parsing is pure, the rest of the row's rules need the run's
/// state.
pub(super) struct Prep {
    date: Option<usize>,
    status: Option<usize>,
    order: Option<parse::DateOrder>,
}

/// An attendance row's date and status as [`parse::date_in`] and [`parse::attendance_status`]
/// read them (errors boxed: most rows have none, and these travel between threads).
pub(super) struct Pre {
    pub(super) date: Result<chrono::NaiveDate, Box<parse::ParseError>>,
    pub(super) status: Result<AttendanceStatus, Box<parse::ParseError>>,
}

impl Prep {
    /// For a file of this layout, read as it is (no mapping file rewriting its rows).
    pub(super) fn new(lay: &super::header::Layout, order: Option<parse::DateOrder>) -> Prep {
        let at = |slot: usize| lay.idx.get(slot).copied().flatten();
        Prep {
            date: at(col::A_DATE),
            status: at(col::A_STATUS),
            order,
        }
    }

    /// The row's date and status, as the validating thread would parse them.
    pub(super) fn parse(&self, values: &[Value]) -> Pre {
        static EMPTY: Value = Value::Empty;
        let at = |i: Option<usize>| i.and_then(|i| values.get(i)).unwrap_or(&EMPTY);
        Pre {
            date: parse::date_in(at(self.date), self.order).map_err(Box::new),
            status: parse::attendance_status(at(self.status)).map_err(Box::new),
        }
    }
}

impl State {
    /// The run row of `row` of the attendance file `file`, or `None` past [`RUN_MAX`].
    fn att_run_row(&mut self, file: u16, row: u64) -> Option<u32> {
        if self.att_files.last().map(|l| l.0) != Some(file) {
            self.att_files.push((file, self.att_max));
        }
        let base = self.att_files.last().map_or(0, |l| l.1);
        let g = u64::from(base) + row.max(1);
        let g = u32::try_from(g).ok().filter(|&g| g <= RUN_MAX)?;
        self.att_max = self.att_max.max(g);
        Some(g)
    }

    /// The file and row of a run row.
    fn att_place(&self, g: u32) -> (u16, u32) {
        let i = self.att_files.partition_point(|e| e.1 < g);
        match i.checked_sub(1).and_then(|i| self.att_files.get(i)) {
            Some(&(file, base)) => (file, g - base),
            None => (0, g),
        }
    }

    pub(super) fn check_attendance(
        &mut self,
        rc: &mut RowCx<'_, '_>,
    ) -> Option<(Record, RowChange)> {
        let (email, code, student, course) = self.student_and_course(rc);
        let (date, status) = match rc.pre.take() {
            Some(pre) => (
                rc.parsed(col::A_DATE, pre.date.map_err(|e| *e)),
                rc.parsed(col::A_STATUS, pre.status.map_err(|e| *e)),
            ),
            None => {
                let order = self.date_order;
                (
                    rc.required(col::A_DATE, |v| parse::date_in(v, order)),
                    rc.required(col::A_STATUS, parse::attendance_status),
                )
            }
        };
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
        let what = || {
            format!(
                "the attendance of {} in {} on {date}",
                quote(email.as_str()),
                quote(code.as_str())
            )
        };
        let claimed = match pack_attendance(student.0, cid, day) {
            Some(k) => self.claim_packed(k, rc, status, what),
            None => {
                let slot = self
                    .attendance_wide
                    .entry((student.0, cid, day))
                    .or_default();
                let stored = &self.db_attendance;
                claim_key(
                    self.on_existing,
                    &self.files,
                    slot,
                    rc,
                    what,
                    |db| match stored.get(db as usize) {
                        Some(s) => changes::attendance(s.values, status),
                        None => Vec::new(),
                    },
                )
            }
        };
        match claimed {
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

    /// [`claim_key`] for a packed key: `duplicate-key` naming the earlier row, else what the
    /// row does to the stored one (if any); the key then holds this row.
    #[inline]
    fn claim_packed(
        &mut self,
        key: u64,
        rc: &RowCx<'_, '_>,
        status: AttendanceStatus,
        what: impl FnOnce() -> String,
    ) -> Result<RowChange, (IssueCode, String)> {
        let old = self.attendance.get(key);
        if old != 0 && old & STORED == 0 {
            let (file, row) = self.att_place(old);
            let place = if file == rc.cx.file_idx {
                format!("row {row}")
            } else {
                format!("row {row} of {}", self.file_name(file))
            };
            return Err((
                IssueCode::DuplicateKey,
                format!(
                    "{} is already used on {place}; remove the duplicate",
                    what()
                ),
            ));
        }
        let change = if old & STORED != 0 {
            let fields = changes::attendance(status_of(old), status);
            if fields.is_empty() {
                RowChange::Unchanged
            } else {
                match self.on_existing {
                    OnExisting::Error => {
                        let list: Vec<String> = fields.iter().map(ToString::to_string).collect();
                        return Err((
                            IssueCode::AlreadyExists,
                            format!(
                                "{} is already in the database with other values ({}); remove \
                                 the row, or use --on-existing update (or skip)",
                                what(),
                                list.join("; ")
                            ),
                        ));
                    }
                    OnExisting::Skip => RowChange::Skipped,
                    OnExisting::Update => RowChange::Changed(fields),
                }
            }
        } else {
            RowChange::New
        };
        let Some(g) = self.att_run_row(rc.cx.file_idx, rc.row) else {
            return Err((
                IssueCode::TooLong,
                format!(
                    "more than {RUN_MAX} attendance rows in one run; split the attendance files \
                     over several runs"
                ),
            ));
        };
        self.attendance.update(key, |_| g);
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_keep_status_and_origin() {
        for s in [
            None,
            Some(AttendanceStatus::Present),
            Some(AttendanceStatus::Absent),
            Some(AttendanceStatus::Late),
            Some(AttendanceStatus::Excused),
        ] {
            for imported in [false, true] {
                let v = stored_value(&Stored {
                    values: s,
                    imported,
                });
                assert_eq!(status_of(v), s);
                assert_eq!(unclaimed_stored(v), Some(imported));
            }
        }
        assert_eq!(unclaimed_stored(12), None);
    }
}
