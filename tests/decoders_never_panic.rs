//! Every response decoder, fed arbitrary bytes and arbitrary JSON (biased
//! towards the keys the API uses), returns `Ok` or a typed error: never a
//! panic. Error statuses and error bodies are never successes; a 2xx body
//! that is not a JSON object is a decode error.

use proptest::prelude::*;
use pubnub_presence::{Config, Error, PubNub};
use serde_json::Value;

/// Runs the body through every operation's decoder, in the request
/// configurations that select each wire shape; returns each outcome as `Ok(())`
/// or the error.
fn decode_everywhere(status: u16, body: &[u8]) -> Vec<Result<(), Error>> {
    // One client for all cases: building its HTTP client loads the TLS roots.
    static CLIENT: std::sync::OnceLock<PubNub> = std::sync::OnceLock::new();
    let p = CLIENT.get_or_init(|| PubNub::new(Config::new("demo").user_id("u")));
    let b = || body;
    vec![
        p.here_now().channels("c").decode_response(status, b()).map(drop),
        p.here_now().channels(["c", "d"]).decode_response(status, b()).map(drop),
        p.here_now().channel_groups("g").include_state(true).decode_response(status, b()).map(drop),
        p.here_now().decode_response(status, b()).map(drop),
        p.where_now().decode_response(status, b()).map(drop),
        p.set_state().channels("c").decode_response(status, b()).map(drop),
        p.get_state().channels("c").decode_response(status, b()).map(drop),
        p.get_state().channels(["c", "d"]).channel_groups("g").decode_response(status, b()).map(drop),
        p.heartbeat().channels("c").decode_response(status, b()),
        p.leave().channels("c").decode_response(status, b()),
        p.add_channel_to_channel_group().decode_response(status, b()),
        p.remove_channel_from_channel_group().decode_response(status, b()),
        p.list_channels_in_channel_group().decode_response(status, b()).map(drop),
        p.remove_channel_group().decode_response(status, b()),
        // A subscribe answer: the envelope, then each item on its own (an
        // item that does not decode is an error item, not a failed answer).
        p.presence_events().channels("c").decode_response(status, b()).map(drop),
    ]
}

fn check(status: u16, body: &[u8]) {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let text = String::from_utf8_lossy(body);
    // A JSON object reporting an error (`status` >= 400 or a truthy `error`) is never a success.
    let reports_error = parsed.as_ref().and_then(Value::as_object).is_some_and(|object| {
        object.get("status").and_then(Value::as_u64).is_some_and(|s| s >= 400)
            || object.get("error").is_some_and(|e| match e {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty() && s != "0" && s != "false",
                Value::Array(_) | Value::Object(_) => true,
            })
    });
    let is_object = parsed.as_ref().is_some_and(Value::is_object);
    for outcome in decode_everywhere(status, body) {
        if !(200..300).contains(&status) {
            assert!(
                matches!(&outcome, Err(Error::Api { status: s, .. }) if *s == status),
                "HTTP {status} gave {outcome:?}"
            );
        } else if reports_error {
            assert!(matches!(outcome, Err(Error::Api { .. })), "error body {text} gave {outcome:?}");
        } else if !is_object {
            assert!(matches!(outcome, Err(Error::Decode { .. })), "non-object 2xx {text} gave {outcome:?}");
        }
    }
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "status", "message", "service", "error", "payload", "channels", "uuids", "uuid", "occupancy",
            "total_channels", "total_occupancy", "state", "channel", "group", "action",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z ,/]{0,6}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (0u16..600).prop_map(Value::from),
        "[a-z0-9 ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes(status in prop_oneof![Just(200u16), 100u16..600], bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check(status, &bytes);
    }

    #[test]
    fn arbitrary_json(status in prop_oneof![4 => Just(200u16), 1 => 100u16..600], value in json()) {
        check(status, value.to_string().as_bytes());
    }

    #[test]
    fn error_fields_always_win(status_field in 0u64..1000, error_field in json(), payload in json()) {
        let body = serde_json::json!({"status": status_field, "error": error_field, "payload": payload, "occupancy": 1, "uuids": []});
        check(200, body.to_string().as_bytes());
    }

    #[test]
    fn valid_shapes_with_arbitrary_values(occupancy in json(), uuids in json(), channels in json(), state in json()) {
        let bodies = [
            serde_json::json!({"status": 200, "occupancy": occupancy, "uuids": uuids}),
            serde_json::json!({"status": 200, "payload": {"channels": channels, "total_channels": occupancy, "total_occupancy": 1}}),
            serde_json::json!({"status": 200, "payload": state, "uuid": "u", "channel": "c"}),
            serde_json::json!({"status": 200, "payload": {"channels": channels}}),
        ];
        for body in bodies {
            check(200, body.to_string().as_bytes());
        }
    }
}

#[test]
fn each_shape_decodes_only_where_it_belongs() {
    let outcomes = decode_everywhere(200, r#"{"status":200,"occupancy":1,"uuids":["a"]}"#.as_bytes());
    // Flat single-channel here_now body: fine for single-channel here_now…
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    // …a missing `payload` for the multi-channel, group and global forms.
    for outcome in &outcomes[1..4] {
        assert!(
            matches!(outcome, Err(Error::Decode { message, .. }) if message.contains("missing field `payload`")),
            "{outcome:?}"
        );
    }
}
