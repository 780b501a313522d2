//! Which endpoint a request is for, and its parameters (docs/PROTOCOL.md §1, §3, §9.1).
//!
//! Routing is done on the raw (still percent-encoded) path so that channel lists can be split
//! on literal `,` before each name is decoded (`%2C` stays part of a name).

use crate::faults::Endpoint;
use crate::signature;

/// Decoded query parameters (first occurrence of a key wins).
pub(crate) struct Query {
    /// The query as received (signatures are checked over it).
    pub(crate) raw: String,
    params: Vec<(String, String)>,
}

impl Query {
    pub(crate) fn parse(raw: &str) -> Self {
        Self { raw: raw.to_owned(), params: signature::parse_query(raw) }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(crate) fn flag(&self, keys: &[&str]) -> bool {
        keys.iter().find_map(|k| self.get(k)).is_some_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True"))
    }

    /// A comma-separated list parameter (value already decoded, so `%2C` separates too).
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.get(key).map(split_list).unwrap_or_default()
    }
}

pub(crate) fn split_list(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in v.split(',') {
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Splits a raw path segment on literal `,` and percent-decodes each name.
pub(crate) fn split_path_names(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in raw.split(',') {
        if part.is_empty() {
            continue;
        }
        let name = decode_path(part);
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

pub(crate) fn decode_path(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// Recognised endpoints.
pub(crate) enum Route<'a> {
    HereNowGlobal { sub: &'a str },
    HereNow { sub: &'a str, ch: &'a str },
    Heartbeat { sub: &'a str, ch: &'a str },
    Leave { sub: &'a str, ch: &'a str },
    GetState { sub: &'a str, ch: &'a str, uuid: &'a str },
    SetState { sub: &'a str, ch: &'a str, uuid: &'a str },
    WhereNow { sub: &'a str, uuid: &'a str },
    GroupListAll { sub: &'a str },
    Group { sub: &'a str, group: &'a str },
    GroupDelete { sub: &'a str, group: &'a str },
    Subscribe { sub: &'a str, ch: &'a str },
}

impl Route<'_> {
    pub(crate) fn sub_key(&self) -> &str {
        match self {
            Route::HereNowGlobal { sub }
            | Route::HereNow { sub, .. }
            | Route::Heartbeat { sub, .. }
            | Route::Leave { sub, .. }
            | Route::GetState { sub, .. }
            | Route::SetState { sub, .. }
            | Route::WhereNow { sub, .. }
            | Route::GroupListAll { sub }
            | Route::Group { sub, .. }
            | Route::GroupDelete { sub, .. }
            | Route::Subscribe { sub, .. } => sub,
        }
    }

    /// The endpoint, as fault rules, the request log and `/metrics` name it.
    pub(crate) fn endpoint(&self) -> Endpoint {
        match self {
            Route::HereNowGlobal { .. } | Route::HereNow { .. } => Endpoint::HereNow,
            Route::Heartbeat { .. } => Endpoint::Heartbeat,
            Route::Leave { .. } => Endpoint::Leave,
            Route::GetState { .. } => Endpoint::GetState,
            Route::SetState { .. } => Endpoint::SetState,
            Route::WhereNow { .. } => Endpoint::WhereNow,
            Route::GroupListAll { .. } | Route::Group { .. } | Route::GroupDelete { .. } => Endpoint::ChannelGroups,
            Route::Subscribe { .. } => Endpoint::Subscribe,
        }
    }

    /// The uuid segment of the path, still percent-encoded, when the route has one.
    pub(crate) fn path_uuid(&self) -> Option<&str> {
        match self {
            Route::GetState { uuid, .. } | Route::SetState { uuid, .. } | Route::WhereNow { uuid, .. } => Some(uuid),
            _ => None,
        }
    }

    /// Whether the endpoint can change who is present (and so the deadlines
    /// the reaper waits for) once it has answered. Subscribe changes them too,
    /// but tells the reaper itself, before it holds its poll.
    /// Who the request is about: the uuid in its path (where_now, state),
    /// else its `uuid=` (the fault rules' `uuid` and the request log match
    /// this).
    pub(crate) fn subject_uuid(&self, query: &Query) -> Option<String> {
        self.path_uuid().map(decode_path).or_else(|| crate::params::actor_uuid(query))
    }

    /// Whether, with a data directory, the request's changes must be on disk
    /// before it is answered: channel-group and state changes (presence
    /// deadlines are kept in batches, `persist::FLUSH_INTERVAL`).
    pub(crate) fn changes_durably(&self, query: &Query) -> bool {
        match self {
            Route::SetState { .. } | Route::GroupDelete { .. } => true,
            Route::Group { .. } => query.get("add").is_some() || query.get("remove").is_some(),
            Route::Heartbeat { .. } | Route::Subscribe { .. } => query.get("state").is_some(),
            _ => false,
        }
    }

    pub(crate) fn changes_presence_when_answered(&self) -> bool {
        matches!(self, Route::Heartbeat { .. } | Route::Leave { .. } | Route::SetState { .. })
    }

    /// The raw channel segment, when the route has one.
    pub(crate) fn channel_segment(&self) -> Option<&str> {
        match self {
            Route::HereNow { ch, .. }
            | Route::Heartbeat { ch, .. }
            | Route::Leave { ch, .. }
            | Route::GetState { ch, .. }
            | Route::SetState { ch, .. }
            | Route::Subscribe { ch, .. } => Some(ch),
            _ => None,
        }
    }
}

pub(crate) fn is_sub_key(s: &str) -> bool {
    s == "sub-key" || s == "sub_key"
}

pub(crate) fn route(path: &str) -> Option<Route<'_>> {
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    match segs.as_slice() {
        ["v2", "presence", sk, sub] if is_sub_key(sk) => Some(Route::HereNowGlobal { sub }),
        ["v2", "presence", sk, sub, ""] if is_sub_key(sk) => Some(Route::HereNowGlobal { sub }),
        ["v2", "presence", sk, sub, "channel", ch] if is_sub_key(sk) => Some(Route::HereNow { sub, ch }),
        ["v2", "presence", sk, sub, "channel", ch, "heartbeat"] if is_sub_key(sk) => Some(Route::Heartbeat { sub, ch }),
        ["v2", "presence", sk, sub, "channel", ch, "leave"] if is_sub_key(sk) => Some(Route::Leave { sub, ch }),
        ["v2", "presence", sk, sub, "channel", ch, "uuid", uuid] if is_sub_key(sk) => {
            Some(Route::GetState { sub, ch, uuid })
        }
        ["v2", "presence", sk, sub, "channel", ch, "uuid", uuid, "data"] if is_sub_key(sk) => {
            Some(Route::SetState { sub, ch, uuid })
        }
        ["v2", "subscribe", sub, ch, "0"] => Some(Route::Subscribe { sub, ch }),
        ["v2", "presence", sk, sub, "uuid", uuid] if is_sub_key(sk) => Some(Route::WhereNow { sub, uuid }),
        ["v1", "channel-registration", sk, sub, "channel-group"] if is_sub_key(sk) => Some(Route::GroupListAll { sub }),
        ["v1", "channel-registration", sk, sub, "channel-group", group] if is_sub_key(sk) => {
            Some(Route::Group { sub, group })
        }
        ["v1", "channel-registration", sk, sub, "channel-group", group, "remove"] if is_sub_key(sk) => {
            Some(Route::GroupDelete { sub, group })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_names_split_on_literal_commas_only() {
        assert_eq!(split_path_names("a,b%2Cc,%20d"), ["a", "b,c", " d"]);
        assert!(split_path_names(",").is_empty());
        assert_eq!(split_path_names("x,x,y"), ["x", "y"]);
    }

    #[test]
    fn routes_both_sub_key_spellings() {
        assert!(matches!(
            route("/v2/presence/sub_key/demo/channel/a/leave"),
            Some(Route::Leave { sub: "demo", ch: "a" })
        ));
        assert!(matches!(route("/v2/presence/sub-key/demo/uuid/u"), Some(Route::WhereNow { sub: "demo", uuid: "u" })));
        assert!(route("/v2/presence/sub-key/demo/channel/a/bogus").is_none());
        assert!(route("v2/presence/sub-key/demo").is_none());
    }
}
