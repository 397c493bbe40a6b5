//! The supplier's clock: real time plus an offset that only moves forward (through the admin
//! endpoint), so that token expiry and order delivery can be tested without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};

/// Seconds since the Unix epoch on the supplier's clock.
pub type Instant = i64;

const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 86_400;

#[derive(Debug)]
pub struct Clock {
    offset_seconds: AtomicI64,
    zone: FixedOffset,
    format: String,
}

impl Clock {
    /// `utc_offset_seconds` and `format` come from the profile (CST, `%Y-%m-%d %H:%M:%S`).
    pub fn new(utc_offset_seconds: i32, format: &str) -> Clock {
        let zone = FixedOffset::east_opt(utc_offset_seconds)
            .unwrap_or_else(|| FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix()));
        Clock {
            offset_seconds: AtomicI64::new(0),
            zone,
            format: format.to_string(),
        }
    }

    pub fn now(&self) -> Instant {
        Utc::now()
            .timestamp()
            .saturating_add(self.offset_seconds.load(Ordering::Relaxed))
    }

    /// Moves the clock forward, by at most a century per call; a negative amount is ignored
    /// (time never runs backwards).
    pub fn advance(&self, seconds: i64) -> Instant {
        if seconds > 0 {
            let step = seconds.min(MAX_ADVANCE_SECONDS);
            let _ =
                self.offset_seconds
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |offset| {
                        Some(offset.saturating_add(step))
                    });
        }
        self.now()
    }

    fn local(&self, instant: Instant) -> DateTime<FixedOffset> {
        let utc = DateTime::<Utc>::from_timestamp(instant, 0).unwrap_or_default();
        utc.with_timezone(&self.zone)
    }

    /// `yyyy-MM-dd HH:mm:ss` in the profile's zone.
    pub fn format(&self, instant: Instant) -> String {
        self.local(instant).format(&self.format).to_string()
    }

    /// `yyyy-MM-dd` in the profile's zone.
    pub fn format_date(&self, instant: Instant) -> String {
        self.local(instant).format("%Y-%m-%d").to_string()
    }

    /// The profile's timestamp format, read in the profile's zone.
    pub fn parse(&self, text: &str) -> Option<Instant> {
        let naive = NaiveDateTime::parse_from_str(text.trim(), &self.format).ok()?;
        self.zone
            .from_local_datetime(&naive)
            .single()
            .map(|local| local.timestamp())
    }

    /// A `yyyy-MM-dd` date as the instants of its first and last second.
    pub fn parse_day(&self, text: &str) -> Option<(Instant, Instant)> {
        let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
        let start = self
            .zone
            .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
            .single()?
            .timestamp();
        Some((start, start + 86_399))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_china_standard_time() {
        let clock = Clock::new(8 * 3600, "%Y-%m-%d %H:%M:%S");
        // 2026-01-01 00:00:00 UTC is 08:00 in Beijing.
        assert_eq!(clock.format(1_767_225_600), "2026-01-01 08:00:00");
        assert_eq!(clock.parse("2026-01-01 08:00:00"), Some(1_767_225_600));
        assert_eq!(clock.parse("2026-01-01T08:00:00"), None);
        assert_eq!(
            clock.parse_day("2026-01-01"),
            Some((1_767_196_800, 1_767_196_800 + 86_399))
        );
    }

    #[test]
    fn advances_only_forward() {
        let clock = Clock::new(8 * 3600, "%Y-%m-%d %H:%M:%S");
        let before = clock.now();
        assert!(clock.advance(3600) >= before + 3600);
        assert!(clock.advance(-7200) >= before + 3600);
    }
}
