//! Success bodies of here_now and state, written by hand in the service's
//! byte layout (docs/PROTOCOL.md §2): compact, keys sorted, non-ASCII escaped.

use crate::json::write_str;
use crate::store::{ChannelOccupancy, HereNowOpts};

pub(crate) fn write_state(body: &mut String, state: Option<&str>) {
    body.push_str(state.unwrap_or("{}"));
}

/// Writes `,"uuids":[…]` (or nothing when uuids are not wanted).
pub(crate) fn write_uuids(body: &mut String, c: &ChannelOccupancy, opts: HereNowOpts) {
    if !opts.include_uuids {
        return;
    }
    body.push_str(",\"uuids\":[");
    for (i, (uuid, state)) in c.page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        if opts.include_state {
            body.push('{');
            if let Some(st) = state {
                body.push_str("\"state\":");
                body.push_str(st);
                body.push(',');
            }
            body.push_str("\"uuid\":");
            write_str(body, uuid);
            body.push('}');
        } else {
            write_str(body, uuid);
        }
    }
    body.push(']');
}

pub(crate) fn here_now_single_body(c: &ChannelOccupancy, opts: HereNowOpts) -> String {
    let mut body =
        format!("{{\"message\":\"OK\",\"occupancy\":{},\"service\":\"Presence\",\"status\":200", c.occupancy);
    write_uuids(&mut body, c, opts);
    body.push('}');
    body
}

pub(crate) fn here_now_multi_body(channels: &[ChannelOccupancy], opts: HereNowOpts) -> String {
    let mut body = String::from("{\"message\":\"OK\",\"payload\":{\"channels\":{");
    let mut total = 0usize;
    for (i, c) in channels.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        total += c.occupancy;
        write_str(&mut body, &c.name);
        body.push_str(&format!(":{{\"occupancy\":{}", c.occupancy));
        write_uuids(&mut body, c, opts);
        body.push('}');
    }
    body.push_str(&format!(
        "}},\"total_channels\":{},\"total_occupancy\":{}}},\"service\":\"Presence\",\"status\":200}}",
        channels.len(),
        total
    ));
    body
}
