#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (_, status, body) = common::split(data);
    let _ = common::client().list_channels_in_channel_group().channel_group("g").decode_response(status, body);
});
