//! Spreadsheet readers: the bytes are written as .xlsx, .ods or .xls (picked by the magic
//! number, so that seeds of each kind go to their reader) and read through.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, bytes)) = data.split_first() else {
        return;
    };
    let ext = if bytes.starts_with(b"\xD0\xCF\x11\xE0") {
        "xls"
    } else if knob & 0x40 == 0 {
        "xlsx"
    } else {
        "ods"
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join(format!("courses.{ext}"));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    common::drain(&path, &common::options(knob & 3));
});
