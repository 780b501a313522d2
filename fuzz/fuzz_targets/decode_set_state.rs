#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, status, body) = common::split(data);
    let _ = common::client().set_state().channels("c").decode_response(status, body);
});
