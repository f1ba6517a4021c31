//! `check`: the store's consistency report, printed as containers-storage 1.57 prints it: per
//! damaged record a heading line and its problems indented by one space, sections in the order
//! layers, read-only layers, images, read-only images, containers; exit 1 with a count of each
//! on stderr when anything is damaged.

use std::time::Duration;

use cstorage::store::{CheckOptions, CheckReport, RepairOptions};

use crate::args::FlagSet;
use crate::invocation::{json_flag, Invocation};
use crate::output;

pub fn add_flags(f: &mut FlagSet) {
    json_flag(f);
    f.text(&["-max", "m"], "24h", "Maximum allowed age for unreferenced layers");
    f.bool(&["-repair", "r"], "Remove damaged images and layers");
    f.bool(&["-force", "f"], "Remove damaged containers");
    f.bool(&["-quick", "q"], "Perform only quick checks");
}

pub fn check(inv: &Invocation) -> i32 {
    // An empty --max keeps c/storage's default (1.57 parses only a non-empty one).
    let max_age = match inv.flags.get_text("m") {
        "" => Ok(CheckOptions::default().unreferenced_layer_max_age),
        text => parse_go_duration(text),
    };
    let max_age = match max_age {
        Ok(age) => age,
        Err(message) => {
            errln!("{message}");
            return 1;
        }
    };
    // --quick skips comparing mounted files with the layers' diffs (c/storage's CheckMost).
    let base = if inv.flags.get_bool("q") { CheckOptions::default() } else { CheckOptions::full() };
    let options = CheckOptions { unreferenced_layer_max_age: max_age, ..base };
    let report = match inv.store.check(&options) {
        Ok(report) => report,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.json() {
        output::json(&report.to_json());
    } else {
        output::stdout_str(&plain_report(&report));
    }
    let force = inv.flags.get_bool("f");
    if !(inv.flags.get_bool("r") || force) {
        if report.is_clean() {
            return 0;
        }
        errln!("{}", counts(&report));
        return 1;
    }
    let outcome = match inv.store.repair(&report, &RepairOptions { remove_containers: force }) {
        Ok(outcome) => outcome,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    if inv.debug {
        for action in &outcome.actions {
            errln!("{}", crate::global::debug_line(action));
        }
    }
    if let Some(first) = outcome.errors.first() {
        if inv.json() {
            output::json(&outcome.errors.iter().map(|_| serde_json::json!({})).collect::<Vec<_>>());
        } else {
            for e in &outcome.errors {
                errln!("{e}");
            }
        }
        errln!("{first}");
        return 1;
    }
    // What repair leaves: additional image stores' damage, and containers unless forced.
    let (ro_layers, ro_images, containers) =
        (report.read_only_layers.len(), report.read_only_images.len(), report.containers.len());
    if ro_layers > 0 || ro_images > 0 || (!force && containers > 0) {
        if force {
            errln!("{ro_layers} read-only layer errors, {ro_images} read-only image errors");
        } else {
            errln!("{ro_layers} read-only layer errors, {ro_images} read-only image errors, {containers} container errors");
        }
        return 1;
    }
    0
}

fn plain_report(report: &CheckReport) -> String {
    let mut text = String::new();
    for (heading, damaged) in [
        ("layer", &report.layers),
        ("read-only layer", &report.read_only_layers),
        ("image", &report.images),
        ("read-only image", &report.read_only_images),
        ("container", &report.containers),
    ] {
        for (id, problems) in damaged.iter() {
            text.push_str(&format!("{heading} {id}:\n"));
            for problem in problems {
                text.push_str(&format!(" {problem}\n"));
            }
        }
    }
    text
}

/// 1.57's closing error.
fn counts(report: &CheckReport) -> String {
    format!(
        "{} layer errors, {} read-only layer errors, {} image errors, {} read-only image errors, {} container errors",
        report.layers.len(),
        report.read_only_layers.len(),
        report.images.len(),
        report.read_only_images.len(),
        report.containers.len()
    )
}

/// Go's time.ParseDuration: an optional sign, then numbers with units ("24h", "1h30m",
/// "1.5h", "300ms"); "0" needs no unit. Negative ages count as zero.
fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {}", output::go_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut seconds = 0f64;
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {}", output::go_quote(text))),
            unit => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    output::go_quote(unit),
                    output::go_quote(text)
                ))
            }
        };
        seconds += value * scale;
        rest = &rest[unit_len..];
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_go_parses_them() {
        assert_eq!(parse_go_duration("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("-5m"), Ok(Duration::ZERO));
        // Seen from 1.57: `check -m bogus` prints this and exits 1.
        assert_eq!(parse_go_duration("bogus"), Err("time: invalid duration \"bogus\"".to_string()));
        assert_eq!(parse_go_duration(""), Err("time: invalid duration \"\"".to_string()));
        assert_eq!(parse_go_duration("5"), Err("time: missing unit in duration \"5\"".to_string()));
        assert_eq!(
            parse_go_duration("5d"),
            Err("time: unknown unit \"d\" in duration \"5d\"".to_string())
        );
    }
}
