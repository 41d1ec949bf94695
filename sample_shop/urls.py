from django.contrib import admin
from django.urls import include, path

from sample_shop.shop import views as shop_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("omnichannel/", include("omnichannel.urls")),
    path("accounts/signup/", shop_views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("sample_shop.shop.urls")),
]
