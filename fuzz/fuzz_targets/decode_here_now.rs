#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (selector, status, body) = common::split(data);
    let p = common::client();
    let builder = match selector % 4 {
        0 => p.here_now().channels("c"),
        1 => p.here_now().channels(["c", "d"]),
        2 => p.here_now().channel_groups("g").include_state(true),
        _ => p.here_now(),
    };
    let _ = builder.decode_response(status, body);
});
