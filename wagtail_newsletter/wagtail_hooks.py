"""Registration only: viewsets and menu items live in ``wagtail_newsletter.admin``."""
