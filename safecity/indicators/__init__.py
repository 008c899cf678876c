"""Plan indicators (规划指标): definitions as data, a safe formula evaluator, progress to target.

Pure logic only (no database, HTTP or clock — callers pass the year); the shipped city sets are
TOML files under ``data/``.  The models, pages, wall and report come later on the kernel.
"""
