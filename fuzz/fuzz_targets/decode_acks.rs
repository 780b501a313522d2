#![no_main]
mod common;

// heartbeat, leave and channel-group add/remove/delete all decode an ack.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (selector, status, body) = common::split(data);
    let p = common::client();
    let _ = match selector % 5 {
        0 => p.heartbeat().channels("c").decode_response(status, body),
        1 => p.leave().channels("c").decode_response(status, body),
        2 => p.add_channel_to_channel_group().decode_response(status, body),
        3 => p.remove_channel_from_channel_group().decode_response(status, body),
        _ => p.remove_channel_group().decode_response(status, body),
    };
});
