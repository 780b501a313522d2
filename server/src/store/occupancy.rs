//! Occupancy over time, for the dashboard's charts: per channel, the points
//! (time, occupancy) at which its occupancy changed (a join, leave or
//! timeout), for the last [`WINDOW_MS`] of the server's clock, plus the last
//! point before the window, so that a line starts at the right height.
//!
//! Recording costs nothing when nothing changes: only joins, leaves and
//! timeouts record, and a point is a slot in a ring buffer that grows to the
//! channel's busiest ten minutes, then is reused. Changes within the same
//! millisecond share one point (the last occupancy wins), and a channel keeps
//! at most [`MAX_POINTS`] (the oldest go first).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::json::write_str;

/// How far back the history goes (clock time): ten minutes.
pub(crate) const WINDOW_MS: u64 = 10 * 60 * 1000;

/// Most points kept per channel.
pub(crate) const MAX_POINTS: usize = 2_000;

/// The occupancy history of one keyspace's channels.
#[derive(Debug, Default)]
pub(crate) struct OccupancyHistory {
    /// Channel -> (time_ms, occupancy), oldest first; names share the keyspace's `Arc`s.
    channels: HashMap<Arc<str>, VecDeque<(u64, u32)>>,
}

impl OccupancyHistory {
    /// Notes that `channel` has `occupancy` occupants from `now` on.
    pub(crate) fn record(&mut self, channel: &Arc<str>, now: u64, occupancy: usize) {
        let occupancy = u32::try_from(occupancy).unwrap_or(u32::MAX);
        if !self.channels.contains_key(&**channel) {
            self.channels.insert(Arc::clone(channel), VecDeque::new());
        }
        let points = self.channels.get_mut(&**channel).expect("inserted above");
        match points.back_mut() {
            // Same millisecond (or a clock that went back): one point.
            Some(last) if last.0 >= now => last.1 = occupancy,
            _ => {
                if points.len() == MAX_POINTS {
                    points.pop_front();
                }
                points.push_back((now, occupancy));
            }
        }
        drop_before(points, now.saturating_sub(WINDOW_MS));
    }

    /// Forgets what is older than the window at `now`: points before the
    /// last one before it, and channels empty since before it.
    pub(crate) fn prune(&mut self, now: u64) {
        let start = now.saturating_sub(WINDOW_MS);
        self.channels.retain(|_, points| {
            drop_before(points, start);
            !matches!(points.back(), Some(&(at, 0)) if at < start) && !points.is_empty()
        });
    }

    /// How many channels have a history.
    #[cfg(test)]
    pub(crate) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// The points of the window at `now` (from the last one before it on)
    /// of each channel that had anyone in it then, by channel name.
    pub(crate) fn window(&self, now: u64) -> Vec<(&str, Vec<(u64, u32)>)> {
        let start = now.saturating_sub(WINDOW_MS);
        let mut out = Vec::new();
        for (name, points) in &self.channels {
            let first = points.partition_point(|&(at, _)| at <= start).saturating_sub(1);
            let window: Vec<(u64, u32)> = points.range(first..).copied().collect();
            if window.iter().any(|&(_, occupancy)| occupancy > 0) {
                out.push((&**name, window));
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// `{"window_ms":…,"now_ms":…,"channels":{"lobby":[[t_ms,occupancy],…],…}}`.
    pub(crate) fn to_json(&self, now: u64) -> String {
        let mut body = format!("{{\"window_ms\":{WINDOW_MS},\"now_ms\":{now},\"channels\":{{");
        for (i, (name, points)) in self.window(now).into_iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            write_str(&mut body, name);
            body.push_str(":[");
            for (j, (at, occupancy)) in points.iter().enumerate() {
                if j > 0 {
                    body.push(',');
                }
                body.push_str(&format!("[{at},{occupancy}]"));
            }
            body.push(']');
        }
        body.push_str("}}");
        body
    }
}

/// Drops the points before the last one at or before `start`.
fn drop_before(points: &mut VecDeque<(u64, u32)>, start: u64) {
    while points.len() > 1 && points[1].0 <= start {
        points.pop_front();
    }
}
