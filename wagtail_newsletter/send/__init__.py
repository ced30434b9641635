"""Sending: the stage that asks ``compose`` for a CompiledEmail and ``audience`` for recipients.

``test_send`` sends a page's latest revision to a few addresses, marked as a test, with inert links.
"""
