//! Latency per interface, from the exchanges of a run: p50, p95 and max of the calls that were
//! answered (a call that timed out or never connected says nothing of how fast the supplier
//! answers; it is counted apart).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyRow {
    pub interface: String,
    /// Every call made.
    pub calls: u64,
    /// Calls without an answer (timeout, connection refused or closed, not sent).
    pub unanswered: u64,
    /// Of the answered calls; absent when none was answered.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: Option<u64>,
}

/// Durations gathered as exchanges go by (4 bytes a call).
#[derive(Debug, Default)]
pub struct Latencies {
    by_interface: BTreeMap<String, (Vec<u32>, u64)>,
}

impl Latencies {
    pub fn note(&mut self, exchange: &Exchange) {
        let (answered, unanswered) = self
            .by_interface
            .entry(exchange.interface.clone())
            .or_default();
        if exchange.response.is_some() {
            answered.push(u32::try_from(exchange.duration_ms).unwrap_or(u32::MAX));
        } else {
            *unanswered += 1;
        }
    }

    /// One row per interface, in `order` first (the profile's section order), then the rest
    /// (the harness's own calls: image, admin) by name.
    pub fn rows(&self, order: &[String]) -> Vec<LatencyRow> {
        let rank = |id: &str| order.iter().position(|o| o == id).unwrap_or(usize::MAX);
        let mut rows: Vec<LatencyRow> = self
            .by_interface
            .iter()
            .map(|(interface, (answered, unanswered))| {
                let mut sorted = answered.clone();
                sorted.sort_unstable();
                LatencyRow {
                    interface: interface.clone(),
                    calls: sorted.len() as u64 + unanswered,
                    unanswered: *unanswered,
                    p50_ms: percentile(&sorted, 50),
                    p95_ms: percentile(&sorted, 95),
                    max_ms: sorted.last().map(|&m| u64::from(m)),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            rank(&a.interface)
                .cmp(&rank(&b.interface))
                .then_with(|| a.interface.cmp(&b.interface))
        });
        rows
    }
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[u32], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).map(|&d| u64::from(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let sorted: Vec<u32> = (1..=20).collect();
        assert_eq!(percentile(&sorted, 50), Some(10));
        assert_eq!(percentile(&sorted, 95), Some(19));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }
}
