"""The alert kinds, their severity, and whether the pool already logs them.

Kept free of Twisted so the configuration can validate `[alerts] kinds`.
`logged` is True where the code that saw the event already writes a log
line at the alert's level: the alert then adds only a debug line about its
delivery instead of saying the same thing twice.
"""
from dataclasses import dataclass

# Least to most severe; [alerts] min_severity names one of them.
SEVERITIES = ("info", "warning", "error", "critical")


@dataclass(frozen=True)
class Kind:
    severity: str
    logged: bool          # the pool logs this at `severity` already
    about: str            # one line for docs/alerts.md and the sample configuration


KINDS = {
    "block.found": Kind("info", True, "the first block candidate of a height"),
    "block.accepted": Kind("info", True, "the node accepted a block"),
    "block.rejected": Kind("warning", True, "the node refused a block (first refusal of a height)"),
    "block.orphaned": Kind("warning", True, "an accepted block left the chain"),
    "payouts.halted": Kind("critical", True, "payouts stopped until an operator resumes them"),
    "payout.stuck": Kind("error", False, "a payout is unmined longer than payout_stuck_after"),
    "node.down": Kind("critical", False, "the node is down longer than node_down_after"),
    "node.lagging": Kind("warning", False, "the node lags longer than node_lagging_after"),
    "node.recovered": Kind("info", True, "the node is connected again after node.down/lagging"),
    "database.unavailable": Kind("error", True, "the share writer cannot write to the database"),
    "database.recovered": Kind("info", True, "the database takes writes again"),
    "stratum.listener_stopped": Kind("critical", False,
                                     "a Stratum port cannot listen or stopped listening"),
}


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)
