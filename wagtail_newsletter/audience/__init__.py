"""Audience: subscribers, groups, custom fields, consent, status history, import/export, forms."""
