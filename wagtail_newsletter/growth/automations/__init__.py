"""Automations: a trigger and a sequence of steps (wait, send a newsletter, add to or remove from a group, go on only
if…, stop) that people go through one by one, each step exactly once.

Public face: ``start_automation(automation, subscribers, occurrence="api")`` (enrol.py) and ``tick(now=None)``
(tick.py, run every minute by django-q2). The models are in ``models.py``; docs/developers/automations.md explains
how to add a trigger from code.
"""
