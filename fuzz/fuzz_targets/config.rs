//! Config parsing and validation on any text: every input is a `Config` or a list of located
//! errors; none panics, and no error message grows with the input (values are previewed).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = newsfold::config::from_str(text, std::path::Path::new("/nonexistent/fuzz.toml")) {
        for e in errors.to_string().lines() {
            assert!(e.len() <= 4_000, "an error line of {} bytes: {e:.300}", e.len());
        }
    }
});
