"""Emergency command (应急指挥): incidents, grading, reporting clocks, plans and response levels.

This session holds the pure domain logic only (standard library, no database, no clock):
``classes`` (GB/T 35561-2017 incident types), ``grading`` (Decree 493 art. 3 and city rule
tables), ``clocks`` (Decree 493 reporting deadlines), ``duplicates`` (same event reported twice)
and ``levels`` (response-level proposals, drill and review due dates).
"""
