"""The deliverability floor: what comes back after sending (bounces, complaints, auto-replies) and how it is read.

Sits above ``track`` (DESIGN.md's floors). ``classify.classify(raw_bytes)`` is the entry point of the bounce and
complaint classifier: plain functions over bytes, no database access.
"""
