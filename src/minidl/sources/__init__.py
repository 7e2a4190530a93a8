"""The data sources: each module is one kind of data a run can train on, behind one protocol.

A source owns its options (its part of the run's config, with their checks), loads its splits into
loaders, says what a checkpoint records about its data, and whether a recorded run's data is the
same. ``registry.py`` lists them and picks the one a config names.
"""
