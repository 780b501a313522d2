//! The request log behind `GET /dev/requests`: the last N protocol requests
//! in memory, oldest first. Recording one keeps the raw request target and a
//! few numbers; what the endpoint, uuid and channels were is worked out (and
//! `auth` / `signature` values hidden) only when the log is read.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::faults::Endpoint;
use crate::json::{write_str, write_str_array};
use crate::routing::{Query, Route, route, split_path_names};
use crate::store::lock;

/// One request, as recorded (`seq` 0: the slot is still empty).
struct Entry {
    seq: u64,
    time_ms: u64,
    method: http::Method,
    target: String,
    endpoint: Endpoint,
    status: u16,
    duration_us: u64,
    fault: Option<String>,
}

/// What one finished request leaves in the log.
pub(crate) struct Record<'a> {
    pub(crate) time_ms: u64,
    pub(crate) method: &'a http::Method,
    pub(crate) target: &'a str,
    pub(crate) endpoint: Endpoint,
    pub(crate) status: u16,
    pub(crate) duration_us: u64,
    pub(crate) fault: Option<String>,
}

/// The last `capacity` requests (none kept when it is 0).
///
/// A ring of slots, each behind its own small lock, and an atomic sequence
/// number that picks the slot: requests on different connections record
/// into different slots, so busy servers do not queue on one lock (one lock
/// for the whole log cost here_now up to a fifth of its throughput at 64
/// concurrent requests on 2 cores). Every slot's target buffer is made at
/// start, in one run of the heap, and reused: recording allocates nothing
/// for targets up to [`TARGET_CAPACITY`] bytes (buffers grown one by one as
/// requests came in were scattered among the requests' own allocations and
/// slowed the allocator: ~3 % of a request's instructions).
pub(crate) struct RequestLog {
    /// The sequence number of the next request recorded (the first is 1).
    next_seq: AtomicU64,
    slots: Box<[Mutex<Entry>]>,
}

/// The target bytes each slot has room for from the start (a longer target
/// grows its slot's buffer once).
const TARGET_CAPACITY: usize = 256;

impl RequestLog {
    pub(crate) fn new(capacity: usize) -> Self {
        let empty = || Entry {
            seq: 0,
            time_ms: 0,
            method: http::Method::GET,
            target: String::with_capacity(TARGET_CAPACITY),
            endpoint: Endpoint::Unknown,
            status: 0,
            duration_us: 0,
            fault: None,
        };
        let slots = (0..capacity).map(|_| Mutex::new(empty())).collect();
        RequestLog { next_seq: AtomicU64::new(1), slots }
    }

    pub(crate) fn record(&self, r: Record<'_>) {
        if self.slots.is_empty() {
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let index = usize::try_from(seq % self.slots.len() as u64).unwrap_or_default();
        let mut slot = lock(&self.slots[index]);
        // A slower request may find a newer one already in its slot: the
        // newer stays (the ring keeps the last `capacity`).
        if slot.seq > seq {
            return;
        }
        slot.seq = seq;
        slot.time_ms = r.time_ms;
        slot.method = r.method.clone();
        slot.target.clear();
        slot.target.push_str(r.target);
        slot.endpoint = r.endpoint;
        slot.status = r.status;
        slot.duration_us = r.duration_us;
        slot.fault = r.fault;
    }

    /// `{"capacity":N,"requests":[…]}` with the entries after `after` (a
    /// seq), oldest first.
    pub(crate) fn to_json(&self, after: u64) -> String {
        let mut by_seq: Vec<(u64, String)> = Vec::new();
        for slot in self.slots.iter() {
            let entry = lock(slot);
            if entry.seq > after {
                let mut text = String::new();
                entry.write(&mut text);
                by_seq.push((entry.seq, text));
            }
        }
        by_seq.sort_unstable_by_key(|(seq, _)| *seq);
        let mut out = format!("{{\"capacity\":{},\"requests\":[", self.slots.len());
        for (i, (_, text)) in by_seq.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(text);
        }
        out.push_str("]}");
        out
    }
}

impl Entry {
    fn write(&self, out: &mut String) {
        let (path, raw_query) = self.target.split_once('?').unwrap_or((&self.target, ""));
        let query = Query::parse(raw_query);
        let routed = route(path);
        let channels = routed.as_ref().and_then(Route::channel_segment).map(split_path_names).unwrap_or_default();
        let uuid = match &routed {
            Some(route) => route.subject_uuid(&query),
            None => crate::params::actor_uuid(&query),
        };
        out.push_str(&format!("{{\"seq\":{},\"time_ms\":{},\"method\":", self.seq, self.time_ms));
        write_str(out, self.method.as_str());
        out.push_str(",\"path\":");
        write_str(out, &redact(&self.target, "***"));
        out.push_str(",\"endpoint\":");
        write_str(out, self.endpoint.as_str());
        out.push_str(",\"uuid\":");
        match &uuid {
            Some(uuid) => write_str(out, uuid),
            None => out.push_str("null"),
        }
        out.push_str(",\"channels\":");
        write_str_array(out, channels.iter().map(String::as_str));
        out.push_str(&format!(
            ",\"status\":{},\"duration_ms\":{:.3},\"fault\":",
            self.status,
            self.duration_us as f64 / 1000.0
        ));
        match &self.fault {
            Some(fault) => write_str(out, fault),
            None => out.push_str("null"),
        }
        out.push('}');
    }
}

/// `uri` with the values of its `auth` and `signature` parameters replaced by `mask`.
pub(crate) fn redact(uri: &str, mask: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else { return uri.to_owned() };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key @ ("auth" | "signature"), _)) => format!("{key}={mask}"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(log: &RequestLog, target: &str) {
        log.record(Record {
            time_ms: 5,
            method: &http::Method::GET,
            target,
            endpoint: Endpoint::HereNow,
            status: 200,
            duration_us: 400,
            fault: None,
        });
    }

    #[test]
    fn keeps_the_last_n_and_reads_after_a_seq() {
        let log = RequestLog::new(2);
        for i in 0..3 {
            record(&log, &format!("/v2/presence/sub-key/k/channel/c{i}?uuid=u&auth=A"));
        }
        let all: serde_json::Value = serde_json::from_str(&log.to_json(0)).unwrap();
        let seqs: Vec<u64> = all["requests"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(all["requests"][0]["path"], "/v2/presence/sub-key/k/channel/c1?uuid=u&auth=***");
        assert_eq!(all["requests"][0]["channels"], serde_json::json!(["c1"]));
        assert_eq!(all["requests"][0]["uuid"], "u");
        assert_eq!(all["requests"][0]["duration_ms"], 0.4);
        let after: serde_json::Value = serde_json::from_str(&log.to_json(2)).unwrap();
        assert_eq!(after["requests"].as_array().unwrap().len(), 1);
        let off = RequestLog::new(0);
        record(&off, "/x");
        assert_eq!(off.to_json(0), r#"{"capacity":0,"requests":[]}"#);
    }
}
