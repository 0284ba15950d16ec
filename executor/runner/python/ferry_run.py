"""Log metrics from a script run by ferry. Dependency-free.

    import ferry_run
    ferry_run.log("loss", 0.25, step=10)
    run = ferry_run.get_context()          # Azure ML style: run.log(name, value)
    run.log("accuracy", 0.91)
    open(os.path.join(ferry_run.outputs_dir(), "model.pt"), "wb")

Scripts written for Azure ML v1 run unchanged: when the real azureml-core is
not importable, "from azureml.core import Run" and "from azureml.core.run
import Run" give this module's Run (see ferry's sitecustomize.py).

Each metric is one JSON object per line, appended to $FERRY_METRICS_FILE with
a single write() on an O_APPEND descriptor, so lines from concurrent
processes never interleave. Its "kind" says where the value is: "scalar"
(value, or text for a string), "list" (values), "row" (row), "table"
(table), "image" (path, relative to outputs/); "tag" records a run tag.
Outside ferry (no $FERRY_METRICS_FILE) lines are printed to stderr instead.
"""

import json
import math
import os
import shutil
import sys
import time

__all__ = ["log", "log_list", "outputs_dir", "run_id", "get_context", "Run"]


def _emit(rec):
    rec["time"] = time.time()
    line = json.dumps(rec, allow_nan=False, default=str) + "\n"
    path = os.environ.get("FERRY_METRICS_FILE")
    if not path:
        sys.stderr.write("ferry_run (offline): " + line)
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def _json_value(v):
    """A value as JSON can carry it: finite numbers stay, the rest is text."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if hasattr(v, "item"):  # numpy scalars
        try:
            return _json_value(v.item())
        except (TypeError, ValueError):
            pass
    return str(v)


def _record(name, kind, description=""):
    rec = {"name": str(name), "kind": kind}
    if description:
        rec["description"] = str(description)
    return rec


def log(name, value, step=None, description=""):
    """Record one value of series `name`: a number, or a string."""
    rec = _record(name, "scalar", description)
    v = _json_value(value)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        rec["value"] = v
    else:
        rec["text"] = str(value)
    if step is not None:
        rec["step"] = int(step)
    _emit(rec)


def log_list(name, values, description=""):
    """Record `values` (numbers or strings) as one list metric."""
    rec = _record(name, "list", description)
    rec["values"] = [_json_value(v) for v in values]
    _emit(rec)


def log_row(name, description=None, **kwargs):
    """Record one row of table `name`: column=value keyword arguments."""
    rec = _record(name, "row", description)
    rec["row"] = {str(k): _json_value(v) for k, v in kwargs.items()}
    _emit(rec)


def log_table(name, value, description=""):
    """Record table `name`: a dict of column name to list of values."""
    rec = _record(name, "table", description)
    rec["table"] = {str(k): [_json_value(x) for x in v] for k, v in dict(value).items()}
    _emit(rec)


def log_image(name, path=None, plot=None, description=""):
    """Save an image under outputs/images/ and record it.

    path names an image file to copy; plot is a matplotlib pyplot (or
    figure), saved as PNG. Exactly one of them is needed.
    """
    if (path is None) == (plot is None):
        raise ValueError("log_image needs exactly one of path= or plot=")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name)) or "image"
    ext = os.path.splitext(path)[1] if path is not None else ".png"
    rel = "images/" + safe + (ext or ".png")
    dest = os.path.join(outputs_dir(), *rel.split("/"))
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if path is not None:
        shutil.copyfile(path, dest)
    else:
        plot.savefig(dest, format="png")
    rec = _record(name, "image", description)
    rec["path"] = rel
    _emit(rec)


def outputs_dir():
    """The directory whose files ferry downloads when the run ends."""
    return os.environ.get("FERRY_OUTPUTS_DIR", "outputs")


def run_id():
    """This run's id, or None outside ferry."""
    return os.environ.get("FERRY_RUN_ID")


def _read_records():
    """The records of this run's metrics file so far (all processes)."""
    path = os.environ.get("FERRY_METRICS_FILE")
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict) and rec.get("name"):
                out.append(rec)
    return out


class _Experiment(object):
    """The run's experiment, as Run.experiment (only .name)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Experiment(name=%r)" % (self.name,)


class Run(object):
    """The current run, shaped like azureml.core.Run (see the README)."""

    def __init__(self):
        rid = run_id()
        if rid is None:
            import uuid
            rid = "OfflineRun_" + str(uuid.uuid4())
        self.id = rid
        self.experiment = _Experiment(os.environ.get("FERRY_EXPERIMENT") or "offline")
        self.status = "Running"
        self._tags = {}

    def __repr__(self):
        return "Run(id=%r, experiment=%r)" % (self.id, self.experiment.name)

    @staticmethod
    def get_context(allow_offline=True, **kwargs):
        if run_id() is None and not allow_offline:
            raise RuntimeError("not inside a ferry run and allow_offline=False")
        return Run()

    def log(self, name, value, description="", step=None):
        log(name, value, step=step, description=description)

    def log_list(self, name, value, description=""):
        log_list(name, value, description=description)

    def log_row(self, name, description=None, **kwargs):
        log_row(name, description=description, **kwargs)

    def log_table(self, name, value, description=""):
        log_table(name, value, description=description)

    def log_image(self, name, path=None, plot=None, description=""):
        log_image(name, path=path, plot=plot, description=description)

    def tag(self, key, value=None):
        value = "" if value is None else str(value)
        self._tags[str(key)] = value
        rec = _record(key, "tag")
        rec["text"] = value
        _emit(rec)

    def set_tags(self, tags):
        for k, v in dict(tags).items():
            self.tag(k, v)

    def get_tags(self):
        tags = {}
        for rec in _read_records():
            if rec.get("kind") == "tag":
                tags[rec["name"]] = rec.get("text", "")
        tags.update(self._tags)
        return tags

    def get_metrics(self, name=None, recursive=False, run_type=None, populate=False):
        """Metrics logged so far, as Azure ML returns them: a series with
        one value is that value, with more a list; a table is a dict of
        columns; an image is its path under outputs/."""
        out = {}
        for rec in _read_records():
            n, kind = rec["name"], rec.get("kind", "scalar")
            if kind == "tag" or (name is not None and n != name):
                continue
            _merge_metric(out, n, kind, rec)
        return {k: (v[0] if isinstance(v, _Series) and len(v) == 1 else
                    list(v) if isinstance(v, _Series) else v) for k, v in out.items()}

    def upload_file(self, name, path_or_stream):
        """Copy a file (or a readable stream) to outputs/<name>."""
        dest = os.path.join(outputs_dir(), name)
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        if hasattr(path_or_stream, "read"):
            with open(dest, "wb") as f:
                shutil.copyfileobj(path_or_stream, f)
        elif os.path.abspath(path_or_stream) != os.path.abspath(dest):
            shutil.copyfile(path_or_stream, dest)

    def upload_folder(self, name, path):
        """Copy a folder to outputs/<name>."""
        dest = os.path.join(outputs_dir(), name)
        if os.path.abspath(path) != os.path.abspath(dest):
            shutil.copytree(path, dest, dirs_exist_ok=True)

    def complete(self, set_status=True):
        self.status = "Completed"

    def fail(self, error_details=None, error_code=None, _set_status=True):
        self.status = "Failed"
        if error_details is not None:
            sys.stderr.write("run.fail: %s\n" % (error_details,))

    def flush(self, timeout_seconds=300):
        pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.complete()
        else:
            self.fail(exc)
        return False


class _Series(list):
    """The values of a scalar series, while get_metrics collects them."""


def _merge_metric(out, name, kind, rec):
    if kind == "scalar":
        series = out.setdefault(name, _Series())
        series.append(rec["text"] if "text" in rec else rec.get("value"))
    elif kind == "list":
        out[name] = rec.get("values", [])
    elif kind == "row":
        table = out.setdefault(name, {})
        for k, v in rec.get("row", {}).items():
            table.setdefault(k, []).append(v)
    elif kind == "table":
        out[name] = rec.get("table", {})
    elif kind == "image":
        out[name] = rec.get("path")


def get_context(allow_offline=True, **kwargs):
    """Return the current Run (Azure ML's Run.get_context())."""
    return Run.get_context(allow_offline=allow_offline, **kwargs)
