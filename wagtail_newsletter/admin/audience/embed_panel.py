"""The "Embed on another site" panel of a subscription form: the code to paste, ready to copy."""

from wagtail.admin.panels import Panel

from ...audience.embed import embed_codes, embedding_enabled


class EmbedCodePanel(Panel):
    """Read-only: the loader ``<script>`` and a plain ``<iframe>`` for a saved form."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_newsletter/admin/embed_code_panel.html"

        def is_shown(self):
            return self.instance is not None and self.instance.pk is not None

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["enabled"] = embedding_enabled()
            if context["enabled"]:
                context["codes"] = embed_codes(self.request, self.instance)
            return context
