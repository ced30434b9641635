"""Webhook endpoints and their delivery log in the admin (``api.webhooks`` does the work)."""
