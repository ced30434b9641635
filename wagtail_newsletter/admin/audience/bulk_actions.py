"""Bulk actions of the subscribers listing, each with a confirmation step.

They call the set-based functions of ``audience.services`` with the manager as actor, so each
status change lands in the subscriber's history. ``SubscriberDeleteBulkAction`` replaces Wagtail's
hard delete for subscribers with our soft delete.
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.snippets.bulk_actions.snippet_bulk_action import SnippetBulkAction

from ...audience import services
from ...audience.models import Group, Subscriber
from ...conf import newsletter_settings
from .filters import filtered_subscribers


class GroupForm(forms.Form):
    group = forms.ModelChoiceField(label=_("Group"), queryset=Group.objects.all())


class SubscriberBulkAction(SnippetBulkAction):
    models = [Subscriber]
    template_name = "wagtail_newsletter/admin/bulk_actions/confirm.html"
    #: The model permission a user needs on the subscribers ("change" or "delete").
    permission = "change"
    heading = ""
    question = ""
    explanation = ""
    button_label = _("Yes, continue")

    def get_all_objects_in_listing_query(self, parent_id):
        # "Select all in listing" sends the listing's filters and search along: honour them.
        return filtered_subscribers(self.request).values_list("pk", flat=True)

    def check_perm(self, obj):
        return self.permission_policy.user_has_permission(self.request.user, self.permission)

    def get_execution_context(self):
        context = {**super().get_execution_context(), "actor": self.request.user}
        if self.cleaned_form is not None:
            context.update(self.cleaned_form.cleaned_data)
        return context

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            heading=self.heading or self.display_name,
            question=self.question,
            explanation=self.explanation,
            action_button_text=self.button_label,
            action_button_class="serious" if "serious" in self.classes else "",
            has_form_fields=bool(self.form_class.base_fields),
        )
        return context

    @staticmethod
    def ids(objects):
        return [obj.pk for obj in objects]

    def get_success_message(self, num_parent_objects, num_child_objects):
        return self.success_message(num_parent_objects) % {"count": num_parent_objects}


class AddToGroupBulkAction(SubscriberBulkAction):
    display_name = _("Add to group")
    action_type = "add_to_group"
    aria_label = _("Add the selected subscribers to a group")
    action_priority = 10
    form_class = GroupForm
    question = _("Add these subscribers to the group below?")
    button_label = _("Yes, add")

    @classmethod
    def execute_action(cls, objects, group=None, **kwargs):
        return services.add_to_group(cls.ids(objects), group), 0

    def success_message(self, count):
        return ngettext("%(count)d subscriber added to the group.", "%(count)d subscribers added to the group.", count)


class RemoveFromGroupBulkAction(SubscriberBulkAction):
    display_name = _("Remove from group")
    action_type = "remove_from_group"
    aria_label = _("Remove the selected subscribers from a group")
    action_priority = 20
    form_class = GroupForm
    question = _("Remove these subscribers from the group below?")
    button_label = _("Yes, remove")

    @classmethod
    def execute_action(cls, objects, group=None, **kwargs):
        return services.remove_from_group(cls.ids(objects), group), 0

    def success_message(self, count):
        return ngettext(
            "%(count)d subscriber removed from the group.", "%(count)d subscribers removed from the group.", count
        )


class UnsubscribeBulkAction(SubscriberBulkAction):
    display_name = _("Unsubscribe")
    action_type = "unsubscribe"
    aria_label = _("Unsubscribe the selected subscribers")
    action_priority = 30
    question = _("Unsubscribe these subscribers?")
    explanation = _(
        "They receive no more newsletters and are not emailed about it. They stay in the listing "
        "(status 'unsubscribed') and can be re-subscribed manually; an import never re-subscribes them."
    )
    button_label = _("Yes, unsubscribe")

    @classmethod
    def execute_action(cls, objects, actor=None, **kwargs):
        return services.unsubscribe(cls.ids(objects), actor=actor), 0

    def success_message(self, count):
        return ngettext("%(count)d subscriber unsubscribed.", "%(count)d subscribers unsubscribed.", count)


class ResubscribeBulkAction(SubscriberBulkAction):
    display_name = _("Re-subscribe")
    action_type = "resubscribe"
    aria_label = _("Re-subscribe the selected subscribers")
    action_priority = 40
    question = _("Re-subscribe these subscribers?")
    explanation = _(
        "Only do this when these people asked to receive the newsletter again. They are not emailed; "
        "their first subscription date is kept."
    )
    button_label = _("Yes, re-subscribe")

    @classmethod
    def execute_action(cls, objects, actor=None, **kwargs):
        return services.resubscribe(cls.ids(objects), actor=actor), 0

    def success_message(self, count):
        return ngettext("%(count)d subscriber re-subscribed.", "%(count)d subscribers re-subscribed.", count)


class SubscriberDeleteBulkAction(SubscriberBulkAction):
    display_name = _("Delete")
    action_type = "delete"  # replaces Wagtail's hard delete for subscribers
    aria_label = _("Delete the selected subscribers")
    action_priority = 50
    classes = {"serious"}
    permission = "delete"
    question = _("Delete these subscribers?")
    explanation = _(
        "They disappear from lists, search and sends. If the same address subscribes or is imported "
        "again, its earlier history comes back."
    )
    button_label = _("Yes, delete")

    @classmethod
    def execute_action(cls, objects, actor=None, **kwargs):
        return services.delete_subscribers(cls.ids(objects), actor=actor), 0

    def success_message(self, count):
        return ngettext("%(count)d subscriber deleted.", "%(count)d subscribers deleted.", count)


class ForgetBulkAction(SubscriberBulkAction):
    display_name = _("Forget (erase)")
    action_type = "forget"
    aria_label = _("Erase the selected subscribers' data")
    action_priority = 60
    classes = {"serious"}
    permission = "delete"
    question = _("Forget these subscribers?")
    button_label = _("Yes, forget them")

    @property
    def explanation(self):
        days = newsletter_settings.FORGET_GRACE_DAYS
        return ngettext(
            "Use this for a request to erase personal data (GDPR). They are deleted now; after %(days)d day "
            "their address, names, custom fields, consents' details and history are erased for good and cannot "
            "be restored. Only a one-way hash of the address is kept, so that it is never mailed or imported "
            "again by mistake.",
            "Use this for a request to erase personal data (GDPR). They are deleted now; after %(days)d days "
            "their address, names, custom fields, consents' details and history are erased for good and cannot "
            "be restored. Only a one-way hash of the address is kept, so that it is never mailed or imported "
            "again by mistake.",
            days,
        ) % {"days": days}

    @classmethod
    def execute_action(cls, objects, actor=None, **kwargs):
        return services.forget_subscribers(cls.ids(objects), actor=actor), 0

    def success_message(self, count):
        return ngettext("%(count)d subscriber will be erased.", "%(count)d subscribers will be erased.", count)


SUBSCRIBER_BULK_ACTIONS = [
    AddToGroupBulkAction,
    RemoveFromGroupBulkAction,
    UnsubscribeBulkAction,
    ResubscribeBulkAction,
    SubscriberDeleteBulkAction,
    ForgetBulkAction,
]
