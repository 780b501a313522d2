//! `GET /metrics`: the server's counters and gauges in Prometheus' text
//! format (version 0.0.4). Counting is one relaxed atomic add per request
//! and per event; the gauges are read when `/metrics` is.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::events::Action;
use crate::faults::Endpoint;
use crate::state::ServerState;

/// Statuses counted per endpoint: 100..=599 (anything else counts as 599).
const STATUSES: usize = 500;

/// The content type of `/metrics`.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Requests answered, by endpoint and status.
pub(crate) struct RequestCounts(Box<[AtomicU64]>);

impl RequestCounts {
    pub(crate) fn new() -> Self {
        RequestCounts((0..Endpoint::ALL.len() * STATUSES).map(|_| AtomicU64::new(0)).collect())
    }

    fn slot(endpoint: Endpoint, status: u16) -> usize {
        endpoint.index() * STATUSES + usize::from(status.clamp(100, 599) - 100)
    }

    pub(crate) fn count(&self, endpoint: Endpoint, status: u16) {
        self.0[Self::slot(endpoint, status)].fetch_add(1, Ordering::Relaxed);
    }
}

/// The text of `/metrics`.
pub(crate) fn render(server: &ServerState) -> String {
    let mut out = String::new();
    header(&mut out, "presence_requests_total", "counter", "Protocol requests answered, by endpoint and HTTP status.");
    for endpoint in Endpoint::ALL {
        for status in 100..600u16 {
            let n = server.request_counts.0[RequestCounts::slot(endpoint, status)].load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "presence_requests_total{{endpoint=\"{}\",status=\"{status}\"}} {n}",
                    endpoint.as_str()
                );
            }
        }
    }
    header(&mut out, "presence_held_polls", "gauge", "Subscribe polls held right now.");
    let _ = writeln!(out, "presence_held_polls {}", server.held_polls.load(Ordering::SeqCst));
    header(&mut out, "presence_events_total", "counter", "Presence events recorded, by action.");
    for action in Action::ALL {
        let n = server.store.settings.event_counts[action.index()].load(Ordering::Relaxed);
        let _ = writeln!(out, "presence_events_total{{action=\"{}\"}} {n}", action.as_str());
    }
    let (uuids, channels) = server.store.presence_counts(server.clock.now_millis());
    header(&mut out, "presence_present_uuids", "gauge", "Present uuids (each subscribe key counts its own).");
    let _ = writeln!(out, "presence_present_uuids {uuids}");
    header(&mut out, "presence_channels", "gauge", "Channels with at least one occupant, across subscribe keys.");
    let _ = writeln!(out, "presence_channels {channels}");
    header(
        &mut out,
        "presence_faults_injected_total",
        "counter",
        "Faults injected, by rule (its index in the rules in force) and effect.",
    );
    for (rule, effect, n) in server.faults.injected_counts() {
        let _ = writeln!(out, "presence_faults_injected_total{{rule=\"{rule}\",effect=\"{effect}\"}} {n}");
    }
    if let Some(journal) = &server.journal {
        header(&mut out, "presence_store_commits_total", "counter", "Transactions committed to the data directory.");
        let _ = writeln!(out, "presence_store_commits_total {}", journal.commits());
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
