"""Composing newsletters: page types, email-safe blocks, themes, the email document and its compiled form.

Knows nothing about sending; may import ``audience``, ``conf`` and ``tokens``.
"""
