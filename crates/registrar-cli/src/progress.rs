//! Progress bars (indicatif) on a terminal; nothing otherwise.
//!
//! Two lines: the file being read (a bar of its bytes, with rate and ETA, when the reader
//! counts bytes; rows otherwise) and, beside it, the database side (rows written, passwords
//! hashed), which runs while later files are still being read. Numbers are human: `12.5 MiB`,
//! `1,204,332 rows`, `438,809 rows/s`, never fractions of a row.

use indicatif::{
    HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle,
};
use registrar::model::ProgressUnit;
use registrar::Progress;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

/// Progress bars on stderr: one for the reading side, one for the writing side.
struct Bars {
    multi: MultiProgress,
    read: Mutex<Option<ProgressBar>>,
    write: Mutex<Option<ProgressBar>>,
}

/// The `{rate}` key: whole things per second with thousands separators (`438,809`).
fn per_sec(state: &ProgressState, w: &mut dyn std::fmt::Write) {
    write_rate(state.per_sec(), w);
}

/// `rate` rounded to a whole number, with thousands separators.
fn write_rate(rate: f64, w: &mut dyn std::fmt::Write) {
    let whole = if rate.is_finite() && rate > 0.0 {
        rate.round() as u64
    } else {
        0
    };
    let _ = write!(w, "{}", HumanCount(whole));
}

/// The template of a phase counted in `unit`, with a bar when its size is known.
fn template(unit: ProgressUnit, sized: bool) -> &'static str {
    match (unit, sized) {
        (ProgressUnit::Bytes, true) => {
            "{msg:>20} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
        }
        (ProgressUnit::Bytes, false) => "{msg:>20} {spinner} {bytes} ({bytes_per_sec})",
        (ProgressUnit::Hashes, true) => {
            "{msg:>20} [{bar:40}] {human_pos}/{human_len} ({rate}/s, {eta})"
        }
        (ProgressUnit::Hashes, false) => "{msg:>20} {spinner} {human_pos} ({rate}/s)",
        (_, true) => "{msg:>20} [{bar:40}] {human_pos}/{human_len} rows ({rate} rows/s, {eta})",
        (_, false) => "{msg:>20} {spinner} {human_pos} rows ({rate} rows/s)",
    }
}

/// The style of a phase counted in `unit`, with a bar when its size is known.
fn style(unit: ProgressUnit, sized: bool) -> ProgressStyle {
    let template = template(unit, sized);
    let base = if sized {
        ProgressStyle::default_bar()
    } else {
        ProgressStyle::default_spinner()
    };
    ProgressStyle::with_template(template)
        .unwrap_or(base)
        .with_key("rate", per_sec)
        .progress_chars("=> ")
}

impl Bars {
    fn start(
        &self,
        lane: &Mutex<Option<ProgressBar>>,
        name: &str,
        unit: ProgressUnit,
        total: Option<u64>,
    ) {
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        }
        .with_style(style(unit, total.is_some()))
        .with_message(name.to_owned());
        let bar = self.multi.add(bar);
        if let Ok(mut cur) = lane.lock() {
            if let Some(old) = cur.replace(bar) {
                old.finish_and_clear();
                self.multi.remove(&old);
            }
        }
    }

    fn with(&self, lane: &Mutex<Option<ProgressBar>>, f: impl FnOnce(&ProgressBar)) {
        if let Ok(cur) = lane.lock() {
            if let Some(bar) = cur.as_ref() {
                f(bar);
            }
        }
    }

    fn end(&self, lane: &Mutex<Option<ProgressBar>>) {
        if let Ok(mut cur) = lane.lock() {
            if let Some(bar) = cur.take() {
                bar.finish_and_clear();
                self.multi.remove(&bar);
            }
        }
    }
}

impl Progress for Bars {
    fn phase(&self, name: &str, total: Option<u64>) {
        self.start(&self.read, name, ProgressUnit::Rows, total);
    }

    fn phase_in(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        self.start(&self.read, name, unit, total);
    }

    fn advance(&self, n: u64) {
        self.with(&self.read, |bar| bar.inc(n));
    }

    fn set_position(&self, pos: u64) {
        self.with(&self.read, |bar| bar.set_position(pos));
    }

    fn write_phase(&self, name: &str, unit: ProgressUnit, total: Option<u64>) {
        self.start(&self.write, name, unit, total);
    }

    fn write_advance(&self, n: u64) {
        self.with(&self.write, |bar| bar.inc(n));
    }

    fn finish(&self) {
        self.end(&self.read);
        self.end(&self.write);
    }
}

/// Progress bars when `wanted` (human output) and stderr is a terminal; `None` otherwise.
pub fn bars(wanted: bool) -> Option<Arc<dyn Progress>> {
    if wanted && std::io::stderr().is_terminal() {
        Some(Arc::new(Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            read: Mutex::new(None),
            write: Mutex::new(None),
        }))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_rate_is_shown_without_fractions_and_with_thousands_separators() {
        // The defect: `{per_sec}` rendered `438,808.5063/s`.
        for (rate, want) in [
            (0.0, "0"),
            (f64::NAN, "0"),
            (438_808.506_3_f64, "438,809"),
            (12.4, "12"),
            (1_204_332.0, "1,204,332"),
        ] {
            let mut out = String::new();
            write_rate(rate, &mut out);
            assert_eq!(out, want);
            assert!(!out.contains('.'), "{out}");
        }
    }

    #[test]
    fn every_phase_template_uses_human_numbers() {
        for unit in [
            ProgressUnit::Rows,
            ProgressUnit::Bytes,
            ProgressUnit::Hashes,
        ] {
            for sized in [true, false] {
                let t = template(unit, sized);
                // `{per_sec}` and `{pos}` print `438,808.5063/s` and `1204332`.
                assert!(!t.contains("{per_sec}"), "{t}");
                assert!(!t.contains("{pos}") && !t.contains("{len}"), "{t}");
                match unit {
                    ProgressUnit::Bytes => assert!(t.contains("{bytes_per_sec}"), "{t}"),
                    _ => assert!(t.contains("{human_pos}") && t.contains("{rate}"), "{t}"),
                }
                if unit == ProgressUnit::Bytes && sized {
                    assert!(
                        t.contains("{bytes}/{total_bytes} ({bytes_per_sec}, {eta})"),
                        "{t}"
                    );
                }
                // The template parses.
                assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
            }
        }
    }
}
