from .carts import CartSnapshot
from .consent import Consent, ConsentEvent, Suppression
from .contacts import Contact
from .costs import ChannelCost
from .inbound import InboundMessage
from .messages import DeliveryEvent, Message
from .orders import TrackedOrder
from .push import PushSubscription
from .throttles import SenderSlot

__all__ = [
    "CartSnapshot",
    "ChannelCost",
    "Consent",
    "ConsentEvent",
    "Contact",
    "DeliveryEvent",
    "InboundMessage",
    "Message",
    "PushSubscription",
    "SenderSlot",
    "Suppression",
    "TrackedOrder",
]
