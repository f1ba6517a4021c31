"""What Store.check found, as plain Python values copied out of the library's report; the
report itself stays attached (Store.repair needs it) and is freed with the value."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ._native import ffi, lib, pystr, take_str
from .errors import check


class CheckSection(enum.IntEnum):
    """Which kind of record a part of a CheckReport is about."""
    LAYERS = lib.CS_CHECK_SECTION_LAYERS
    READ_ONLY_LAYERS = lib.CS_CHECK_SECTION_READ_ONLY_LAYERS  # additional image stores; never repaired
    IMAGES = lib.CS_CHECK_SECTION_IMAGES
    READ_ONLY_IMAGES = lib.CS_CHECK_SECTION_READ_ONLY_IMAGES  # additional image stores; never repaired
    CONTAINERS = lib.CS_CHECK_SECTION_CONTAINERS


# The kinds of problem named as the header names them (CS_CHECK_PROBLEM_LAYER_MISSING is
# CheckProblem.LAYER_MISSING), so that a kind the header appends is here without an edit.
CheckProblem = enum.IntEnum("CheckProblem", {
    name[len("CS_CHECK_PROBLEM_"):]: getattr(lib, name)
    for name in dir(lib) if name.startswith("CS_CHECK_PROBLEM_")})
CheckProblem.__doc__ = "What kind of problem check found (c/storage's error of that kind)."


class CheckStep(enum.IntEnum):
    """A step of a check, in the order the steps run (progress callbacks hear them)."""
    LAYERS = lib.CS_CHECK_STEP_LAYERS  # data items and diffs of the store's layers (the long step)
    LAYER_CONTENTS = lib.CS_CHECK_STEP_LAYER_CONTENTS  # mounted; in a full check, files vs. diffs
    READ_ONLY_LAYERS = lib.CS_CHECK_STEP_READ_ONLY_LAYERS
    IMAGES = lib.CS_CHECK_STEP_IMAGES
    READ_ONLY_IMAGES = lib.CS_CHECK_STEP_READ_ONLY_IMAGES
    CONTAINERS = lib.CS_CHECK_STEP_CONTAINERS
    UNACCOUNTED_LAYER_DIRS = lib.CS_CHECK_STEP_UNACCOUNTED_LAYER_DIRS  # driver directories no record owns


def step(number: int) -> CheckStep | int:
    """The step the library reports (its number when newer than this binding)."""
    try:
        return CheckStep(number)
    except ValueError:
        return number


@dataclass(frozen=True)
class Problem:
    kind: CheckProblem
    message: str  # as c/storage words it


@dataclass(frozen=True)
class DamagedRecord:
    id: str  # the directory's name for a directory no record owns
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class CheckReport:
    sections: dict[CheckSection, list[DamagedRecord]]  # only the sections with damaged records
    json: str  # as c/storage's `check --json` writes it
    clean: bool
    _report: Any = field(repr=False, compare=False)  # the library's, freed with this value


def _problem(report, section: int, index: int, problem: int) -> Problem:
    kind = lib.cs_check_report_problem_kind(report, section, index, problem)
    try:
        kind = CheckProblem(kind)
    except ValueError:  # a kind newer than this header: keep its number
        pass
    return Problem(kind, pystr(lib.cs_check_report_problem_message(report, section, index, problem)))


def _records(report, section: int) -> list[DamagedRecord]:
    return [DamagedRecord(pystr(lib.cs_check_report_id(report, section, i)),
                          [_problem(report, section, i, p)
                           for p in range(lib.cs_check_report_problem_count(report, section, i))])
            for i in range(lib.cs_check_report_count(report, section))]


def take_report(pointer) -> CheckReport:
    """Copy a report the library returned; it is freed when the CheckReport is."""
    report = ffi.gc(pointer, lib.cs_check_report_free)
    sections = {}
    for section in CheckSection:
        records = _records(report, section)
        if records:
            sections[section] = records
    out = ffi.new("char **")
    check(lib.cs_check_report_json, report, out)
    return CheckReport(sections, take_str(out[0]), bool(lib.cs_check_report_is_clean(report)), report)
