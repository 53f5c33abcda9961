"""
OpenLineage for every task of this provider: the platform run, its pipeline, and the datasets it reads
and writes, reported to the openlineage provider when that is installed (extra ``[openlineage]``).

Light on purpose: nothing here imports openlineage; :mod:`.core` imports it only while building the
facets, and each platform's facts are in a module of its own (``lineage/<platform>.py``).
"""
