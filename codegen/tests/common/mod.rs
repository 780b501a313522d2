//! Spec text shared by the generator's test binaries.
#![allow(dead_code)]

/// A valid `spec/api.yaml`.
pub const API: &str = "\
package: demo-presence
version: 0.3.1
description: d
docs: d
client:
  name: Client
  docs: d
config_values:
  - name: subscribe_key
  - name: user_id
";

/// A valid endpoint (where_now) with a path, a bounded integer and a flag.
pub const WHERE_NOW: &str = "\
operation: where_now
builder: WhereNow
summary: Where a user is.
method: GET
idempotent: true
paths:
  - template: /v2/presence/sub-key/{subscribe_key}/uuid/{uuid}
params:
  - name: uuid
    type: uuid
    in: path
    default_from_config: user_id
    docs: The user.
  - name: limit
    type: u32
    in: query
    default: 10
    min: 0
    max: 100
    docs: A bound.
  - name: verbose
    type: bool
    in: query
    encoding: flag_if_true
    default: false
    docs: More.
result:
  type: WhereNowResult
  shapes:
    - name: body
      fields:
        - field: channels
          from: payload.channels
types:
  - name: WhereNowResult
    docs: Channels.
    fields:
      - name: channels
        type: list<string>
        docs: The channels.
example: |
  let _ = pubnub.where_now().await?;
";

/// `WHERE_NOW`'s `verbose` parameter, as written there.
pub const VERBOSE_PARAM: &str = "  - name: verbose\n    type: bool\n    in: query\n    encoding: flag_if_true\n    default: false\n    docs: More.\n";

/// A valid long-polled operation with a two-variant union.
pub const EVENTS: &str = "\
operation: events
builder: Events
summary: Watch.
method: GET
idempotent: true
paths:
  - template: /v2/subscribe/{subscribe_key}/{channels}/0
params:
  - name: channels
    type: names
    in: path
    suffix: -pnpres
    docs: Channels.
rules:
  - required_one_of: [channels]
stream:
  item: Event
types:
  - name: Event
    docs: An event.
    union:
      discriminator: d.action
      other: Other
      variants:
        - value: join
          name: Join
          type: JoinEvent
          docs: Joined.
        - value: leave
          name: Leave
          type: LeaveEvent
          docs: Left.
    fields:
      - name: channel
        type: string
        from: c
        docs: The channel.
  - name: JoinEvent
    docs: Joined.
    fields:
      - name: uuid
        type: string
        from: d.uuid
        docs: Who.
  - name: LeaveEvent
    docs: Left.
    fields:
      - name: uuid
        type: string
        from: d.uuid
        docs: Who.
example: |
  let _ = pubnub.events().channels(\"a\").subscribe();
";

/// Edits of spec text that fail loudly: a test edits YAML by replacing text,
/// and a replacement whose text has moved would silently test the unedited
/// spec. Every edit in these tests goes through here.
pub trait Edit {
    /// Every `from` replaced by `to`; panics, naming `from`, when there is none.
    fn edit(&self, from: &str, to: &str) -> String;
    /// The first `from` replaced by `to`; panics, naming `from`, when there is none.
    fn edit_once(&self, from: &str, to: &str) -> String;
}

impl Edit for str {
    #[track_caller]
    fn edit(&self, from: &str, to: &str) -> String {
        assert!(self.contains(from), "edit: the text has no {from:?} to replace");
        self.replace(from, to)
    }

    #[track_caller]
    fn edit_once(&self, from: &str, to: &str) -> String {
        assert!(self.contains(from), "edit: the text has no {from:?} to replace");
        self.replacen(from, to, 1)
    }
}
