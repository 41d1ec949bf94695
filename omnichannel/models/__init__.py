from .carts import CartSnapshot
from .consent import Consent, ConsentEvent, Suppression
from .contacts import Contact
from .orders import TrackedOrder
from .popups import Popup, PopupEvent, PopupSignup, PopupVariant
from .push import PushSubscription

__all__ = [
    "CartSnapshot",
    "Consent",
    "ConsentEvent",
    "Contact",
    "Popup",
    "PopupEvent",
    "PopupSignup",
    "PopupVariant",
    "PushSubscription",
    "Suppression",
    "TrackedOrder",
]
