//! Uniqueness and reference slots: the row of the first valid (or rejected) occurrence of a key,
//! the packed enrollment and attendance keys, and the claim that makes `duplicate-key` and
//! `already-exists`.

use super::row::RowCx;
use super::State;
use registrar_model::{FieldChange, IssueCode, OnExisting, Role, RowChange};

pub(super) fn row32(row: u64) -> u32 {
    u32::try_from(row).unwrap_or(u32::MAX)
}

/// A referable key (a user or a course).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct RefSlot {
    /// Row of the first valid occurrence in this run (0: none).
    pub(super) run_row: u32,
    pub(super) run_file: u16,
    /// Row of the first rejected occurrence in this run (0: none).
    pub(super) rejected_row: u32,
    pub(super) rejected_file: u16,
    /// In the database.
    pub(super) in_db: bool,
    /// Role given by this run (users; not set for rows skipped because they exist).
    pub(super) run_role: Option<Role>,
    /// Role in the database (users).
    pub(super) db_role: Option<Role>,
    /// Index of the stored values (`State::db_users` / `db_courses`) when `in_db`.
    pub(super) db: u32,
}

/// A uniqueness key (enrollment, grade, attendance).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct KeySlot {
    pub(super) run_row: u32,
    pub(super) run_file: u16,
    pub(super) in_db: bool,
    /// Index of the stored values (`State::db_enrollments` / `db_grades` / `db_attendance`)
    /// when `in_db`.
    pub(super) db: u32,
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct EnrSlot {
    pub(super) key: KeySlot,
    pub(super) rejected_row: u32,
    pub(super) rejected_file: u16,
}

/// The attendance key (student id, course id, day number) packed into one `u64` (24, 20 and 20
/// bits), or `None` when a part does not fit (the key then goes to the wide set).
pub(super) fn pack_attendance(sid: u32, cid: u32, day: i32) -> Option<u64> {
    if sid < (1 << 24) && cid < (1 << 20) && (0..(1 << 20)).contains(&day) {
        Some((u64::from(sid) << 40) | (u64::from(cid) << 20) | day as u64)
    } else {
        None
    }
}

/// The enrollment key (student id, course id) as one `u64`.
pub(super) fn pack_pair(sid: u32, cid: u32) -> u64 {
    (u64::from(sid) << 32) | u64::from(cid)
}

impl State {
    /// Claims a uniqueness key for a row that is otherwise valid. Returns what the row does
    /// to the database (`changes` lists the fields that differ from the stored row), or the
    /// issue.
    pub(super) fn claim(
        &self,
        slot: &mut KeySlot,
        rc: &RowCx<'_, '_>,
        what: impl FnOnce() -> String,
        changes: impl FnOnce(u32) -> Vec<FieldChange>,
    ) -> Result<RowChange, (IssueCode, String)> {
        claim_key(self.on_existing, &self.files, slot, rc, what, changes)
    }

    pub(super) fn claim_ref(
        &self,
        slot: &mut RefSlot,
        rc: &RowCx<'_, '_>,
        what: impl FnOnce() -> String,
        changes: impl FnOnce(u32) -> Vec<FieldChange>,
    ) -> Result<RowChange, (IssueCode, String)> {
        let mut k = KeySlot {
            run_row: slot.run_row,
            run_file: slot.run_file,
            in_db: slot.in_db,
            db: slot.db,
        };
        let r = self.claim(&mut k, rc, what, changes)?;
        slot.run_row = k.run_row;
        slot.run_file = k.run_file;
        Ok(r)
    }

    pub(super) fn reject_ref(slot: &mut RefSlot, rc: &RowCx<'_, '_>) {
        if slot.run_row == 0 && slot.rejected_row == 0 {
            slot.rejected_row = row32(rc.row).max(1);
            slot.rejected_file = rc.cx.file_idx;
        }
    }
}

/// Claims a uniqueness key for a row that is otherwise valid: `duplicate-key` when an earlier
/// valid row of this run has it (naming that row); when the database has it, `changes(db)`
/// says which fields differ: none is [`RowChange::Unchanged`] (never an error), else
/// `already-exists` when `on_existing` is `Error` (naming the fields), [`RowChange::Skipped`]
/// or [`RowChange::Changed`].
///
/// `#[inline]`: it is on the attendance hot path, and since the split into modules it sits in
/// another codegen unit than `check_attendance`, which no longer inlined it by itself (under
/// callgrind the validation bench runs 0.3 % fewer instructions with it).
#[inline]
pub(super) fn claim_key(
    on_existing: OnExisting,
    files: &[String],
    slot: &mut KeySlot,
    rc: &RowCx<'_, '_>,
    what: impl FnOnce() -> String,
    changes: impl FnOnce(u32) -> Vec<FieldChange>,
) -> Result<RowChange, (IssueCode, String)> {
    if slot.run_row != 0 {
        let place = if slot.run_file == rc.cx.file_idx {
            format!("row {}", slot.run_row)
        } else {
            let f = files
                .get(slot.run_file as usize)
                .map(String::as_str)
                .unwrap_or("?");
            format!("row {} of {f}", slot.run_row)
        };
        return Err((
            IssueCode::DuplicateKey,
            format!(
                "{} is already used on {place}; remove the duplicate",
                what()
            ),
        ));
    }
    let change = if slot.in_db {
        let fields = changes(slot.db);
        if fields.is_empty() {
            RowChange::Unchanged
        } else {
            match on_existing {
                OnExisting::Error => {
                    let list: Vec<String> = fields.iter().map(ToString::to_string).collect();
                    return Err((
                        IssueCode::AlreadyExists,
                        format!(
                            "{} is already in the database with other values ({}); remove the row, \
                             or use --on-existing update (or skip)",
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
    slot.run_row = row32(rc.row).max(1);
    slot.run_file = rc.cx.file_idx;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn attendance_keys_pack_only_when_every_part_fits() {
        let day = chrono::NaiveDate::from_ymd_opt(2024, 9, 2)
            .map(|d| d.num_days_from_ce())
            .unwrap_or_default();
        let k = pack_attendance(5, 7, day);
        assert_eq!(k, Some((5u64 << 40) | (7u64 << 20) | day as u64));
        assert_ne!(pack_attendance(5, 7, day + 1), k);
        assert_ne!(pack_attendance(5, 8, day), k);
        assert_ne!(pack_attendance(6, 7, day), k);
        assert!(pack_attendance((1 << 24) - 1, (1 << 20) - 1, (1 << 20) - 1).is_some());
        assert_eq!(pack_attendance(1 << 24, 0, day), None);
        assert_eq!(pack_attendance(0, 1 << 20, day), None);
        assert_eq!(pack_attendance(0, 0, 1 << 20), None);
        assert_eq!(pack_attendance(0, 0, -1), None);
        assert_ne!(pack_pair(1, 2), pack_pair(2, 1));
    }
}
