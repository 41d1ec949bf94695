"""The bridge between the shop and the app.

Shops call the functions re-exported here (or send the signals in ``omnichannel.signals``);
nothing else in the app knows about the shop. Import from this module, not its submodules.
"""

from ..models.carts import CartStatus
from .adapter import (
    CartLine,
    DiscountSpec,
    OrderData,
    Product,
    RestoredCart,
    ShopAdapter,
    get_adapter,
)
from .api import (
    identify,
    notify_back_in_stock,
    notify_price_drop,
    track_cart,
    track_order,
    track_order_status,
    track_product_view,
    track_signup,
)

__all__ = [
    "CartLine",
    "CartStatus",
    "DiscountSpec",
    "OrderData",
    "Product",
    "RestoredCart",
    "ShopAdapter",
    "get_adapter",
    "identify",
    "notify_back_in_stock",
    "notify_price_drop",
    "track_cart",
    "track_order",
    "track_order_status",
    "track_product_view",
    "track_signup",
]
