//! The argument decoding policy on arbitrary UTF-8: no panic, and a failed decode keeps the
//! raw text.

#![no_main]

use forge_toolparse::{decode_arguments_str, ArgumentsOutcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    match decode_arguments_str(raw) {
        ArgumentsOutcome::Object(_) => {}
        failed => assert_eq!(failed.raw(), Some(raw)),
    }
});
