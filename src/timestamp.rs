//! Times as Go's encoding/json writes `time.Time`: RFC 3339 with nanoseconds, trailing zeros
//! trimmed, in UTC with "Z". The zero time is "0001-01-01T00:00:00Z" and is always written.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds from 0001-01-01T00:00:00Z (Go's zero time) to the Unix epoch.
const ZERO_TIME_UNIX: i64 = -62_135_596_800;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (UTC); may be negative.
    secs: i64,
    nanos: u32,
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::ZERO
    }
}

impl Timestamp {
    /// Go's zero `time.Time`.
    pub const ZERO: Timestamp = Timestamp { secs: ZERO_TIME_UNIX, nanos: 0 };

    pub fn now() -> Self {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp { secs: d.as_secs() as i64, nanos: d.subsec_nanos() }
    }

    pub fn from_unix_nanos(ns: i64) -> Self {
        Timestamp { secs: ns.div_euclid(1_000_000_000), nanos: ns.rem_euclid(1_000_000_000) as u32 }
    }

    /// Nanoseconds since the Unix epoch (saturating for times far outside i64's range).
    pub fn unix_nanos(&self) -> i64 {
        (self.secs as i128 * 1_000_000_000 + self.nanos as i128)
            .clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    pub fn is_zero(&self) -> bool {
        *self == Timestamp::ZERO
    }

    /// Parse RFC 3339 ("2006-01-02T15:04:05.999999999Z07:00"), any offset.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !(b[10] == b'T' || b[10] == b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || min > 59
            || sec > 60
        {
            return None;
        }
        let mut i = 19;
        let mut nanos: u32 = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + (b[i] - b'0') as u32;
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
                let off = num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60;
                if *sign == b'+' {
                    off
                } else {
                    -off
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86400 + hour * 3600 + min * 60 + sec - offset;
        Some(Timestamp { secs, nanos })
    }
}

impl Timestamp {
    /// The RFC 3339 text into a buffer on the stack, returning its length: `Display` through
    /// `write!` with padded fields was a tenth of encoding a 50,000-layer list. Years outside
    /// 0..=9999 (which Go cannot write either) take the slow path.
    fn format_into(&self, buf: &mut [u8; 30]) -> Option<usize> {
        let days = self.secs.div_euclid(86400);
        let rem = self.secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return None;
        }
        let put = |buf: &mut [u8; 30], at: usize, value: i64, width: usize| {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(buf, 0, y, 4);
        buf[4] = b'-';
        put(buf, 5, m, 2);
        buf[7] = b'-';
        put(buf, 8, d, 2);
        buf[10] = b'T';
        put(buf, 11, rem / 3600, 2);
        buf[13] = b':';
        put(buf, 14, rem % 3600 / 60, 2);
        buf[16] = b':';
        put(buf, 17, rem % 60, 2);
        let mut len = 19;
        if self.nanos != 0 {
            buf[19] = b'.';
            put(buf, 20, self.nanos as i64, 9);
            len = 29;
            while buf[len - 1] == b'0' {
                len -= 1;
            }
        }
        buf[len] = b'Z';
        Some(len + 1)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 30];
        if let Some(len) = self.format_into(&mut buf) {
            // Only ASCII digits and separators were written.
            return f.write_str(std::str::from_utf8(&buf[..len]).expect("ASCII"));
        }
        let days = self.secs.div_euclid(86400);
        let rem = self.secs.rem_euclid(86400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

// Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match self.format_into(&mut buf) {
            Some(len) => s.serialize_str(std::str::from_utf8(&buf[..len]).expect("ASCII")),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).ok_or_else(|| E::custom(format!("invalid time {v:?}")))
            }
        }
        d.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_round_trips_as_go_writes_it() {
        assert_eq!(Timestamp::ZERO.to_string(), "0001-01-01T00:00:00Z");
        assert_eq!(Timestamp::parse("0001-01-01T00:00:00Z"), Some(Timestamp::ZERO));
    }

    #[test]
    fn nanoseconds_are_trimmed_and_offsets_converted_to_utc() {
        let t = Timestamp::parse("2023-05-06T07:08:09.120000000Z").unwrap();
        assert_eq!(t.to_string(), "2023-05-06T07:08:09.12Z");
        let t = Timestamp::parse("2023-05-06T09:08:09.000000001+02:00").unwrap();
        assert_eq!(t.to_string(), "2023-05-06T07:08:09.000000001Z");
        assert_eq!(Timestamp::from_unix_nanos(t.unix_nanos()), t);
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z").unwrap().unix_nanos(), 0);
    }

    #[test]
    fn fast_and_slow_formats_agree_at_the_edges() {
        for (text, expect) in [
            ("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"),
            ("2024-02-29T12:00:00.5Z", "2024-02-29T12:00:00.5Z"),
            ("2024-02-29T12:00:00.000000100Z", "2024-02-29T12:00:00.0000001Z"),
        ] {
            let t = Timestamp::parse(text).unwrap();
            assert_eq!(t.to_string(), expect);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{expect}\""));
        }
        // A year Go cannot print in four digits still comes out, through the slow path.
        let far = Timestamp::from_unix_nanos(i64::MAX);
        assert_eq!(far.to_string(), "2262-04-11T23:47:16.854775807Z");
        let before_year_zero = Timestamp { secs: ZERO_TIME_UNIX - 400 * 366 * 86400, nanos: 0 };
        assert!(before_year_zero.to_string().starts_with('-'), "{before_year_zero}");
    }

    #[test]
    fn malformed_times_are_rejected() {
        for bad in [
            "",
            "2023-05-06",
            "2023-13-01T00:00:00Z",
            "2023-05-06T07:08:09",
            "2023-05-06T07:08:09.Z",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }
}
