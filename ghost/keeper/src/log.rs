//! Structured JSON log lines on stderr, in the shape of the chaperone's: `level`, `time`, `msg`, then fields.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// One log line (no newline): `{"level":…,"time":…,"msg":…,<fields>}`.
#[must_use]
pub fn line(level: &str, msg: &str, fields: &[(&str, &str)], now: SystemTime) -> String {
    let mut out = format!("{{\"level\":{},\"time\":{},\"msg\":{}", quote(level), quote(&iso_time(now)), quote(msg));
    for (name, value) in fields {
        let _ = write!(out, ",{}:{}", quote(name), quote(value));
    }
    out.push('}');
    out
}

/// Writes one log line to stderr.
pub fn log(level: &str, msg: &str, fields: &[(&str, &str)]) {
    eprintln!("{}", line(level, msg, fields, SystemTime::now()));
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `now` as `YYYY-MM-DDTHH:MM:SS.mmmZ`, as JavaScript's `Date.toISOString` writes it.
fn iso_time(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_line_with_fields_escaped() {
        let at = UNIX_EPOCH + Duration::new(1_796_083_200, 123_000_000);
        assert_eq!(
            line("warn", "keeper unreachable", &[("error", "no \"such\"\nfile")], at),
            r#"{"level":"warn","time":"2026-12-01T00:00:00.123Z","msg":"keeper unreachable","error":"no \"such\"\nfile"}"#
        );
    }

    #[test]
    fn times_across_leap_years() {
        assert_eq!(iso_time(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(UNIX_EPOCH + Duration::from_hours(264_384)), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(UNIX_EPOCH + Duration::from_secs(1_709_251_199)), "2024-02-29T23:59:59.000Z");
    }
}
