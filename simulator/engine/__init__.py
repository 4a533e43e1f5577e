"""The simulation engine: the model's rules (:mod:`.model`), the network and its two platforms (:mod:`.network`,
:mod:`.platforms`), the limits each written once (:mod:`.limits`), the event loop (:mod:`.loop`), the merged arrival
stream (:mod:`.merge`), the random streams (:mod:`.streams`) and the recorder of what happened (:mod:`.recorder`,
:mod:`.histogram`). No pandas and no I/O here: a finished :class:`Engine` hands its recorder to
:func:`simulator.analysis.results.build_result`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Engine", "simulate_once", "stream", "sampler"]

# Imported on first use: the capacity calculator (`vpcsim validate`, `capacity`) needs engine.limits and
# engine.platforms, not the model.
_HOMES = {"Engine": ".model", "simulate_once": ".model", "stream": ".streams", "sampler": ".streams"}

if TYPE_CHECKING:  # pragma: no cover
    from .model import Engine, simulate_once
    from .streams import sampler, stream


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'simulator.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
