#![no_main]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (selector, status, body) = common::split(data);
    let events = common::client().presence_events();
    let events = if selector % 2 == 0 { events.channels("c") } else { events.channel_groups("g") };
    if let Ok(answer) = events.decode_response(status, body) {
        // Every item is either an event or a typed error; reading them must not panic either.
        for item in answer.items {
            let _ = item.map(|decoded| format!("{:?}", decoded.item));
        }
    }
});
