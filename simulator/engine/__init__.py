"""The simulation engine: the model's rules (:mod:`.model`), the network and its two platforms (:mod:`.network`,
:mod:`.platforms`), the limits each written once (:mod:`.limits`), the event loop (:mod:`.loop`), the merged arrival
stream (:mod:`.merge`), the random streams (:mod:`.streams`) and the recorder of what happened (:mod:`.recorder`,
:mod:`.histogram`). No pandas and no I/O here: a finished :class:`Engine` hands its recorder to
:func:`simulator.analysis.results.build_result`.
"""

from __future__ import annotations

from .model import Engine, simulate_once
from .streams import sampler, stream

__all__ = ["Engine", "simulate_once", "stream", "sampler"]
