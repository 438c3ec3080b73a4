//! The codec's own spelling of a time (see [`time_text`]).

/// A time as the JSON string the parser writes for a record without one
/// (`"2023-09-15T08:00:00.123Z"`: UTC, as many fraction digits as needed
/// of none, 3, 6 or 9). Part of the block format: a stored `timestamp` of
/// exactly this text is not kept but written again from the time, so this
/// must never change (its own code rather than a library's, for that).
pub(super) fn time_text(nanos: i64) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (the proleptic Gregorian
    // calendar's 400-year cycle, as in Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rest / 3600, rest / 60 % 60, rest % 60);
    let mut out = format!("\"{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}");
    if frac != 0 {
        let digits = if frac % 1_000_000 == 0 {
            3
        } else if frac % 1_000 == 0 {
            6
        } else {
            9
        };
        out.push('.');
        out.push_str(&format!("{frac:09}")[..digits]);
    }
    out.push_str("Z\"");
    out
}
