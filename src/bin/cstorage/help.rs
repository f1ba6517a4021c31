//! Usage texts, laid out as containers-storage prints them: the heading on stdout, the option
//! list on stderr (mflag's default output) unless the whole text was asked for with `--help`.

use std::io::Write;

use crate::args::FlagSet;
use crate::commands::{Command, COMMANDS};

/// Where the option list goes.
#[derive(Clone, Copy, PartialEq)]
pub enum OptionsTo {
    Stdout,
    Stderr,
}

/// The tool's usage: the command list, then the global options.
pub fn print_tool_usage(program: &str, flags: &FlagSet, options_to: OptionsTo) {
    let mut text = format!("Usage: {program} command [options [...]]\n\nCommands:\n\n");
    for command in COMMANDS {
        text.push_str(&format!("  {:<30}{}\n", command.names[0], command.usage));
    }
    text.push_str("\nOptions:\n");
    crate::output::stdout_str(&text);
    print_options(flags, options_to);
}

/// A subcommand's usage; `name` is the name it was called by. The note on how cstorage
/// differs from containers-storage is part of `--help` only, not of the usage printed after a
/// wrong command line (scripts may compare that with the Go tool's).
pub fn print_command_usage(
    program: &str,
    name: &str,
    command: &Command,
    flags: &FlagSet,
    with_note: bool,
) {
    let mut text =
        format!("Usage: {program} {name} {}\n\n{}\n", command.options_help, command.usage);
    if with_note && !command.note.is_empty() {
        text.push_str(&format!("\nNote: {}\n", command.note));
    }
    text.push_str("\nOptions:\n");
    crate::output::stdout_str(&text);
    print_options(flags, OptionsTo::Stderr);
}

fn print_options(flags: &FlagSet, to: OptionsTo) {
    let mut buffer = Vec::new();
    // Writing to memory cannot fail.
    flags.write_defaults(&mut buffer).expect("formatting options");
    match to {
        OptionsTo::Stdout => crate::output::stdout_bytes(&buffer),
        OptionsTo::Stderr => {
            let _ = std::io::stderr().lock().write_all(&buffer);
        }
    }
}
