"""Steps: ladders of small, reversible experiments, their debriefs and the shared log."""
