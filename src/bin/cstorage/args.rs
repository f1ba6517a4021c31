//! A small flag parser that follows the conventions of Docker's `mflag` package, which
//! containers-storage uses, closely enough that command lines behave the same:
//!
//! * a flag has several names; long names are declared with a leading `-` (`"-graph"`) and are
//!   written `--graph`, short names (`"g"`) are written `-g`;
//! * `--name=value`, `--name value`, `-n value`; boolean flags take no value unless written
//!   `-j=false`; list flags (`-n`, `--storage-opt`) append on every use;
//! * single letters can be grouped (`-jt`); parsing stops at the first argument that is not a
//!   flag, at `-` alone, or after `--`;
//! * `-h`, `-help` and `--help` ask for the usage text when no flag of that name exists;
//! * names declared with a leading `#` still work but are deprecated and hidden from the help.
//!
//! The parser never prints; it returns what the caller should print, so the command-line
//! front end (main.rs) decides where each message goes, as the Go tool does.

use std::io::Write;

/// What a flag holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

impl Value {
    /// The text Go's flag values print for themselves (used for help defaults).
    fn go_string(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Text(s) => s.clone(),
            Value::List(items) => format!("[{}]", items.join(" ")),
        }
    }
}

#[derive(Debug, Clone)]
struct Flag {
    /// As declared: `"-graph"`, `"g"`, `"#help"`.
    names: Vec<&'static str>,
    usage: &'static str,
    value: Value,
    /// The default, as shown by `--help`.
    default_text: String,
}

/// Why parsing stopped early.
#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// `-h`/`--help` was given and the set has no such flag: print the usage.
    HelpRequested,
    /// A malformed or unknown flag; the message is mflag's.
    Invalid(String),
}

#[derive(Debug, Clone, Default)]
pub struct FlagSet {
    flags: Vec<Flag>,
    /// Messages about deprecated spellings that were used; printed to stderr by the caller.
    pub warnings: Vec<String>,
}

impl FlagSet {
    pub fn new() -> Self {
        FlagSet { flags: Vec::new(), warnings: Vec::new() }
    }

    /// Whether a flag with this name (without `#`) is defined.
    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    pub fn bool(&mut self, names: &[&'static str], usage: &'static str) {
        self.define(names, usage, Value::Bool(false));
    }

    pub fn text(&mut self, names: &[&'static str], default: &str, usage: &'static str) {
        self.define(names, usage, Value::Text(default.to_string()));
    }

    pub fn list(&mut self, names: &[&'static str], default: &[String], usage: &'static str) {
        self.define(names, usage, Value::List(default.to_vec()));
    }

    fn define(&mut self, names: &[&'static str], usage: &'static str, value: Value) {
        debug_assert!(
            names.iter().all(|n| self.find(n.trim_start_matches('#')).is_none()),
            "flag redefined: {names:?}"
        );
        let default_text = value.go_string();
        self.flags.push(Flag { names: names.to_vec(), usage, value, default_text });
    }

    /// The flag one of whose names (without a `#` marker) is `name`.
    fn find(&self, name: &str) -> Option<usize> {
        self.flags.iter().position(|f| f.names.iter().any(|n| n.trim_start_matches('#') == name))
    }

    fn value(&self, name: &str) -> &Value {
        let index = self.find(name).unwrap_or_else(|| panic!("flag {name:?} is not defined"));
        &self.flags[index].value
    }

    pub fn get_bool(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    pub fn get_text(&self, name: &str) -> &str {
        match self.value(name) {
            Value::Text(s) => s,
            other => panic!("flag {name:?} is not a text flag: {other:?}"),
        }
    }

    pub fn get_list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::List(items) => items,
            other => panic!("flag {name:?} is not a list flag: {other:?}"),
        }
    }

    /// Parse flags from the front of `args`; returns the arguments left after them.
    pub fn parse(&mut self, args: &[String]) -> Result<Vec<String>, ParseError> {
        let mut rest: Vec<String> = args.to_vec();
        rest.reverse(); // pop() takes the next argument
        loop {
            match self.parse_one(&mut rest)? {
                Step::Parsed => continue,
                Step::Done => break,
                Step::TryLetters(group) => {
                    // "-jt": each letter is a flag of its own; a letter that needs a value takes
                    // the next argument.
                    for letter in group.chars() {
                        rest.push(format!("-{letter}"));
                        match self.parse_one(&mut rest) {
                            Ok(Step::Parsed) => {}
                            _ => {
                                return Err(ParseError::Invalid(format!(
                                    "flag provided but not defined: -{group}"
                                )))
                            }
                        }
                    }
                }
            }
        }
        rest.reverse();
        Ok(rest)
    }

    fn parse_one(&mut self, rest: &mut Vec<String>) -> Result<Step, ParseError> {
        let Some(arg) = rest.last().cloned() else { return Ok(Step::Done) };
        if arg.len() < 2 || !arg.starts_with('-') {
            return Ok(Step::Done);
        }
        if arg == "--" {
            rest.pop();
            return Ok(Step::Done);
        }
        let name = &arg[1..];
        if name.starts_with('=') {
            return Err(ParseError::Invalid(format!("bad flag syntax: {arg}")));
        }
        rest.pop();
        let (name, inline_value) = match name.split_once('=') {
            Some((n, v)) => (n, Some(trim_quotes(v).to_string())),
            None => (name, None),
        };

        let Some(index) = self.find(name) else {
            if matches!(name, "-help" | "help" | "h") {
                return Err(ParseError::HelpRequested);
            }
            if name.starts_with('-') || name.chars().count() == 1 {
                return Err(ParseError::Invalid(format!("flag provided but not defined: -{name}")));
            }
            return Ok(Step::TryLetters(name.to_string()));
        };

        let flag = &mut self.flags[index];
        match &mut flag.value {
            Value::Bool(b) => match inline_value {
                None => *b = true,
                Some(text) => {
                    *b = parse_go_bool(&text).ok_or_else(|| {
                        ParseError::Invalid(format!(
                            "invalid boolean value {text:?} for  -{name}: strconv.ParseBool: parsing {text:?}: invalid syntax"
                        ))
                    })?
                }
            },
            value => {
                let text = match inline_value {
                    Some(v) => v,
                    None => rest.pop().ok_or_else(|| ParseError::Invalid(format!("flag needs an argument: -{name}")))?,
                };
                match value {
                    Value::Text(s) => *s = text,
                    Value::List(items) => items.push(text),
                    Value::Bool(_) => unreachable!("handled above"),
                }
            }
        }
        if flag.names.iter().any(|n| n.strip_prefix('#') == Some(name)) {
            let replacement = flag.names.iter().find(|n| !n.starts_with('#'));
            self.warnings.push(match replacement {
                Some(r) => format!("Warning: '-{name}' is deprecated, it will be replaced by '-{r}' soon. See usage."),
                None => format!("Warning: '-{name}' is deprecated, it will be removed soon. See usage."),
            });
        }
        Ok(Step::Parsed)
    }

    /// The option list of `--help`, laid out as mflag's PrintDefaults does (Go's tabwriter with
    /// minimum width 20 and padding 3), sorted by first name, hidden `#` names left out.
    pub fn write_defaults(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let home = std::env::var("HOME").ok().filter(|h| !h.is_empty() && h != "/");
        let mut rows: Vec<(String, String, &'static str)> = Vec::new();
        for flag in &self.flags {
            let visible: Vec<&str> =
                flag.names.iter().copied().filter(|n| !n.starts_with('#')).collect();
            if visible.is_empty() || flag.usage.is_empty() {
                continue;
            }
            let sort_key = flag.names[0].trim_start_matches('#').to_string();
            let mut default = flag.default_text.clone();
            if let Some(home) = &home {
                if let Some(tail) = default.strip_prefix(home.as_str()) {
                    default = format!("~{tail}");
                }
            }
            let cell = if matches!(default.as_str(), "" | "false" | "0") {
                format!("  -{}", visible.join(", -"))
            } else {
                format!("  -{}={default}", visible.join(", -"))
            };
            rows.push((sort_key, cell, flag.usage));
        }
        rows.sort_by(|(a, ..), (b, ..)| {
            let (a, b) = (a.strip_prefix('-').unwrap_or(a), b.strip_prefix('-').unwrap_or(b));
            a.to_lowercase().cmp(&b.to_lowercase()).then_with(|| a.cmp(b))
        });
        if !self.flags.is_empty() {
            writeln!(out)?;
        }
        let width =
            rows.iter().map(|(_, cell, _)| cell.chars().count() + 3).max().unwrap_or(0).max(20);
        for (_, cell, usage) in rows {
            let pad = width - cell.chars().count();
            writeln!(out, "{cell}{:pad$} {usage}", "")?;
        }
        Ok(())
    }
}

enum Step {
    Parsed,
    Done,
    /// An unknown multi-letter single-dash flag: retry it as grouped letters.
    TryLetters(String),
}

/// Go's strconv.ParseBool.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// mflag strips one pair of matching outer quotes from `--flag="value"`.
fn trim_quotes(text: &str) -> &str {
    for quote in ['"', '\''] {
        if text.len() >= 2 && text.starts_with(quote) && text.ends_with(quote) {
            return &text[1..text.len() - 1];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn sample() -> FlagSet {
        let mut f = FlagSet::new();
        f.text(&["-graph", "g"], "", "Root of the storage tree");
        f.list(&["-name", "n"], &[], "Layer name");
        f.bool(&["-json", "j"], "Prefer JSON output");
        f.bool(&["-tree", "t"], "Use a tree");
        f
    }

    #[test]
    fn long_short_inline_and_grouped_flags() {
        let mut f = sample();
        let rest = f
            .parse(&strings(&[
                "--graph=/a",
                "-n",
                "x",
                "--name",
                "y",
                "-jt",
                "-g",
                "/b",
                "arg",
                "-j",
            ]))
            .unwrap();
        assert_eq!(rest, strings(&["arg", "-j"]));
        assert_eq!(f.get_text("-graph"), "/b");
        assert_eq!(f.get_list("n"), ["x", "y"]);
        assert!(f.get_bool("j") && f.get_bool("t"));
    }

    #[test]
    fn grouped_letters_take_the_next_argument_as_a_value() {
        let mut f = sample();
        let rest = f.parse(&strings(&["-jn", "name", "rest"])).unwrap();
        assert_eq!(rest, strings(&["rest"]));
        assert_eq!(f.get_list("n"), ["name"]);
    }

    #[test]
    fn errors_use_mflag_wording() {
        let mut f = sample();
        assert_eq!(
            f.parse(&strings(&["--bogus"])),
            Err(ParseError::Invalid("flag provided but not defined: --bogus".into()))
        );
        assert_eq!(
            f.parse(&strings(&["-x"])),
            Err(ParseError::Invalid("flag provided but not defined: -x".into()))
        );
        assert_eq!(
            f.parse(&strings(&["-jx"])),
            Err(ParseError::Invalid("flag provided but not defined: -jx".into()))
        );
        assert_eq!(
            f.parse(&strings(&["-g"])),
            Err(ParseError::Invalid("flag needs an argument: -g".into()))
        );
        assert_eq!(f.parse(&strings(&["--help"])), Err(ParseError::HelpRequested));
        assert_eq!(f.parse(&strings(&["-h"])), Err(ParseError::HelpRequested));
        assert!(
            matches!(f.parse(&strings(&["-j=maybe"])), Err(ParseError::Invalid(m)) if m.starts_with("invalid boolean value \"maybe\""))
        );
    }

    #[test]
    fn double_dash_and_lone_dash_end_the_flags() {
        let mut f = sample();
        assert_eq!(f.parse(&strings(&["--", "-j"])).unwrap(), strings(&["-j"]));
        assert_eq!(f.parse(&strings(&["-", "-j"])).unwrap(), strings(&["-", "-j"]));
        assert!(!f.get_bool("j"));
    }

    #[test]
    fn defaults_are_laid_out_like_go_tabwriter() {
        let mut f = sample();
        f.bool(&["#help", "-help"], "Print usage");
        let mut out = Vec::new();
        f.write_defaults(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "\n  --graph, -g        Root of the storage tree\n  --help             Print usage\n  --json, -j         Prefer JSON output\n  --name, -n=[]      Layer name\n  --tree, -t         Use a tree\n"
        );
    }

    #[test]
    fn deprecated_names_work_and_warn() {
        let mut f = sample();
        f.bool(&["#help", "-help"], "Print usage");
        f.parse(&strings(&["-help"])).unwrap();
        assert!(f.get_bool("-help"));
        assert_eq!(
            f.warnings,
            ["Warning: '-help' is deprecated, it will be replaced by '--help' soon. See usage."]
        );
    }
}
