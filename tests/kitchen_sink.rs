//! The generator's fixture crate (`codegen/fixtures/kitchen_sink`, every
//! spec feature) compiles by being a workspace member; this runs the code
//! each feature emits: parameter kinds and encodings, path and shape
//! choice, every result mapping, awkward wire keys, paging and a stream union.

use kitchen_sink_fixture::{Config, Error, Happening, Sink};
use serde_json::json;

fn sink() -> Sink {
    Sink::new(Config::new("key").user_id("me"))
}

#[test]
fn every_parameter_kind_is_checked_and_encoded() {
    let request = sink()
        .everything()
        .channels(["a b", "c,d"])
        .listed(["x", "y"])
        .groups("g")
        .one("é")
        .group("grp")
        .yes(true)
        .no(false)
        .bounded(7)
        .floor(3)
        .free(0)
        .state(json!({"k": "v"}))
        .per_channel(json!({"a b": {"n": 1}}))
        .build_request()
        .unwrap();
    assert_eq!(request.path(), "/v1/sink/key/channels/a%20b,c%2Cd/uuid/me/group/grp");
    let query: Vec<(&str, &str)> = request.query().iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        query,
        [
            ("add", "x,y"),
            ("channel-group", "g-x"),
            ("one", "%C3%A9"),
            ("yes", "1"),
            ("disable", "1"),
            ("bounded", "7"),
            ("floor", "3"),
            ("free", "0"),
            ("state", "%7B%22k%22%3A%22v%22%7D"),
            ("per_channel", "%7B%22a%20b%22%3A%7B%22n%22%3A1%7D%7D"),
        ]
    );
    // Defaults, and the path chosen when `channels` is empty.
    let request = sink().everything().groups("g").group("grp").per_channel(json!({})).build_request().unwrap();
    assert_eq!(request.path(), "/v1/sink/key/all");
    let keys: Vec<&str> = request.query().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["channel-group", "bounded", "per_channel"]);

    let invalid = |builder: kitchen_sink_fixture::Everything| match builder.build_request() {
        Err(Error::InvalidInput { parameter, .. }) => parameter,
        other => panic!("expected an input error, got {other:?}"),
    };
    let base = || sink().everything().channels("a").group("g").per_channel(json!({}));
    assert_eq!(invalid(base().bounded(11)), "bounded");
    assert_eq!(invalid(base().floor(2)), "floor");
    assert_eq!(invalid(base().listed("x,y")), "listed");
    assert_eq!(invalid(base().groups("g,h")), "groups");
    // `refuse_presence_names`: checked on the names as given, before the suffix.
    assert_eq!(invalid(base().groups("g-pnpres")), "groups");
    assert!(base().listed("x-pnpres").build_request().is_ok(), "other lists still accept them");
    // The whole URL fits in 32 KiB; past it the error names what made it long.
    assert_eq!(invalid(base().state(json!({"k": "v".repeat(40_000)}))), "state");
    assert_eq!(
        invalid(base().listed((0..20).map(|i| format!("{i}{}", "x".repeat(2_000))).collect::<Vec<_>>())),
        "listed"
    );
    assert_eq!(invalid(base().state(json!([1]))), "state");
    assert_eq!(invalid(base().per_channel(json!({"a": 1}))), "per_channel");
    assert_eq!(invalid(sink().everything().channels("a").per_channel(json!({}))), "group");
    assert_eq!(invalid(sink().everything().channels("a").group("g")), "per_channel");
    assert_eq!(invalid(sink().everything().group("g").per_channel(json!({}))), "channels");
}

#[test]
fn every_result_mapping_decodes() {
    let one = sink().everything().channels("a").group("g").per_channel(json!({}));
    let flat = one
        .decode_response(
            200,
            r#"{"occupancy":2,"uuids":["u1",{"uuid":"u2","tags":["t"],"extra":{"x":1}}],"raw":[1],"flag":true}"#,
        )
        .unwrap();
    assert_eq!((flat.count, flat.total, flat.note.as_deref(), flat.flag), (1, 2, None, true));
    assert_eq!(flat.raw, json!([1]));
    let entry = &flat.entries["a"];
    assert_eq!((entry.key.as_str(), entry.occupancy, entry.members.len()), ("a", 2, 2));
    assert_eq!((entry.members[0].id.as_str(), entry.members[0].tags.len()), ("u1", 0));
    assert_eq!(
        (entry.members[1].tags.as_slice(), &entry.members[1].extra),
        (["t".to_owned()].as_slice(), &Some(json!({"x": 1})))
    );

    let many = sink().everything().channels(["a", "b"]).group("g").per_channel(json!({}));
    let nested = many
        .decode_response(
            200,
            r#"{"payload":{"count":2,"total":3,"entries":{"a":{"occupancy":3}},"note":"n","raw":null}}"#,
        )
        .unwrap();
    assert_eq!((nested.count, nested.total, nested.note.as_deref(), nested.flag), (2, 3, Some("n"), false));
    assert!(nested.entries["a"].members.is_empty(), "default_if_missing");
    assert!(matches!(many.decode_response(200, r#"{"payload":{}}"#), Err(Error::Decode { .. })));

    let awkward = sink()
        .collisions()
        .decode_response(200, r#"{"type":"t","channel-group":1,"channel_group":2,"1st":true,"self":{"self":"me"}}"#)
        .unwrap();
    assert_eq!((awkward.kind.as_str(), awkward.dashed, awkward.underscored, awkward.first), ("t", 1, 2, true));
    assert_eq!(awkward.itself.as_deref(), Some("me"));
}

#[test]
fn paging_and_a_stream_union() {
    let request = sink().paged().channels("r").offset(100).build_request().unwrap();
    assert_eq!(request.query(), [("limit", "100".to_owned()), ("offset", "100".to_owned())]);

    let answer = sink()
        .watch()
        .channels("r")
        .decode_response(
            200,
            r#"{"t":{"t":"5","r":1},"m":[
                {"c":"r-w","b":"r-w","p":{"t":"7"},"d":{"kind":"came","who":"ann","count":2}},
                {"c":"r-w","b":"grp-w","p":{"t":"8"},"d":{"kind":"went-away","who":"bob","friends":["c"]}},
                {"c":"r-w","p":{"t":"9"},"d":{"kind":"sneezed","who":"cy"}},
                {"c":"r-w","p":{"t":"x"},"d":{"kind":"came","who":"dee"}},
                {"c":"r-w","p":{"t":"11"},"d":{"kind":"waved","who":5}},
                {"c":"r-w","p":{"t":"12"},"d":{"kind":"came","who":5}}
            ]}"#,
        )
        .unwrap();
    let items: Vec<_> = answer.items.into_iter().map(|item| item.map(|decoded| decoded.item)).collect();
    let Ok(Happening::Came(came)) = &items[0] else { panic!("{:?}", items[0]) };
    assert_eq!((came.channel.as_str(), came.via.as_deref(), came.at, came.count), ("r", None, 7, Some(2)));
    let Ok(Happening::WentAway(went)) = &items[1] else { panic!("{:?}", items[1]) };
    assert_eq!(
        (went.via.as_deref(), went.friends.as_slice(), went.sure),
        (Some("grp"), ["c".to_owned()].as_slice(), false)
    );
    // The common fields without a match on the kind: borrowed, copied, or flattened.
    let (Ok(first), Ok(second)) = (&items[0], &items[1]) else { panic!("{items:?}") };
    assert_eq!((first.channel(), first.via(), first.at()), (Some("r"), None, Some(7)));
    assert_eq!(second.via(), Some("grp"));
    let Ok(Happening::Unknown { kind, item }) = &items[2] else { panic!("{:?}", items[2]) };
    assert_eq!((items[2].as_ref().unwrap().channel(), items[2].as_ref().unwrap().at()), (None, None));
    assert_eq!((kind.as_str(), &item["d"]["who"]), ("sneezed", &json!("cy")));
    assert!(matches!(&items[3], Err(Error::Decode { message, .. }) if message.contains("p.t")), "{:?}", items[3]);
    // A key of another type than a known kind reads: fine for an unknown kind, an error for a known one.
    assert!(matches!(&items[4], Ok(Happening::Unknown { kind, .. }) if kind == "waved"), "{:?}", items[4]);
    assert!(matches!(&items[5], Err(Error::Decode { .. })), "{:?}", items[5]);
}
