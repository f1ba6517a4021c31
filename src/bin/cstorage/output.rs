//! Writing to stdout and stderr the way the Go tool does: plain lines, and JSON as Go's
//! `json.Encoder` writes it (compact, HTML characters escaped, one value per line).
//!
//! Write errors are ignored: a closed pipe (`cstorage layers | head -1`) must not turn into a
//! panic, and there is nobody left to tell.

use std::io::Write;

use serde::Serialize;

/// `outln!`: print a line to stdout.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::stdout_str(&format!("{}\n", format_args!($($arg)*))) };
}

/// `errln!`: print a line to stderr.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::stderr_str(&format!("{}\n", format_args!($($arg)*))) };
}

pub fn stdout_str(text: &str) {
    stdout_bytes(text.as_bytes());
}

pub fn stdout_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

pub fn stderr_str(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// One JSON value and a newline, as `json.NewEncoder(os.Stdout).Encode(v)` prints it.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let mut text = cstorage::gojson::to_string(value);
    text.push('\n');
    stdout_str(&text);
}

/// A Go `[]string` printed with `%v`: `[a b c]`.
pub fn go_list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `%q` for the strings we print (IDs, names, paths): double quotes, with backslash,
/// quote and control characters escaped.
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                quoted.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Arguments in order, each once: the Go tool collects per-argument results in a map, so a
/// repeated argument is reported once.
pub fn unique_args(args: &[String]) -> Vec<&String> {
    let mut seen: Vec<&String> = Vec::with_capacity(args.len());
    for arg in args {
        if !seen.contains(&arg) {
            seen.push(arg);
        }
    }
    seen
}

/// A directory a store call made (get-container-dir and the like): its path on stdout, exit
/// 0; or the error on stderr, exit 1.
pub fn print_dir(dir: cstorage::Result<std::path::PathBuf>) -> i32 {
    match dir {
        Ok(dir) => {
            outln!("{}", dir.display());
            0
        }
        Err(e) => {
            errln!("{e}");
            1
        }
    }
}
