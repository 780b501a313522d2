//! `codegen diff`: each classification rule on a pair of specs (a base
//! spec and an edit of it), the report pinned by a snapshot; every rule of
//! `diff::RULES` is exercised here and listed in docs/SPEC.md.

use std::collections::BTreeSet;

use codegen::SpecSource;
use codegen::diff::{self, Change, Revision};

mod common;

use common::{API, EVENTS, Edit, VERBOSE_PARAM, WHERE_NOW};

fn revision(api: &str, where_now: &str, events: &str) -> Revision {
    Revision::load(vec![
        SpecSource { path: "spec/api.yaml".into(), text: api.into() },
        SpecSource { path: "spec/endpoints/events.yaml".into(), text: events.into() },
        SpecSource { path: "spec/endpoints/where_now.yaml".into(), text: where_now.into() },
    ])
    .unwrap_or_else(|err| panic!("{err}"))
}

/// One side of a case: the spec's three files (api, where_now, events).
type Spec = (String, String, String);

fn base() -> Spec {
    (API.to_owned(), WHERE_NOW.to_owned(), EVENTS.to_owned())
}

fn edit(api: impl Fn(&str) -> String, where_now: impl Fn(&str) -> String, events: impl Fn(&str) -> String) -> Spec {
    (api(API), where_now(WHERE_NOW), events(EVENTS))
}

fn same(s: &str) -> String {
    s.to_owned()
}

fn load((api, where_now, events): &Spec) -> Revision {
    revision(api, where_now, events)
}

/// A spec whose result is a paged map, for the paging rules.
fn paged(with_paging: bool) -> Spec {
    let where_now = WHERE_NOW
        .edit("  - name: verbose\n", "  - name: offset\n    type: u32\n    in: query\n    docs: Skip.\n  - name: verbose\n")
        .edit("        - field: channels\n          from: payload.channels", "        - field: rooms\n          from: payload.rooms")
        .edit(
            "      - name: channels\n        type: list<string>\n        docs: The channels.",
            "      - name: rooms\n        type: map<Room>\n        docs: Rooms.\n  - name: Room\n    docs: R.\n    fields:\n      - name: size\n        type: u64\n        docs: S.\n      - name: people\n        type: list<string>\n        default_if_missing: true\n        docs: P.",
        );
    let where_now = if with_paging {
        where_now.edit(
            "example:",
            "pagination:\n  limit: limit\n  offset: offset\n  entries: rooms\n  items: people\n  total: size\nexample:",
        )
    } else {
        where_now
    };
    (API.to_owned(), where_now, EVENTS.to_owned())
}

/// Every case: (snapshot name, old spec, new spec).
fn cases() -> Vec<(&'static str, Spec, Spec)> {
    let required = WHERE_NOW.edit("    default_from_config: user_id\n", "    required: true\n");
    let with_required = (API.to_owned(), required.clone(), EVENTS.to_owned());
    let no_rule = EVENTS.edit("rules:\n  - required_one_of: [channels]\n", "");
    let with_alias = edit(
        same,
        |s| s.edit("  - name: WhereNowResult\n", "  - name: WhereNowResult\n    python_aliases: [PNWhereNowData]\n"),
        same,
    );
    let with_inlineable = API.edit("config_values:", "inlineable: [extra.rs]\nconfig_values:");
    let refusing = EVENTS.edit("    suffix: -pnpres\n", "    suffix: -pnpres\n    refuse_presence_names: true\n");
    assert_ne!(refusing, EVENTS);
    vec![
        (
            "a_pure_reordering_of_yaml_keys_is_no_change",
            base(),
            edit(
                same,
                |s| {
                    s.edit(
                        "    in: query\n    default: 10\n    min: 0\n    max: 100\n    docs: A bound.",
                        "    docs: A bound.\n    max: 100\n    min: 0\n    default: 10\n    in: query",
                    )
                },
                same,
            ),
        ),
        (
            "an_operation_renamed_is_removed_and_added",
            base(),
            edit(
                same,
                |s| {
                    s.edit("operation: where_now", "operation: where_is")
                        .edit("pubnub.where_now()", "pubnub.where_is()")
                },
                same,
            ),
        ),
        ("a_builder_renamed", base(), edit(same, |s| s.edit("builder: WhereNow", "builder: WhereIsUser"), same)),
        (
            "parameters_removed_added_and_made_required",
            base(),
            edit(
                same,
                |s| {
                    s
            // `verbose` renamed to `detailed`: removed + added.
            .edit("name: verbose", "name: detailed")
            .edit("params:\n", "params:\n  - name: token\n    type: name\n    in: query\n    required: true\n    docs: T.\n")
            .edit("    default_from_config: user_id\n", "    required: true\n")
                },
                same,
            ),
        ),
        ("a_parameter_made_optional", with_required.clone(), base()),
        (
            "a_parameter_type_changed",
            with_required,
            (API.to_owned(), required.edit("type: uuid", "type: name"), EVENTS.to_owned()),
        ),
        (
            "bounds_narrowed_default_changed_and_wire_name_changed",
            base(),
            edit(
                same,
                |s| {
                    s.edit("    max: 100\n", "    max: 50\n")
                        .edit("    default: 10\n", "    default: 20\n")
                        .edit("    encoding: flag_if_true\n", "    wire_name: detail\n    encoding: flag_if_true\n")
                },
                same,
            ),
        ),
        ("bounds_widened", base(), edit(same, |s| s.edit("    max: 100\n", "    max: 1000\n"), same)),
        ("presence_names_refused", base(), (API.to_owned(), WHERE_NOW.to_owned(), refusing.clone())),
        ("presence_names_accepted_again", (API.to_owned(), WHERE_NOW.to_owned(), refusing), base()),
        (
            "a_result_type_renamed",
            base(),
            edit(
                same,
                |s| {
                    s.edit("type: WhereNowResult", "type: WhereResult")
                        .edit("name: WhereNowResult", "name: WhereResult")
                },
                same,
            ),
        ),
        (
            "fields_added_and_read_differently",
            base(),
            edit(
                same,
                |s| {
                    s
            .edit("        type: list<string>\n", "        type: list<string>\n        wire_name: chans\n")
            .edit("      - name: channels\n", "      - name: total\n        type: u64\n        default_if_missing: true\n        docs: New.\n      - name: channels\n")
            .edit("          from: payload.channels\n", "          from: payload.channels\n        - field: total\n          from: payload.total\n          default_if_missing: true\n")
                },
                |s| {
                    s.edit(
                        "        from: d.uuid\n        docs: Who.\n  - name: LeaveEvent",
                        "        from: d.uid\n        docs: Who.\n  - name: LeaveEvent",
                    )
                },
            ),
        ),
        (
            "fields_removed_and_retyped",
            base(),
            edit(same, same, |s| {
                s
            .edit("  - name: LeaveEvent\n    docs: Left.\n    fields:\n      - name: uuid\n        type: string\n", "  - name: LeaveEvent\n    docs: Left.\n    fields:\n      - name: uuid\n        type: option<string>\n")
            .edit("    fields:\n      - name: channel\n        type: string\n        from: c\n        docs: The channel.\n", "")
            }),
        ),
        (
            "the_catch_all_renamed",
            base(),
            edit(same, same, |s| s.edit("      other: Other\n", "      other: Unknown\n")),
        ),
        (
            "variants_paths_retries_and_docs",
            base(),
            edit(
                same,
                |s| {
                    s.edit("idempotent: true", "idempotent: false")
                        .edit("/uuid/{uuid}", "/user/{uuid}")
                        .edit("summary: Where a user is.", "summary: Where a user is, now.")
                },
                |s| {
                    s.edit(
                        "        - value: leave\n          name: Leave\n",
                        "        - value: left\n          name: Left\n",
                    )
                },
            ),
        ),
        ("a_rule_removed", base(), (API.to_owned(), WHERE_NOW.to_owned(), no_rule.clone())),
        ("a_rule_added", (API.to_owned(), WHERE_NOW.to_owned(), no_rule), base()),
        ("paging_added", paged(false), paged(true)),
        ("paging_removed", paged(true), paged(false)),
        (
            "the_crate_renamed_with_its_bump",
            base(),
            edit(
                |s| {
                    s.edit("package: demo-presence", "package: demo-presence-two")
                        .edit("version: 0.3.1", "version: 0.4.0")
                },
                same,
                same,
            ),
        ),
        (
            "a_python_name_changed",
            base(),
            edit(
                same,
                |s| {
                    s.edit(
                        "      - name: channels\n        type: list<string>\n",
                        "      - name: channels\n        type: list<string>\n        python: rooms\n",
                    )
                },
                same,
            ),
        ),
        ("a_python_alias_added", base(), with_alias.clone()),
        ("a_python_alias_removed", with_alias, base()),
        (
            "a_python_class_renamed_keeping_its_old_name",
            base(),
            edit(
                same,
                |s| {
                    s.edit(
                        "  - name: WhereNowResult\n",
                        "  - name: WhereNowResult\n    python: PNWhereNowData\n    python_aliases: [WhereNowResult]\n",
                    )
                },
                same,
            ),
        ),
        ("an_inlineable_module_added", base(), (with_inlineable.clone(), WHERE_NOW.to_owned(), EVENTS.to_owned())),
        ("an_inlineable_module_removed", (with_inlineable, WHERE_NOW.to_owned(), EVENTS.to_owned()), base()),
    ]
}

/// Each case's report is pinned; together the cases exercise every rule,
/// and docs/SPEC.md lists every rule.
#[test]
fn every_rule_on_a_spec_pair() {
    let mut seen = BTreeSet::new();
    for (name, old, new) in cases() {
        let (old, new) = (load(&old), load(&new));
        let changes = diff::compare(&old, &new);
        seen.extend(changes.iter().map(|c| c.rule.id));
        insta::assert_snapshot!(name, diff::report(&old, &new, &changes).0);
    }
    let missing: Vec<&str> = diff::RULES.iter().map(|r| r.id).filter(|id| !seen.contains(id)).collect();
    assert!(missing.is_empty(), "rules no case exercises: {missing:?}");
    let spec_md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/SPEC.md")).unwrap();
    let undocumented: Vec<&str> =
        diff::RULES.iter().map(|r| r.id).filter(|id| !spec_md.contains(&format!("| `{id}` |"))).collect();
    assert!(undocumented.is_empty(), "docs/SPEC.md lacks rules {undocumented:?}");
}

#[test]
fn an_additive_change_is_not_held_even_without_a_bump() {
    let (old, new) = (load(&base()), load(&edit(same, |s| s.edit("    max: 100\n", "    max: 200\n"), same)));
    let (text, held) = diff::report(&old, &new, &diff::compare(&old, &new));
    assert!(!held && text.contains("needs at least 0.3.2"), "{text}");
}

#[test]
fn breaking_changes_are_held_until_the_version_says_so() {
    let removed = WHERE_NOW.edit(VERBOSE_PARAM, "");
    let old = load(&base());
    let new = revision(API, &removed, EVENTS);
    let (text, held) = diff::report(&old, &new, &diff::compare(&old, &new));
    assert!(held && text.contains("HELD") && text.contains("needs at least 0.4.0"), "{text}");
    let bumped = revision(&API.edit("version: 0.3.1", "version: 0.4.0"), &removed, EVENTS);
    let (text, held) = diff::report(&old, &bumped, &diff::compare(&old, &bumped));
    assert!(!held, "{text}");
}

#[test]
fn semver_rules_before_and_after_1_0() {
    use codegen::diff::required_version;
    let change = |id: &str| Change {
        rule: *diff::RULES.iter().find(|r| r.id == id).unwrap(),
        at: String::new(),
        message: String::new(),
    };
    let breaking = [change("field-removed")];
    let additive = [change("field-added")];
    let wire = [change("path-changed")];
    let docs = [change("docs-changed")];
    assert_eq!(required_version((1, 2, 3), &breaking), (2, 0, 0));
    assert_eq!(required_version((1, 2, 3), &additive), (1, 3, 0));
    assert_eq!(required_version((1, 2, 3), &wire), (1, 3, 0));
    assert_eq!(required_version((1, 2, 3), &docs), (1, 2, 3));
    assert_eq!(required_version((0, 2, 3), &breaking), (0, 3, 0));
    assert_eq!(required_version((0, 2, 3), &additive), (0, 2, 4));
    assert_eq!(required_version((0, 0, 3), &breaking), (0, 0, 4));
}

#[test]
fn the_changelog_entry_replaces_an_older_one_for_the_same_version() {
    let old = load(&base());
    let new = revision(
        &API.edit("version: 0.3.1", "version: 0.4.0"),
        &WHERE_NOW.edit("name: verbose", "name: detailed"),
        EVENTS,
    );
    let entry = diff::changelog_entry("0.4.0", &diff::compare(&old, &new));
    let first = diff::insert_entry("# Changelog\n\n## 0.3.1\n\n- older\n", "0.4.0", &entry, |_| false);
    let again = diff::insert_entry(&first, "0.4.0", &entry, |_| false);
    assert_eq!(first, again, "re-running `--changelog` replaces the entry");
    // An entry for a draft version above the release is superseded, wherever it is.
    let drafts = "# Changelog\n\n## 0.3.2 - draft\n\n- a patch\n\n## 0.3.1\n\n- older\n";
    let superseded = diff::insert_entry(drafts, "0.4.0", &entry, |v| v == "0.3.2");
    assert_eq!(superseded, first, "the 0.3.2 draft is gone");
    insta::assert_snapshot!(first);
}

#[test]
fn the_changelog_heading_is_the_needed_version_or_unreleased() {
    let old = load(&base());
    let breaking = load(&edit(same, |s| s.edit("name: verbose", "name: detailed"), same));
    assert_eq!(diff::changelog_version(&old, &breaking, &diff::compare(&old, &breaking)), "0.4.0");
    let bumped = load(&edit(|s| s.edit("version: 0.3.1", "version: 1.0.0"), same, same));
    assert_eq!(diff::changelog_version(&old, &bumped, &diff::compare(&old, &bumped)), "1.0.0");
    let docs = load(&edit(same, |s| s.edit("summary: Where a user is.", "summary: Where."), same));
    assert_eq!(diff::changelog_version(&old, &docs, &diff::compare(&old, &docs)), "Unreleased");
    assert!(diff::is_unreleased("Unreleased", &old) && diff::is_unreleased("0.3.2", &old));
    assert!(!diff::is_unreleased("0.3.1", &old) && !diff::is_unreleased("0.2.0", &old));
}
