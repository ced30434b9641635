"""The deliverability floor (above ``track`` in DESIGN.md's floors): what comes back after sending and whether the
sender can be trusted — sender domains checked in DNS, bounces, complaints and auto-replies read and classified.

``classify.classify(raw_bytes)`` is the entry point of the bounce and complaint classifier: plain functions over
bytes, no database access.
"""
