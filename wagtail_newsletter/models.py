"""Models of wagtail_newsletter, importable from here whatever the internal layout."""

from .api.rest.models import ApiKey, IdempotentResponse  # noqa: F401
from .api.webhooks.models import EventType, WebhookCursor, WebhookEndpoint, WebhookMessage  # noqa: F401
from .audience.import_job import ImportJob  # noqa: F401
from .audience.models import (  # noqa: F401
    Consent,
    Field,
    Group,
    Membership,
    Source,
    Status,
    StatusEvent,
    Subscriber,
    Suppression,
)
from .audience.preference_log import PreferenceChange  # noqa: F401
from .audience.subscription_form import SubscriptionForm, SubscriptionFormField  # noqa: F401
from .compose.models import (  # noqa: F401
    AbstractNewsletterPage,
    NewsletterIndexPage,
    NewsletterPage,
    NewsletterPageMixin,
    NewsletterTemplate,
)
from .deliverability.models import InboundMessage  # noqa: F401
from .growth.ab_tests import AbSample, AbTest, AbVariant  # noqa: F401
from .growth.automations.models import (  # noqa: F401
    Automation,
    AutomationStep,
    Enrolment,
    SegmentMember,
    StepCampaign,
)
from .growth.digests import Digest, DigestParentPage, DigestRun  # noqa: F401
from .growth.goals import Conversion, Goal  # noqa: F401
from .growth.segments import CampaignSegment, Segment  # noqa: F401
from .send.models import (  # noqa: F401
    Agent,
    Campaign,
    CampaignStatus,
    CampaignTranslation,
    CreditAccount,
    CreditEntry,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    FollowUp,
    PauseCause,
    QuotaWindow,
    SenderDomain,
)
from .track.models import (  # noqa: F401
    Activity,
    AggregationState,
    CampaignStats,
    LinkActivity,
    LinkStats,
    TimelineBucket,
)
