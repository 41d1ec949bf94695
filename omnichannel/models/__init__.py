from .carts import CartSnapshot
from .consent import Consent, ConsentEvent, Suppression
from .contacts import Contact
from .orders import TrackedOrder

__all__ = [
    "CartSnapshot",
    "Consent",
    "ConsentEvent",
    "Contact",
    "Suppression",
    "TrackedOrder",
]
