"""Answer quality: QA data sets read into items, graders (SQuAD/Search-R1 normalization,
exact, contains, F1), and the statistics a run reports (Wilson interval, McNemar's exact
test). Pure: no model, no runtime; ``runtime/evaluation.py`` runs the questions."""
