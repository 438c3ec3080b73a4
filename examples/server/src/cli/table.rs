//! One record as one table row: what `query` and `tail` print without `--json`.
//!
//! Records are arbitrary JSON from arbitrary sources, so nothing in them is
//! trusted for layout: control characters (the newlines of a stack trace, a
//! hostile terminal escape sequence) become spaces, so a record is always one
//! line and cannot drive the terminal; the time is normalised to UTC with
//! milliseconds so the column lines up; long resource ids are cut at a cap;
//! and the message is cut to the terminal's width, or to 100 characters when
//! stdout is not a terminal (piped output stays bounded and greppable; use
//! `--json` for everything).

use console::{measure_text_width, pad_str, truncate_str, Alignment, Style};
use logingest::Timestamp;
use serde_json::Value;

/// Width of the time column: `2023-09-15T08:00:00.000Z`.
const TIME_WIDTH: usize = 24;
/// Between columns.
const GAP: &str = "  ";
/// Widest resource column; longer ids are cut with `…`.
const MAX_RESOURCE: usize = 40;
/// Widest level column.
const MAX_LEVEL: usize = 10;
/// Message width when stdout is not a terminal.
const PIPED_MESSAGE: usize = 100;
/// Narrowest message column on a terminal (narrower terminals wrap).
const MIN_MESSAGE: usize = 20;

/// Column widths, fixed for the whole output so rows line up.
#[derive(Debug, Clone)]
pub struct Table {
    level: usize,
    resource: usize,
    message: usize,
}

impl Table {
    /// Columns wide enough for `records` (within the caps), for output whose
    /// first records are known (`query`).
    pub fn fitting(records: &[Value]) -> Self {
        let widest = |field: &str, min: usize, max: usize| {
            records
                .iter()
                .map(|r| measure_text_width(&clean(&text(r, field))))
                .fold(min, usize::max)
                .min(max)
        };
        Self::with_widths(
            widest("level", 5, MAX_LEVEL),
            widest("resourceId", 8, MAX_RESOURCE),
        )
    }

    /// Columns for records not known yet (`tail`).
    pub fn streaming() -> Self {
        Self::with_widths(5, 30)
    }

    fn with_widths(level: usize, resource: usize) -> Self {
        let fixed = TIME_WIDTH + level + resource + 3 * GAP.len();
        let message = match console::Term::stdout().size_checked() {
            Some((_, columns)) => (columns as usize).saturating_sub(fixed).max(MIN_MESSAGE),
            None => PIPED_MESSAGE,
        };
        Table {
            level,
            resource,
            message,
        }
    }

    /// The header line.
    pub fn header(&self) -> String {
        let line = self.line("TIME", "LEVEL", "RESOURCE", "MESSAGE", &Style::new());
        Style::new().bold().apply_to(line).to_string()
    }

    /// `record` as one line.
    pub fn row(&self, record: &Value) -> String {
        let time = match record.get("timestamp") {
            Some(Value::String(t)) => match Timestamp::parse_rfc3339(t) {
                Ok(ts) => millis(ts),
                Err(_) => clean(t),
            },
            _ => "-".to_owned(),
        };
        let level = clean(&text(record, "level"));
        let style = match level.as_str() {
            "fatal" | "critical" | "error" => Style::new().red(),
            "warn" | "warning" => Style::new().yellow(),
            "info" => Style::new().green(),
            "debug" | "trace" => Style::new().dim(),
            _ => Style::new(),
        };
        self.line(
            &time,
            &level,
            &clean(&text(record, "resourceId")),
            &clean(&text(record, "message")),
            &style,
        )
    }

    fn line(
        &self,
        time: &str,
        level: &str,
        resource: &str,
        message: &str,
        style: &Style,
    ) -> String {
        let cell = |s: &str, width: usize| {
            pad_str(&truncate_str(s, width, "…"), width, Alignment::Left, None).into_owned()
        };
        let line = format!(
            "{time:<TIME_WIDTH$}{GAP}{level}{GAP}{resource}{GAP}{message}",
            level = style.apply_to(cell(level, self.level)),
            resource = cell(resource, self.resource),
            message = truncate_str(message, self.message, "…"),
        );
        line.trim_end().to_owned()
    }
}

/// A field as text: a string as is, another JSON value as its JSON text,
/// a missing field as `-`.
fn text(record: &Value, field: &str) -> String {
    match record.get(field) {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "-".to_owned(),
        Some(other) => other.to_string(),
    }
}

/// `text` with every control character (newline, tab, escape) replaced by a space.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `2023-09-15T08:00:00.000Z`: UTC, always three fractional digits.
fn millis(ts: Timestamp) -> String {
    let full = ts.to_rfc3339();
    let (seconds, fraction) = match full.trim_end_matches('Z').split_once('.') {
        Some((s, f)) => (s.to_owned(), f.to_owned()),
        None => (full.trim_end_matches('Z').to_owned(), String::new()),
    };
    let fraction: String = fraction.chars().chain("000".chars()).take(3).collect();
    format!("{seconds}.{fraction}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn piped() -> Table {
        Table {
            level: 5,
            resource: 12,
            message: PIPED_MESSAGE,
        }
    }

    #[test]
    fn a_row_has_the_four_columns_aligned() {
        let row = piped().row(&json!({
            "timestamp": "2023-09-15T10:00:00.5+02:00",
            "level": "error",
            "resourceId": "server-1234",
            "message": "Failed to connect to DB",
        }));
        let plain = console::strip_ansi_codes(&row).into_owned();
        assert_eq!(
            plain,
            "2023-09-15T08:00:00.500Z  error  server-1234   Failed to connect to DB"
        );
    }

    #[test]
    fn control_characters_and_long_messages_stay_on_one_bounded_line() {
        let message = format!("first\nsecond\x1b[31m{}", "x".repeat(500));
        let row = piped().row(&json!({"level": "info", "message": message}));
        let plain = console::strip_ansi_codes(&row).into_owned();
        assert!(
            !plain.contains('\n') && !plain.contains('\x1b'),
            "{plain:?}"
        );
        assert!(
            plain.starts_with("-                         info   -             first second [31m")
        );
        assert!(plain.ends_with('…'));
        assert_eq!(
            measure_text_width(&plain),
            TIME_WIDTH + 5 + 12 + 6 + PIPED_MESSAGE
        );
    }

    #[test]
    fn times_are_normalised_to_milliseconds() {
        assert_eq!(millis(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(millis(Timestamp(1_234_567)), "1970-01-01T00:00:00.001Z");
    }
}
