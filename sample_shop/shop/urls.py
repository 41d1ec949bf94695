from django.urls import path

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/<slug:slug>/", views.product_detail, name="product_detail"),
    path("cart/", views.cart_detail, name="cart_detail"),
    path("cart/add/<int:product_id>/", views.cart_add, name="cart_add"),
    path("cart/update/<int:product_id>/", views.cart_update, name="cart_update"),
    path("cart/remove/<int:product_id>/", views.cart_remove, name="cart_remove"),
    path("cart/discount/", views.discount_apply, name="discount_apply"),
    path("cart/discount/remove/", views.discount_remove, name="discount_remove"),
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/payment/", views.checkout_payment, name="checkout_payment"),
    path("orders/<uuid:order_uuid>/", views.order_detail, name="order_detail"),
    path("account/", views.account, name="account"),
]
