"""Answers computed from runs and closed forms: the projected peak (``peak``), prices and cost (``prices``, ``cost``),
the largest load multiplier that still holds (``headroom``) and the smallest subnets that do (``size``)."""
