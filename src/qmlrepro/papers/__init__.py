"""One subpackage per reproduced paper. Shared code finds them here and never names them.

A paper subpackage may provide ``config`` (``SCHEMAS`` for Hydra), ``experiment`` (an
:class:`qmlrepro.experiment.Experiment`) and ``report`` (registers a report section).
"""

import importlib.util
import pkgutil


def paper_ids() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def paper_modules(submodule: str) -> list[str]:
    """Dotted names of ``qmlrepro.papers.<id>.<submodule>`` for every paper that has one."""
    names = []
    for pid in paper_ids():
        name = f"{__name__}.{pid}.{submodule}"
        if importlib.util.find_spec(name) is not None:
            names.append(name)
    return names
