"""The bench's output: one JSON object per line on stdout; progress notes on stderr."""

import json
import statistics
import sys


def metric(name, value, unit, *, at_most=None, at_least=None, goal=None, **extra):
    """Print one result. `at_most` or `at_least` states the goal; "met" says if it was reached.
    `goal` words it when the bound comes from another line ("rps >= 0.5 x
    signed_in_floor_rps"); `at_most` or `at_least` is then that bound worked out."""
    line = {"metric": name, "value": value, "unit": unit, "goal": None}
    if at_most is not None:
        line["goal"] = f"<= {at_most}"
        line["met"] = value is not None and value <= at_most
    if at_least is not None:
        line["goal"] = f">= {at_least}"
        line["met"] = value is not None and value >= at_least
    if goal is not None:
        line["goal"] = goal
    print(json.dumps({**line, **extra}), flush=True)


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values)


def p95(values):
    """The 95th percentile, interpolated between the measured values."""
    return statistics.quantiles(values, n=20, method="inclusive")[18]


class BenchFailure(Exception):
    """Something the bench needs did not work; the message says what."""
