//! What an action receives: one run of a subcommand ([`Invocation`]), and the `-j`/`--json`
//! flag that many subcommands share ([`json_flag`] defines it, [`Invocation::json`] reads it).
//!
//! This file sits below the command table and the actions: `commands` builds an `Invocation`
//! and calls an action with it, and actions import only this and the helpers beside it, never
//! `commands` or one another.

use cstorage::Store;

use crate::args::FlagSet;

/// One run of a subcommand, after flags and argument counts were checked and the store opened.
pub struct Invocation<'a> {
    /// The name the command was called by (an alias is reported as typed).
    pub command: &'a str,
    pub flags: &'a FlagSet,
    pub args: &'a [String],
    pub store: &'a Store,
    /// `--debug`: log what the command does to stderr, as the Go tool's logrus lines.
    pub debug: bool,
}

impl Invocation<'_> {
    /// `-j`/`--json`, for commands that have it.
    pub fn json(&self) -> bool {
        self.flags.has("j") && self.flags.get_bool("j")
    }
}

pub fn json_flag(f: &mut FlagSet) {
    f.bool(&["-json", "j"], "Prefer JSON output");
}
