"""wagtail_newsletter: a self-hosted newsletter platform for Wagtail."""

__version__ = "0.1.0.dev0"
