"""ferry's start-up hook for every run's interpreter (it is on PYTHONPATH).

It makes Azure ML v1 scripts run unchanged: "from azureml.core import Run"
and "from azureml.core.run import Run" resolve to ferry_run.Run, but only
when no other finder answers, so a real azureml-core installed in the run's
environment always wins. Then it runs the next sitecustomize on sys.path,
if any, which this module shadows (Debian's, a conda environment's).
"""

import importlib.machinery
import sys

# The modules the shim answers for; the last one is a plain module.
_MODULES = ("azureml", "azureml.core", "azureml.core.run")


class _AzureMLFinder(object):
    """A meta path finder placed last on sys.meta_path: asked only after
    every other finder has failed to find one of _MODULES."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in _MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname != "azureml.core.run")

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        import ferry_run

        module.__ferry_shim__ = True
        if module.__name__ != "azureml.core.run":
            module.__path__ = []
        if module.__name__ != "azureml":
            module.Run = ferry_run.Run
            module.__all__ = ["Run"]


def _chain():
    """Run the sitecustomize this file shadows, if there is one. Only a
    stat per sys.path entry: this runs at every interpreter start."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    for d in sys.path:
        f = os.path.join(d or ".", "sitecustomize.py")
        if not os.path.isfile(f) or os.path.abspath(d or ".") == here:
            continue
        import importlib.util

        spec = importlib.util.spec_from_file_location("sitecustomize", f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return


if not any(isinstance(f, _AzureMLFinder) for f in sys.meta_path):
    sys.meta_path.append(_AzureMLFinder())

try:
    _chain()
except Exception as e:  # a broken shadowed hook must not stop the run
    sys.stderr.write("ferry: sitecustomize: %s\n" % (e,))
