//! What each presence and channel-registry endpoint does: check the request,
//! change or read the keyspace, answer (docs/PROTOCOL.md §1, §2, §8).
//! Subscribe is in `subscribe.rs`; `dispatch.rs` routes a request here.
//! Handlers return `Result<Reply, Reply>` so that `?` ends a request with its
//! error reply.

use serde_json::Value;

use crate::bodies::{here_now_multi_body, here_now_single_body, write_state};
use crate::clock::millis;
use crate::config::MAX_STATE_DEPTH;
use crate::json::{write_str, write_str_array, write_value};
use crate::params::{
    Request, actor_uuid, announced_timeout, default_timeout, group_name, here_now_opts, parse_object, path_uuid,
    states_by_channel,
};
use crate::reply::{Reply, registry_ok};
use crate::routing::split_list;
use crate::store::{ChannelOccupancy, Timeout, read, write};

/// here_now of every occupied channel of the subscribe key.
pub(crate) fn here_now_global(req: &Request<'_>) -> Result<Reply, Reply> {
    let opts = here_now_opts(&req.query)?;
    let ks = read(req.keyspace);
    let result = ks.here_now_global(opts, req.now);
    drop(ks);
    Ok(Reply::ok(here_now_multi_body(&result, opts)))
}

/// here_now of the named channels and groups: the flat body for exactly one
/// channel and no group, else only the occupied channels.
pub(crate) fn here_now(req: &Request<'_>) -> Result<Reply, Reply> {
    let opts = here_now_opts(&req.query)?;
    let ks = read(req.keyspace);
    if req.channels.len() == 1 && req.groups.is_empty() {
        let result = ks.here_now(&req.channels, opts, req.now);
        drop(ks);
        Ok(Reply::ok(here_now_single_body(&result[0], opts)))
    } else {
        let all = ks.expand(&req.channels, &req.groups);
        let result = ks.here_now(&all, opts, req.now);
        drop(ks);
        let occupied: Vec<ChannelOccupancy> = result.into_iter().filter(|c| c.occupancy > 0).collect();
        Ok(Reply::ok(here_now_multi_body(&occupied, opts)))
    }
}

/// Makes `uuid=` present on the named channels and the groups' channels
/// for the announced (or default) timeout, with any `state=`.
pub(crate) fn heartbeat(req: &Request<'_>) -> Result<Reply, Reply> {
    let uuid = actor_uuid(&req.query).ok_or_else(|| Reply::bad_request("Missing uuid"))?;
    req.require_names()?;
    // A heartbeat without `heartbeat=` announces the default timeout.
    let timeout_ms = announced_timeout(req.server, &req.query)?.unwrap_or_else(|| default_timeout(req.server));
    let mut ks = write(req.keyspace);
    let states = states_by_channel(&ks, &req.query, &req.channels, &req.groups)?;
    let all = ks.expand(&req.channels, &req.groups);
    ks.heartbeat(&uuid, &all, Timeout::Given(timeout_ms), &states, req.now);
    drop(ks);
    Ok(Reply::ok(r#"{"message":"OK","service":"Presence","status":200}"#.to_owned()))
}

/// Removes `uuid=` (and its state) from the named channels and the groups' channels.
pub(crate) fn leave(req: &Request<'_>) -> Result<Reply, Reply> {
    let uuid = actor_uuid(&req.query).ok_or_else(|| Reply::bad_request("Missing uuid"))?;
    req.require_names()?;
    let mut ks = write(req.keyspace);
    let all = ks.expand(&req.channels, &req.groups);
    ks.leave(&uuid, &all, req.now);
    drop(ks);
    Ok(Reply::ok(r#"{"action":"leave","message":"OK","service":"Presence","status":200}"#.to_owned()))
}

/// `uuid` is the raw path segment.
pub(crate) fn set_state(req: &Request<'_>, uuid: &str) -> Result<Reply, Reply> {
    let uuid = path_uuid(uuid)?;
    req.require_names()?;
    let raw = req.query.get("state").ok_or_else(|| Reply::bad_request("No state specified."))?;
    let state = Value::Object(parse_object(raw, MAX_STATE_DEPTH)?);
    let ttl = millis(req.server.config.presence_timeout);
    let mut ks = write(req.keyspace);
    let all = ks.expand(&req.channels, &req.groups);
    ks.set_state(&uuid, &all, &state, ttl, req.now);
    drop(ks);
    let mut body = String::from("{\"message\":\"OK\",\"payload\":");
    write_value(&mut body, &state);
    body.push_str(",\"service\":\"Presence\",\"status\":200}");
    Ok(Reply::ok(body))
}

/// `uuid` is the raw path segment.
pub(crate) fn get_state(req: &Request<'_>, uuid: &str) -> Result<Reply, Reply> {
    let uuid = path_uuid(uuid)?;
    let ks = read(req.keyspace);
    let single = req.channels.len() == 1 && req.groups.is_empty();
    let all = ks.expand(&req.channels, &req.groups);
    let states = ks.get_state(&uuid, &all, req.now);
    drop(ks);
    let mut body = String::new();
    if single {
        body.push_str("{\"channel\":");
        write_str(&mut body, &states[0].0);
        body.push_str(",\"message\":\"OK\",\"payload\":");
        write_state(&mut body, states[0].1.as_deref());
    } else {
        body.push_str("{\"message\":\"OK\",\"payload\":{\"channels\":{");
        for (i, (ch, st)) in states.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            write_str(&mut body, ch);
            body.push(':');
            write_state(&mut body, st.as_deref());
        }
        body.push_str("}}");
    }
    body.push_str(",\"service\":\"Presence\",\"status\":200,\"uuid\":");
    write_str(&mut body, &uuid);
    body.push('}');
    Ok(Reply::ok(body))
}

/// `uuid` is the raw path segment.
pub(crate) fn where_now(req: &Request<'_>, uuid: &str) -> Result<Reply, Reply> {
    let uuid = path_uuid(uuid)?;
    let chans = read(req.keyspace).where_now(&uuid, req.now);
    let mut body = String::from("{\"message\":\"OK\",\"payload\":{\"channels\":");
    write_str_array(&mut body, chans.iter().map(String::as_str));
    body.push_str("},\"service\":\"Presence\",\"status\":200}");
    Ok(Reply::ok(body))
}

/// The names of every channel group of the subscribe key.
pub(crate) fn group_list_all(req: &Request<'_>) -> Result<Reply, Reply> {
    let names = read(req.keyspace).group_names();
    let mut body = String::from("{\"error\":false,\"payload\":{\"groups\":");
    write_str_array(&mut body, names.iter().map(String::as_str));
    body.push_str("},\"service\":\"channel-registry\",\"status\":200}");
    Ok(Reply::ok(body))
}

/// Lists a group's channels, or adds / removes channels (`add=`, `remove=`).
/// `group` is the raw path segment.
pub(crate) fn group(req: &Request<'_>, group: &str) -> Result<Reply, Reply> {
    let group = group_name(group)?;
    let add = req.query.get("add");
    let remove = req.query.get("remove");
    if add.is_none() && remove.is_none() {
        let chans = read(req.keyspace).group_list(&group);
        let mut body = String::from("{\"error\":false,\"payload\":{\"channels\":");
        write_str_array(&mut body, chans.iter().map(String::as_str));
        body.push_str(",\"group\":");
        write_str(&mut body, &group);
        body.push_str("},\"service\":\"channel-registry\",\"status\":200}");
        return Ok(Reply::ok(body));
    }
    let add = add.map(split_list).unwrap_or_default();
    let remove = remove.map(split_list).unwrap_or_default();
    if add.is_empty() && remove.is_empty() {
        return Err(Reply::registry_error("Channels missing"));
    }
    let mut ks = write(req.keyspace);
    if !add.is_empty() {
        ks.group_add(&group, &add);
    }
    if !remove.is_empty() {
        ks.group_remove(&group, &remove);
    }
    drop(ks);
    Ok(Reply::ok(registry_ok()))
}

/// `group` is the raw path segment.
pub(crate) fn group_delete(req: &Request<'_>, group: &str) -> Result<Reply, Reply> {
    let group = group_name(group)?;
    write(req.keyspace).group_delete(&group);
    Ok(Reply::ok(registry_ok()))
}
