#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (selector, status, body) = common::split(data);
    let p = common::client();
    let builder = match selector % 2 {
        0 => p.get_state().channels("c"),
        _ => p.get_state().channels(["c", "d"]).channel_groups("g"),
    };
    let _ = builder.decode_response(status, body);
});
