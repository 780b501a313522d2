//! A bad spec gives diagnostics with file:line:column and the operation or
//! field at fault, never a panic. Each case edits a small valid spec; the
//! messages are pinned by snapshots.

use codegen::{SpecSource, Templates};

mod common;

use common::{API, EVENTS, Edit, VERBOSE_PARAM, WHERE_NOW};

/// `WHERE_NOW` without its flag: a small valid endpoint.
fn endpoint() -> String {
    WHERE_NOW.edit(VERBOSE_PARAM, "")
}

fn templates() -> Templates {
    Templates {
        cargo_toml: "[package]\nname = \"{{ package }}\"\n".into(),
        readme: "# {{ package }}\n".into(),
        inlineable: Vec::new(),
    }
}

/// Generates from the given endpoint files; returns the diagnostics, one per line.
fn diagnostics(endpoints: &[(&str, String)]) -> String {
    let api = SpecSource { path: "spec/api.yaml".into(), text: API.into() };
    let endpoints: Vec<SpecSource> =
        endpoints.iter().map(|(path, text)| SpecSource { path: (*path).into(), text: text.clone() }).collect();
    match codegen::generate_from_sources(&api, &endpoints, &templates()) {
        Ok(_) => panic!("the spec should have been rejected"),
        Err(codegen::GenerateError::Spec(list)) => list.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        Err(other) => panic!("expected spec diagnostics, got {other}"),
    }
}

fn one(edit: impl Fn(&str) -> String) -> String {
    diagnostics(&[("spec/endpoints/where_now.yaml", edit(&endpoint()))])
}

#[test]
fn the_base_spec_is_valid() {
    let api = SpecSource { path: "spec/api.yaml".into(), text: API.into() };
    let endpoint = SpecSource { path: "spec/endpoints/where_now.yaml".into(), text: endpoint() };
    let files = codegen::generate_from_sources(&api, &[endpoint], &templates()).unwrap();
    assert!(files.iter().any(|f| f.path == "src/operations/where_now.rs"));
}

#[test]
fn yaml_syntax_error() {
    insta::assert_snapshot!(one(|s| s.edit("summary: Where a user is.", "summary: [unclosed")));
}

#[test]
fn unknown_field() {
    insta::assert_snapshot!(one(|s| s.edit("    docs: The user.", "    docs: The user.\n    colour: red")));
}

#[test]
fn unknown_parameter_type_and_location() {
    insta::assert_snapshot!(one(|s| s.edit("type: u32", "type: u31").edit("in: query", "in: header")));
}

#[test]
fn refuse_presence_names_on_a_parameter_that_holds_no_names() {
    insta::assert_snapshot!(one(
        |s| s.edit("    docs: A bound.", "    refuse_presence_names: true\n    docs: A bound.")
    ));
}

#[test]
fn default_of_the_wrong_type_or_out_of_range() {
    insta::assert_snapshot!(one(|s| s.edit("default: 10", "default: lots")));
    insta::assert_snapshot!("default_out_of_range", one(|s| s.edit("default: 10", "default: 500")));
}

#[test]
fn path_placeholder_without_a_parameter() {
    insta::assert_snapshot!(one(|s| s.edit("/uuid/{uuid}", "/uuid/{uuid}/channel/{channel}")));
}

#[test]
fn duplicate_parameter_and_operation_names() {
    insta::assert_snapshot!(one(|s| s.edit("  - name: limit", "  - name: uuid")));
    let both = diagnostics(&[
        ("spec/endpoints/a.yaml", endpoint()),
        ("spec/endpoints/b.yaml", endpoint().edit("WhereNowResult", "OtherResult")),
    ]);
    insta::assert_snapshot!("duplicate_operation", both);
}

#[test]
fn unknown_types_and_result_fields() {
    insta::assert_snapshot!(one(|s| s.edit("type: list<string>", "type: list<Channel>")));
    insta::assert_snapshot!("unknown_result_field", one(|s| s.edit("- field: channels", "- field: chanels")));
    insta::assert_snapshot!("unknown_result_type", one(|s| s.edit("  type: WhereNowResult", "  type: Nope")));
}

#[test]
fn several_problems_are_all_reported_in_file_order() {
    let text =
        one(|s| s.edit("method: GET", "method: POST").edit("default: 10", "default: -1").edit("in: path", "in: body"));
    assert_eq!(text.lines().count(), 3, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn reserved_names_and_keywords() {
    insta::assert_snapshot!(one(|s| s
        .edit("  - name: limit", "  - name: client")
        .edit("operation: where_now", "operation: type")));
}

#[test]
fn bad_package_name_and_unknown_config_value() {
    let api = SpecSource {
        path: "spec/api.yaml".into(),
        text: API
            .edit("package: demo-presence", "package: 2fa.presence")
            .edit("  - name: user_id", "  - name: user_id\n  - name: region"),
    };
    let endpoint = SpecSource { path: "spec/endpoints/where_now.yaml".into(), text: endpoint() };
    match codegen::generate_from_sources(&api, &[endpoint], &templates()) {
        Err(codegen::GenerateError::Spec(list)) => {
            insta::assert_snapshot!(list.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
        other => panic!("expected diagnostics, got {other:?}"),
    }
}

#[test]
fn shapes_the_one_pass_decoder_cannot_read() {
    // `status` and `error` are every decoder's, to spot error bodies.
    insta::assert_snapshot!(one(|s| s.edit("from: payload.channels", "from: status")));
    // Two fields reading overlapping keys, and a path with an empty segment.
    let with_count = |s: &str, from: &str| {
        s.edit(
            "          from: payload.channels\n",
            &format!("          from: payload.channels\n        - field: count\n          from: {from}\n"),
        )
        .edit(
            "        docs: The channels.\n",
            "        docs: The channels.\n      - name: count\n        type: u64\n        docs: How many.\n",
        )
    };
    insta::assert_snapshot!("overlapping_paths", one(|s| with_count(s, "payload.channels.count")));
    insta::assert_snapshot!("empty_path_segment", one(|s| with_count(s, "payload..count")));
}

#[test]
fn shape_names_are_snake_case_and_unique() {
    let two_shapes = |s: &str| {
        s.edit(
            "  shapes:\n    - name: body\n",
            "  shapes:\n    - name: Body\n      when:\n        exactly_one: channels\n      fields:\n        - field: channels\n          from: payload.channels\n    - name: body\n",
        )
    };
    // `when` names no list parameter here, which is reported too; the names are what this pins.
    insta::assert_snapshot!(one(two_shapes));
    insta::assert_snapshot!("duplicate_shape_name", one(|s| two_shapes(s).edit("name: Body", "name: body")));
}

#[test]
fn names_that_collide_with_generated_code() {
    insta::assert_snapshot!(one(|s| s
        .edit("operation: where_now", "operation: config")
        .edit("builder: WhereNow", "builder: Client")
        .edit("  - name: WhereNowResult", "  - name: Result")
        .edit("  type: WhereNowResult", "  type: Result")
        .edit("  - name: limit", "  - name: request")));
}

#[test]
fn python_aliases_that_are_not_class_names_or_clash() {
    // Not PascalCase; the builder's name (they share the bindings' module);
    // twice; a class of the bindings' support; a Python constant.
    insta::assert_snapshot!(one(|s| {
        s.edit(
        "  - name: WhereNowResult\n",
        "  - name: WhereNowResult\n    python_aliases: [where_now_data, WhereNow, PNWhere, PNWhere, LocalServer, True]\n",
    )
    }));
    // Another type's Python class, in another file.
    let classes = [
        (
            "spec/endpoints/where_now.yaml",
            endpoint().edit("  - name: WhereNowResult\n", "  - name: WhereNowResult\n    python: PNWhereNowResult\n"),
        ),
        (
            "spec/endpoints/b.yaml",
            endpoint()
                .edit("operation: where_now", "operation: other")
                .edit("builder: WhereNow", "builder: Other")
                .edit("WhereNowResult", "OtherResult")
                .edit("  - name: OtherResult\n", "  - name: OtherResult\n    python_aliases: [PNWhereNowResult]\n"),
        ),
    ];
    insta::assert_snapshot!("python_alias_taken_by_another_types_class", diagnostics(&classes));
    // A union variant's type is flattened into the union's class: no alias.
    insta::assert_snapshot!(
        "python_alias_on_a_union_variant",
        stream(|s| s.edit("  - name: JoinEvent\n", "  - name: JoinEvent\n    python_aliases: [PNJoin]\n"))
    );
}

#[test]
fn pagination_that_does_not_fit_the_operation() {
    insta::assert_snapshot!(one(|s| {
        s.edit(
        "types:\n",
        "pagination:\n  limit: limit\n  offset: uuid\n  entries: channels\n  items: occupants\n  total: occupancy\ntypes:\n"
    )
    }));
}

/// `EVENTS` with `dedup_on` and a suffix to strip, and no rule.
fn stream_spec() -> String {
    EVENTS
        .edit("rules:\n  - required_one_of: [channels]\n", "")
        .edit("stream:\n  item: Event\n", "stream:\n  item: Event\n  dedup_on: [p.t, c]\n")
        .edit("        from: c\n", "        from: c\n        strip_suffix: -pnpres\n")
}

fn stream(edit: impl Fn(&str) -> String) -> String {
    diagnostics(&[("spec/endpoints/events.yaml", edit(&stream_spec()))])
}

#[test]
fn the_base_stream_spec_is_valid() {
    let api = SpecSource { path: "spec/api.yaml".into(), text: API.into() };
    let endpoint = SpecSource { path: "spec/endpoints/events.yaml".into(), text: stream_spec() };
    let files = codegen::generate_from_sources(&api, &[endpoint], &templates()).unwrap();
    let events = files.iter().find(|f| f.path == "src/operations/events.rs").unwrap();
    assert!(events.contents.contains("pub enum Event"), "{}", events.contents);
}

#[test]
fn union_mistakes() {
    insta::assert_snapshot!(stream(|s| s
        // The same discriminator value twice: the union does not lower, so
        // the stream built on it reports nothing more (no cascade).
        .edit_once("value: leave", "value: join")));
}

#[test]
fn a_variant_type_that_does_not_exist_and_a_field_without_from() {
    insta::assert_snapshot!(stream(|s| s.edit_once("type: LeaveEvent\n", "type: GoneEvent\n").edit(
        "        from: d.uuid\n        docs: Who.\n  - name: LeaveEvent",
        "        docs: Who.\n  - name: LeaveEvent"
    )));
}

#[test]
fn variant_field_clash() {
    insta::assert_snapshot!(stream(|s| {
        s
        // `LeaveEvent` reads `d.uuid` as a u64 where `JoinEvent` reads a
        // string, and repeats the union's own `channel`.
        .edit(
            "        type: string\n        from: d.uuid\n        docs: Who.\nexample",
            "        type: u64\n        from: d.uuid\n        docs: Who.\n      - name: channel\n        type: string\n        from: c\n        docs: Again.\nexample",
        )
    }));
}

#[test]
fn a_type_for_two_variants_a_field_reading_the_discriminator_or_a_path_twice() {
    insta::assert_snapshot!(stream(|s| {
        s
        .edit_once("type: LeaveEvent\n", "type: JoinEvent\n")
        .edit(
            "        from: d.uuid\n        docs: Who.\n  - name: LeaveEvent",
            "        from: d.uuid\n        docs: Who.\n      - name: kind\n        type: string\n        from: d.action\n        docs: K.\n      - name: id\n        type: string\n        from: d.uuid\n        docs: Again.\n  - name: LeaveEvent",
        )
    }));
}

#[test]
fn missing_discriminator() {
    insta::assert_snapshot!(stream(|s| s.edit("      discriminator: d.action\n", "")));
}

#[test]
fn a_stream_item_that_is_not_a_union() {
    insta::assert_snapshot!(stream(|s| s.edit("  item: Event", "  item: JoinEvent")));
}
