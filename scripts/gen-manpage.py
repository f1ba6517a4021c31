#!/usr/bin/env python3
"""Write the cstorage(1) man page from the command's own help, so the page always says what
the installed binary does: `cstorage --help` gives the commands and global options, and
`cstorage COMMAND --help` each command's usage, description, notes and own options (the global
ones it repeats, with this machine's storage.conf defaults, are left out).

Usage: gen-manpage.py CSTORAGE VERSION > cstorage.1
"""
import os
import re
import subprocess
import sys
import tempfile


def help_of(binary, *args):
    # An empty storage.conf and no STORAGE_* variables: the help must not depend on this machine.
    with tempfile.NamedTemporaryFile(suffix=".conf") as empty:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CONTAINERS_STORAGE_CONF": empty.name}
        # As with containers-storage, a command's --help writes its options to stderr and
        # exits with 125.
        run = subprocess.run([binary, *args, "--help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    if not run.stdout.startswith("Usage: "):
        sys.exit("gen-manpage.py: %s %s --help printed no usage:\n%s" % (binary, " ".join(args), run.stdout))
    return run.stdout


def roff(text):
    """Text safe in a roff line: backslashes escaped, hyphens as minus signs, no leading dot."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def options(lines):
    """(flags, description) for each option line "  --flag, -f=default    Description"."""
    for line in lines:
        match = re.match(r"^  (-\S.*?)\s{2,}(\S.*)$", line)
        if match:
            yield match.group(1), match.group(2)


def flag_names(flags):
    return {f.split("=")[0] for f in re.split(r",\s*", flags)}


def sections(text):
    """Split a help text into its usage line, its paragraphs and its option lines."""
    lines = text.splitlines()
    usage = lines[0][len("Usage: "):] if lines and lines[0].startswith("Usage: ") else ""
    cut = lines.index("Options:") if "Options:" in lines else len(lines)
    paragraphs = [p.strip() for p in "\n".join(lines[1:cut]).split("\n\n") if p.strip()]
    return usage, paragraphs, lines[cut + 1:]


def main():
    binary, version = sys.argv[1], sys.argv[2]
    top = help_of(binary)
    commands_part, _, options_part = top.partition("\nOptions:\n")
    commands = [m.groups() for m in re.finditer(r"^  (\S+)\s{2,}(.*)$", commands_part, re.M)]
    global_options = list(options(options_part.splitlines()))
    global_flags = set().union(*(flag_names(f) for f, _ in global_options))

    out = [
        '.TH CSTORAGE 1 "" "cstorage %s" "User Commands"' % roff(version),
        ".SH NAME",
        "cstorage \\- manage containers/storage stores: layers, images and containers",
        ".SH SYNOPSIS",
        ".B cstorage",
        "[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]",
        ".SH DESCRIPTION",
        "cstorage is libcstorage's command\\-line tool and a drop\\-in for containers\\-storage, the",
        "command of Go's containers/storage: the same commands, flags, output and exit codes, on",
        "the same stores as podman, buildah and skopeo. Global options come before the command and",
        "may be repeated after it. Without \\fB\\-\\-graph\\fR, \\fB\\-\\-run\\fR,",
        "\\fB\\-\\-storage\\-driver\\fR or \\fB\\-\\-storage\\-opt\\fR the store is the one storage.conf",
        "describes.",
        ".SH GLOBAL OPTIONS",
    ]
    for flags, description in global_options:
        out += [".TP", "\\fB%s\\fR" % roff(flags), roff(description)]
    out.append(".SH COMMANDS")
    for name, summary in commands:
        usage, paragraphs, option_lines = sections(help_of(binary, name))
        out += [".SS %s" % roff(name), ".B %s" % roff(usage or "cstorage " + name), ".PP"]
        out += [roff(p.replace("\n", " ")) + "\n.PP" for p in paragraphs or [summary]]
        own = [(f, d) for f, d in options(option_lines) if not flag_names(f) & global_flags]
        for flags, description in own:
            out += [".TP", "\\fB%s\\fR" % roff(flags), roff(description)]
    out += [
        ".SH ENVIRONMENT",
        ".TP", "\\fBCONTAINERS_STORAGE_CONF\\fR",
        "The storage.conf to read instead of /etc/containers/storage.conf.",
        ".TP", "\\fBSTORAGE_DRIVER\\fR, \\fBSTORAGE_OPTS\\fR",
        "The driver and driver options, as with containers\\-storage.",
        ".TP", "\\fBCSTORAGE_COMPAT\\fR",
        "1.43 or 1.57: the containers/storage generation whose bytes cstorage writes where the two differ.",
        ".SH EXIT STATUS",
        "0 on success, 1 on failure, 2 for a usage error, as containers\\-storage.",
        ".SH SEE ALSO",
        "\\fBcontainers\\-storage.conf\\fR(5), \\fBpodman\\fR(1)",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
