//! The context a row rule works in: the file, its layout, the row's values and its issues.

use super::header::{col, Layout};
use crate::parse::ParseResult;
use registrar_model::{Entity, Issue, IssueCode, Value};

pub(super) struct FileCx<'a> {
    pub(super) file: &'a str,
    pub(super) file_idx: u16,
    pub(super) entity: Entity,
    pub(super) lay: &'a Layout,
}

pub(super) struct RowCx<'c, 'a> {
    pub(super) cx: &'c FileCx<'a>,
    pub(super) row: u64,
    pub(super) values: &'c [Value],
    pub(super) issues: &'c mut Vec<Issue>,
    /// The attendance date and status, parsed already by the reading side.
    pub(super) pre: Option<super::attendance::Pre>,
}

static EMPTY: Value = Value::Empty;

impl<'c> RowCx<'c, '_> {
    pub(super) fn value(&self, slot: usize) -> &'c Value {
        match self.cx.lay.idx.get(slot).copied().flatten() {
            Some(i) => self.values.get(i).unwrap_or(&EMPTY),
            None => &EMPTY,
        }
    }

    pub(super) fn push(&mut self, slot: usize, code: IssueCode, message: String) {
        // In a link file that names students only by `student_sis_id`, an issue about the
        // student names that column.
        let slot = if slot == col::STUDENT
            && self.cx.entity != Entity::Users
            && self.cx.entity != Entity::Courses
            && self.cx.lay.idx.get(slot).copied().flatten().is_none()
        {
            col::student_sis(self.cx.entity)
        } else {
            slot
        };
        let column = self.cx.lay.names.get(slot).map(String::as_str);
        self.issues.push(Issue::error(
            code,
            self.cx.file,
            Some(self.row),
            column,
            message,
        ));
    }

    /// A required value; `None` when it is missing or invalid (the issue is pushed).
    pub(super) fn required<T>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&Value) -> ParseResult<T>,
    ) -> Option<T> {
        match f(self.value(slot)) {
            Ok(x) => Some(x),
            Err(e) => {
                self.push(slot, e.code, e.message);
                None
            }
        }
    }

    /// [`RowCx::required`] for a value parsed already: the same value, or the same issue.
    pub(super) fn parsed<T>(&mut self, slot: usize, parsed: ParseResult<T>) -> Option<T> {
        self.required(slot, |_| parsed)
    }

    /// An optional value: `Some(None)` when blank, `None` when invalid (the issue is pushed).
    pub(super) fn optional<T>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&Value) -> ParseResult<T>,
    ) -> Option<Option<T>> {
        if self.value(slot).is_blank() {
            return Some(None);
        }
        self.required(slot, f).map(Some)
    }
}
