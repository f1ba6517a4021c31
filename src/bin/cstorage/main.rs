//! `cstorage`: the command-line tool of libcstorage, a drop-in for Debian's `containers-storage`
//! (Go c/storage 1.43) with the same subcommands, flags, output and exit codes.
//!
//! This file is the front end: global flags, the subcommand and its flags, argument counts,
//! opening the store, then the subcommand's action. The actions live in one module per group
//! of subcommands and only call `cstorage::Store` and print.
//!
//! Imports go one way: this file and `help` -> `commands` (the table) -> the action modules ->
//! `invocation` (what an action receives) and the helpers actions share (`flag_inputs`,
//! `record_output`, `output`, `idmaps`, `progress`, `args`, ...). An action never imports
//! `commands` or another action: what two actions share goes into a helper file.

#[macro_use]
mod output;

mod args;
mod check;
mod commands;
mod config;
mod containers;
mod copy;
mod data;
mod delete;
mod diff;
mod errors;
mod flag_inputs;
mod global;
mod help;
mod idmaps;
mod images;
mod invocation;
mod layers;
mod library_log;
mod metadata;
mod misc;
mod mount;
mod names;
mod oci;
mod progress;
mod record_output;
mod storage_layers;
mod tree;
mod unsupported;

use args::{FlagSet, ParseError};
use commands::Command;
use global::GlobalOptions;
use help::OptionsTo;
use invocation::Invocation;

/// Exit status of a flag the subcommand does not know or `--help` on a subcommand (mflag's
/// ExitOnError status).
const EXIT_FLAG_ERROR: i32 = 125;

fn main() {
    let argv: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    std::process::exit(run(&argv));
}

fn run(argv: &[String]) -> i32 {
    let program = argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cstorage".to_string());

    let mut global = GlobalOptions::default();
    let mut top = FlagSet::new();
    global.add_flags(&mut top);
    if argv.len() < 2 {
        help::print_tool_usage(&program, &top, OptionsTo::Stderr);
        return 1;
    }
    top.bool(&["#help", "-help"], "Print usage");
    let rest = match top.parse(&argv[1..]) {
        Ok(rest) => rest,
        Err(error) => {
            let message = match error {
                ParseError::HelpRequested => {
                    help::print_tool_usage(&program, &top, OptionsTo::Stderr);
                    "flag: help requested".to_string()
                }
                ParseError::Invalid(message) => {
                    errln!("{message}");
                    errln!("See '{program} --help'.");
                    message
                }
            };
            outln!("{message} while parsing arguments (1)");
            help::print_tool_usage(&program, &top, OptionsTo::Stderr);
            return 1;
        }
    };
    for warning in &top.warnings {
        errln!("{warning}");
    }
    if top.get_bool("-help") {
        help::print_tool_usage(&program, &top, OptionsTo::Stdout);
        return 0;
    }
    global.read_flags(&top);
    // Before storage.conf is first read, whose warnings are reported once per process.
    library_log::print_library_messages(global.debug);
    if !global.any_store_setting() {
        global.load_configured_defaults();
    }

    let Some(name) = rest.first() else {
        help::print_tool_usage(&program, &top, OptionsTo::Stderr);
        return 1;
    };
    let Some(command) = Command::named(name) else {
        outln!("{name}: unrecognized command.");
        return 1;
    };
    run_command(&program, name, command, &rest[1..], global)
}

fn run_command(
    program: &str,
    name: &str,
    command: &Command,
    argv: &[String],
    mut global: GlobalOptions,
) -> i32 {
    let mut flags = FlagSet::new();
    global.add_flags(&mut flags);
    (command.add_flags)(&mut flags);
    let args = match flags.parse(argv) {
        Ok(args) => args,
        Err(ParseError::HelpRequested) => {
            help::print_command_usage(program, name, command, &flags, true);
            return EXIT_FLAG_ERROR;
        }
        Err(ParseError::Invalid(message)) => {
            errln!("{message}");
            errln!("See '{program} {name} --help'.");
            return EXIT_FLAG_ERROR;
        }
    };
    for warning in &flags.warnings {
        errln!("{warning}");
    }
    global.read_flags(&flags);

    if command.min_args != 0 && args.len() < command.min_args {
        outln!("{name}: more arguments required.");
        help::print_command_usage(program, name, command, &flags, false);
        return 1;
    }
    if command.max_args.is_some_and(|max| args.len() > max) {
        outln!("{name}: too many arguments ({}).", output::go_list(&args));
        help::print_command_usage(program, name, command, &flags, false);
        return 1;
    }
    if let Some(refusal) = unsupported_global_option(&global) {
        errln!("{refusal}");
        return 1;
    }
    if global.debug {
        for line in global.debug_lines() {
            errln!("{line}");
        }
    }
    library_log::print_library_messages(global.debug); // --debug may follow the command
    let store = match global.open_store() {
        Ok(store) => store,
        Err(error) => {
            outln!("error initializing: {error}");
            return 1;
        }
    };
    let status = (command.action)(&Invocation {
        command: name,
        flags: &flags,
        args: &args,
        store: &store,
        debug: global.debug,
    });
    // The process ends next, and the kernel takes back its memory and descriptors (and with
    // them the lock files' locks) at once: freeing the records one by one first was a fifth of
    // `layers` at 50,000 layers. The store holds no lock and nothing unwritten by now (each
    // call releases its locks and saves before it returns), so dropping it would do nothing else.
    std::mem::forget(store);
    status
}

/// Why a global option given cannot be honoured, if one cannot: refused before the store is
/// opened, so that nothing runs with a setting silently dropped.
fn unsupported_global_option(global: &GlobalOptions) -> Option<String> {
    if global.unshare {
        // c/storage re-executes itself in a new user namespace mapping the caller's subordinate
        // IDs; cstorage has no such re-execution.
        return Some(
            "--unshare: running in a user namespace is not supported by cstorage".to_string(),
        );
    }
    None
}

/// mimalloc for the CLI (see Cargo.toml for why): a `layers` of 50,000 records spends less time
/// allocating and faulting pages in than with glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
