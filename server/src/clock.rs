//! Time as the kitchen reads it: instants are stored as Unix milliseconds and shown in the
//! configured time zone in the contract's `yyyy-MM-dd HH:mm` format.

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// Formats instants in the kitchen's time zone.
#[derive(Clone, Copy, Debug)]
pub struct KitchenClock {
    zone: Tz,
}

impl KitchenClock {
    /// A clock for the given IANA zone.
    pub fn new(zone: Tz) -> Self {
        KitchenClock { zone }
    }

    /// Its time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The current instant in Unix milliseconds.
    pub fn now_millis(&self) -> i64 {
        Utc::now().timestamp_millis()
    }

    /// `yyyy-MM-dd HH:mm` of an instant in Unix milliseconds.
    pub fn format(&self, unix_millis: i64) -> String {
        match self.zone.timestamp_millis_opt(unix_millis).single() {
            Some(local) => local.format("%Y-%m-%d %H:%M").to_string(),
            // Only an instant outside chrono's range (±262,000 years) gets here.
            None => String::new(),
        }
    }

    /// `yyyy-MM-dd HH:mm` of now.
    pub fn now_formatted(&self) -> String {
        self.format(self.now_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_the_kitchen_time_zone() {
        // 2026-03-27 09:15 UTC is 10:15 in Copenhagen (CET, before the switch to summer time).
        let instant = Utc.with_ymd_and_hms(2026, 3, 27, 9, 15, 42).unwrap().timestamp_millis();
        assert_eq!(KitchenClock::new(chrono_tz::UTC).format(instant), "2026-03-27 09:15");
        assert_eq!(KitchenClock::new(chrono_tz::Europe::Copenhagen).format(instant), "2026-03-27 10:15");
    }
}
