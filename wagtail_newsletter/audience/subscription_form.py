"""The SubscriptionForm snippet: what a sign-up form asks, which groups it joins, and the
texts of its three double opt-in steps. Placed on pages by ``blocks.SubscriptionFormBlock``."""

from functools import partial

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.fields import RichTextField
from wagtail.models import Orderable


class SubscriptionFormQuerySet(models.QuerySet):
    def with_counters(self):
        """Annotate ``submissions`` (consents given through the form), ``confirmations`` (those
        confirmed), ``conversion_rate`` (submissions / views) and ``confirmation_rate``
        (confirmations / submissions); rates are floats from 0 to 1, None when undefined."""
        rate = partial(models.ExpressionWrapper, output_field=models.FloatField())
        # Meta.ordering is not applied to GROUP BY queries: keep it explicitly.
        queryset = self if self.query.order_by else self.order_by(*self.model._meta.ordering)
        return queryset.annotate(
            submissions=models.Count("consents"),
            confirmations=models.Count("consents", filter=models.Q(consents__confirmed_at__isnull=False)),
        ).annotate(
            conversion_rate=models.Case(
                models.When(views=0, then=None),
                default=rate(Cast("submissions", models.FloatField()) / Cast("views", models.FloatField())),
            ),
            confirmation_rate=models.Case(
                models.When(submissions=0, then=None),
                default=rate(Cast("confirmations", models.FloatField()) / Cast("submissions", models.FloatField())),
            ),
        )


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))

DEFAULT_CONSENT_TEXT = _(
    "I agree to receive this newsletter by email. I can unsubscribe at any time with the link in every email."
)
DEFAULT_EMAIL_BODY = _(
    "<p>Hello {{ first_name }},</p><p>Please confirm your subscription by clicking the button below. "
    "If you did not ask to subscribe, ignore this email: you will not be added.</p>"
)


class SubscriptionForm(ClusterableModel):
    class LabelStyle(models.TextChoices):
        ABOVE = "above", _("Labels above fields")
        INSIDE = "inside", _("Labels inside fields (placeholders)")

    name = models.CharField(_("name"), max_length=150, help_text=_("Internal name, e.g. 'Home page footer'."))
    title = models.CharField(_("title"), max_length=200, blank=True, help_text=_("Heading shown above the form."))
    introduction = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])
    groups = ParentalManyToManyField(
        "wagtail_newsletter.Group",
        blank=True,
        related_name="subscription_forms",
        verbose_name=_("groups to join"),
        help_text=_("New subscribers join these groups once they confirm."),
    )
    consent_text = models.TextField(
        _("consent text"),
        default=DEFAULT_CONSENT_TEXT,
        help_text=_("Shown beside the checkbox; stored word for word with every subscription."),
    )
    button_label = models.CharField(_("button label"), max_length=60, default=_("Subscribe"))
    label_style = models.CharField(
        _("label style"), max_length=10, choices=LabelStyle.choices, default=LabelStyle.ABOVE
    )
    primary_colour = models.CharField(_("button colour"), max_length=7, default="#1d4ed8", validators=[hex_colour])
    background_colour = models.CharField(
        _("background colour"), max_length=7, default="#f8fafc", validators=[hex_colour]
    )
    text_colour = models.CharField(_("text colour"), max_length=7, default="#0f172a", validators=[hex_colour])
    notify_email = models.EmailField(
        _("notify manager at"),
        blank=True,
        help_text=_("If set, this address gets an email each time someone confirms a subscription."),
    )

    # Step 1: after submitting.
    success_page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("page after submitting"),
        help_text=_("Optional: send visitors to this page instead of showing the text below."),
    )  # fmt: skip
    success_text = RichTextField(
        _("text after submitting"),
        blank=True,
        default=_("<p>Thank you! Check your inbox: we sent you an email to confirm your subscription.</p>"),
    )
    # Step 2: the confirmation email.
    email_subject = models.CharField(
        _("confirmation email subject"), max_length=200, default=_("Please confirm your subscription")
    )
    email_from = models.CharField(
        _("confirmation email sender"),
        max_length=200,
        blank=True,
        help_text=_("E.g. 'Our newsletter <news@example.org>'. Empty: the site's default sender."),
    )
    email_body = RichTextField(
        _("confirmation email body"),
        default=DEFAULT_EMAIL_BODY,
        features=["bold", "italic", "link", "ol", "ul"],
        help_text=_("The confirmation button is added below. Variables: {{ first_name }}, {{ email }}."),
    )
    email_button_label = models.CharField(_("confirmation button label"), max_length=60, default=_("Confirm"))
    # Step 3: after confirming.
    confirmed_page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("page after confirming"),
    )  # fmt: skip
    confirmed_text = RichTextField(
        _("text after confirming"),
        blank=True,
        default=_("<p>You are subscribed. Welcome!</p>"),
    )

    views = models.PositiveBigIntegerField(_("views"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = SubscriptionFormQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscription form")
        verbose_name_plural = _("subscription forms")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def counters(self):
        """The counters of one form as a dict: the same names as ``with_counters()`` annotates."""
        row = (
            type(self)
            .objects.filter(pk=self.pk)
            .with_counters()
            .values("views", "submissions", "confirmations", "conversion_rate", "confirmation_rate")
        )
        return row.get()


class SubscriptionFormField(Orderable):
    """One field shown on a form, besides the email address which every form has."""

    class Builtin(models.TextChoices):
        FIRST_NAME = "first_name", _("First name")
        LAST_NAME = "last_name", _("Last name")
        LANGUAGE = "language", _("Language")

    form = ParentalKey(SubscriptionForm, on_delete=models.CASCADE, related_name="form_fields")
    builtin = models.CharField(_("subscriber field"), max_length=20, choices=Builtin.choices, blank=True)
    custom_field = models.ForeignKey(
        "wagtail_newsletter.Field", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        verbose_name=_("custom field"),
    )  # fmt: skip
    required = models.BooleanField(_("required"), default=False)

    class Meta(Orderable.Meta):
        verbose_name = _("form field")
        verbose_name_plural = _("form fields")

    def clean(self):
        from django.core.exceptions import ValidationError

        if bool(self.builtin) == bool(self.custom_field_id):
            raise ValidationError(_("Choose either a subscriber field or a custom field."))

    @property
    def key(self):
        return self.builtin or self.custom_field.key

    @property
    def label(self):
        return self.get_builtin_display() if self.builtin else self.custom_field.label
