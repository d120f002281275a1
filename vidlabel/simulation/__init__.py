"""Replaying annotation against ground truth: a simulated annotator, quality metrics, learning
curves and baselines, so that a query strategy and batch size can be chosen by measurement.

Qt-free. The loop (`loop.py`) drives a `ReviewSession` through its public API only; the annotator
sees ground truth only for frames the tool shows it (`groundtruth.ShownFrames`).
"""
