"""What people look at: the figures (:mod:`.plots`, :mod:`.answer_figures`), the self-contained HTML report
(:mod:`.report`) and results folders, written whole or not at all and read back (:mod:`.folders`)."""
