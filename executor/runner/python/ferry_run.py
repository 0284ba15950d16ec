"""Log metrics from a script run by ferry. Dependency-free.

    import ferry_run
    ferry_run.log("loss", 0.25, step=10)
    run = ferry_run.get_context()          # Azure ML style: run.log(name, value)
    run.log("accuracy", 0.91)
    open(os.path.join(ferry_run.outputs_dir(), "model.pt"), "wb")

Each metric is one JSON line {"name", "value", "step", "time"} appended to
$FERRY_METRICS_FILE with a single write() on an O_APPEND descriptor, so lines
from concurrent processes never interleave. Outside ferry (no
$FERRY_METRICS_FILE) metrics are printed to stderr instead.
"""

import json
import os
import sys
import time

__all__ = ["log", "log_list", "outputs_dir", "run_id", "get_context", "Run"]


def _emit(line):
    path = os.environ.get("FERRY_METRICS_FILE")
    if not path:
        sys.stderr.write("ferry_run (offline): " + line)
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def log(name, value, step=None, description=""):
    """Record metric `name` = `value` (a number), optionally at `step`."""
    rec = {"name": str(name), "value": float(value), "time": time.time()}
    if step is not None:
        rec["step"] = int(step)
    _emit(json.dumps(rec) + "\n")


def log_list(name, values, description=""):
    """Record each of `values` under `name`, with steps 0, 1, 2, ..."""
    for i, v in enumerate(values):
        log(name, v, step=i)


def outputs_dir():
    """The directory whose files ferry downloads when the run ends."""
    return os.environ.get("FERRY_OUTPUTS_DIR", "outputs")


def run_id():
    """This run's id, or None outside ferry."""
    return os.environ.get("FERRY_RUN_ID")


class Run(object):
    """The current run, shaped like azureml.core.Run for the common calls."""

    def __init__(self):
        self.id = run_id()
        self.experiment = os.environ.get("FERRY_EXPERIMENT")

    @staticmethod
    def get_context():
        return Run()

    def log(self, name, value, description="", step=None):
        log(name, value, step=step, description=description)

    def log_list(self, name, values, description=""):
        log_list(name, values, description=description)


def get_context():
    """Return the current Run (Azure ML's Run.get_context())."""
    return Run()
