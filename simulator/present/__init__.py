"""What people look at: the figures of a run (:mod:`.plots`), of runs side by side (:mod:`.compare_figures`) and of
the answers (:mod:`.answer_figures`), their shared look (:mod:`.style`), the self-contained HTML report
(:mod:`.report`) and outputs written whole or not at all, never over what vpcsim did not write (:mod:`.folders`)."""
