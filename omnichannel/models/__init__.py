from .ab_tests import ABTestDecision
from .brand import Brand
from .browsing import ProductAlert, ProductEvent, ProductView
from .carts import CartRecovery, CartSnapshot
from .consent import Consent, ConsentEvent, Suppression
from .contacts import Contact
from .costs import ChannelCost
from .flows import Enrollment, Flow, Step, StepContent, StepVariant, StepVisit
from .inbound import InboundMessage, SeenInboundMessage
from .message_days import MessageDay, SummarizedDay
from .messages import DeliveryEvent, Message
from .orders import MarketingResults, TrackedOrder
from .popups import Popup, PopupEvent, PopupFormUse, PopupSignup, PopupVariant
from .privacy import Erasure
from .push import PushSubscription
from .segments import Segment
from .throttles import SenderSlot
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ABTestDecision",
    "Brand",
    "CartRecovery",
    "CartSnapshot",
    "ChannelCost",
    "Consent",
    "ConsentEvent",
    "Contact",
    "DeliveryEvent",
    "Enrollment",
    "Erasure",
    "Flow",
    "InboundMessage",
    "MarketingResults",
    "Message",
    "MessageDay",
    "Popup",
    "PopupEvent",
    "PopupFormUse",
    "PopupSignup",
    "PopupVariant",
    "ProductAlert",
    "ProductEvent",
    "ProductView",
    "PushSubscription",
    "SeenInboundMessage",
    "Segment",
    "SenderSlot",
    "Step",
    "StepContent",
    "StepVariant",
    "StepVisit",
    "SummarizedDay",
    "Suppression",
    "TrackedOrder",
    "WebhookDelivery",
    "WebhookEndpoint",
]
