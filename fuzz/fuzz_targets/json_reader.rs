//! JSON and NDJSON readers: the first byte picks the format and the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&knob, bytes)) = data.split_first() else {
        return;
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let name = if knob & 0x40 == 0 {
        "grades.json"
    } else {
        "grades.ndjson"
    };
    let path = dir.path().join(name);
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    common::drain(&path, &common::options(knob & 3));
});
