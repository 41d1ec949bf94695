"""The popup builder's aids: colour pickers with a contrast check, a variant duplicated,
the preview beside the fields."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from omnichannel.models import Popup, PopupVariant
from omnichannel.popups.contrast import contrast_ratio, low_contrast, shown
from omnichannel.popups.duplicate import duplicate_variant
from omnichannel.testing.factories import PopupFactory

from .test_admin import VARIANT, form_data

pytestmark = pytest.mark.django_db

LOW = {"text_colour": "#999999"}  # on white: 2.8:1


@pytest.mark.parametrize(
    "first, second, expected",
    [
        ("#000000", "#ffffff", "21.0:1"),
        ("#ffffff", "#ffffff", "1.0:1"),
        ("#1f2328", "#ffffff", "15.7:1"),
        ("#777777", "#ffffff", "4.4:1"),  # 4.48: cut, never shown as a passing 4.5
        ("#767676", "#ffffff", "4.5:1"),  # the lightest grey that passes AA on white
        ("#ffffff", "#1f6f5c", "6.0:1"),  # the default button
    ],
)
def test_contrast_ratio_follows_wcag(first, second, expected):
    assert shown(contrast_ratio(first, second)) == expected
    assert contrast_ratio(first, second) == contrast_ratio(second, first)


def test_low_contrast_names_each_unreadable_pair():
    fine = {"background_colour": "#ffffff", "text_colour": "#1f2328", "accent_colour": "#1f6f5c"}
    assert low_contrast(fine) == []
    low = low_contrast({**fine, "text_colour": "#777777", "accent_colour": "#ffdd00"})
    assert [str(what) for what, _ in low] == [
        "Text on the background",
        "Button label (white) on the button colour",
    ]


def test_colours_are_picked_with_the_browsers_colour_picker(admin_client):
    html = admin_client.get(reverse("admin:omnichannel_popup_add")).content.decode()
    assert 'type="color" name="variants-0-text_colour" value="#1f2328"' in html
    # The confirmation stays out of sight until there is something to confirm.
    assert 'type="hidden" name="variants-0-low_contrast_ok"' in html


def test_low_contrast_blocks_the_first_save_and_offers_to_save_anyway(admin_client):
    url = reverse("admin:omnichannel_popup_add")
    response = admin_client.post(url, form_data(variants=[{**VARIANT, **LOW}]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Text on the background 2.8:1: WCAG AA asks for at least 4.5:1" in html
    assert 'type="checkbox" name="variants-0-low_contrast_ok"' in html
    assert not Popup.objects.exists()

    confirmed = {**VARIANT, **LOW, "low_contrast_ok": "on"}
    response = admin_client.post(url, form_data(variants=[confirmed]))
    assert response.status_code == 302
    assert Popup.objects.get().variants.get().text_colour == "#999999"


def test_colours_saved_before_are_not_questioned_again(admin_client):
    admin_client.post(
        reverse("admin:omnichannel_popup_add"),
        form_data(variants=[{**VARIANT, **LOW, "low_contrast_ok": "on"}]),
    )
    popup = Popup.objects.get()
    variant = popup.variants.get()
    data = form_data(
        {"name": "Renamed", "variants-INITIAL_FORMS": "1", "variants-0-id": str(variant.pk)},
        [{**VARIANT, **LOW, "popup": str(popup.pk)}],
    )
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    assert admin_client.post(url, data).status_code == 302
    # Picking another low contrast is questioned again.
    data["variants-0-text_colour"] = "#aaaaaa"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Text on the background 2.3:1" in response.content.decode()


def test_a_malformed_colour_gets_the_models_error_only(admin_client):
    data = form_data(variants=[{**VARIANT, "text_colour": "grey"}])
    html = admin_client.post(reverse("admin:omnichannel_popup_add"), data).content.decode()
    assert "six hexadecimal digits" in html and "so that everyone can read" not in html


def test_duplicate_copies_content_and_look_without_traffic():
    popup = PopupFactory(variants=[{"name": "Spring", "accent_colour": "#123456", "weight": 3}])
    original = popup.variants.get()
    first, second = duplicate_variant(original), duplicate_variant(original)
    assert (first.name, second.name) == ("Spring (copy)", "Spring (copy 2)")
    assert first.weight == 0 and first.accent_colour == "#123456"
    assert first.headline == original.headline and first.uuid != original.uuid
    assert PopupVariant.objects.get(pk=original.pk).weight == 3


def test_duplicate_keeps_a_long_name_within_its_length():
    popup = PopupFactory(variants=[{"name": "x" * 50}])
    assert duplicate_variant(popup.variants.get()).name == "x" * 43 + " (copy)"


def test_duplicate_button_saves_the_popup_then_adds_the_copy(admin_client):
    admin_client.post(reverse("admin:omnichannel_popup_add"), form_data())
    popup = Popup.objects.get()
    variant = popup.variants.get()
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    assert (
        f'name="_duplicate_variant" value="{variant.pk}"' in admin_client.get(url).content.decode()
    )
    data = form_data(
        {"variants-INITIAL_FORMS": "1", "variants-0-id": str(variant.pk)},
        [{**VARIANT, "headline": "Edited first", "popup": str(popup.pk)}],
    )
    data["_duplicate_variant"] = str(variant.pk)
    response = admin_client.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "“A” duplicated as “A (copy)”, with weight 0" in response.content.decode()
    copy = popup.variants.get(name="A (copy)")
    assert (copy.headline, copy.weight) == ("Edited first", 0)


def test_duplicating_another_popups_variant_only_saves(admin_client):
    admin_client.post(reverse("admin:omnichannel_popup_add"), form_data())
    popup = Popup.objects.get()
    variant = popup.variants.get()
    stranger = PopupFactory().variants.get()
    data = form_data(
        {"variants-INITIAL_FORMS": "1", "variants-0-id": str(variant.pk)},
        [{**VARIANT, "popup": str(popup.pk)}],
    )
    data["_duplicate_variant"] = str(stranger.pk)
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    response = admin_client.post(url, data, follow=True)
    assert "no longer one of its own" in response.content.decode()
    assert PopupVariant.objects.count() == 2


def test_the_preview_sits_beside_the_fields(admin_client):
    html = admin_client.get(reverse("admin:omnichannel_popup_add")).content.decode()
    fields, preview = html.index('class="oc-builder-fields"'), html.index('id="oc-preview"')
    assert fields < html.index('id="variants-group"') < preview
    assert 'data-device="mobile"' in html


def test_the_contrast_is_written_beside_the_pickers_before_any_script_runs(admin_client):
    popup = PopupFactory(variants=[{"text_colour": "#aaaaaa"}])
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    html = admin_client.get(url).content.decode()
    assert (
        'class="oc-contrast-pair oc-contrast-low">Text on the background: 2.3:1, too low: '
        "WCAG AA asks for at least 4.5:1</li>"
    ) in html
    assert (
        'class="oc-contrast-pair">Button label (white) on the button colour: 6.0:1, readable</li>'
    ) in html


def test_staff_who_may_only_look_get_no_duplicate_button(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_popup", "view_popupvariant"])
    )
    client.force_login(viewer)
    popup = PopupFactory()
    response = client.get(reverse("admin:omnichannel_popup_change", args=[popup.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "_duplicate_variant" not in html and "Text on the background: 15.7:1" in html


def test_duplicating_needs_the_permission_to_add_variants(client, django_user_model):
    editor = django_user_model.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_popup", "change_popup", "view_popupvariant", "change_popupvariant"]
        )
    )
    client.force_login(editor)
    popup = PopupFactory()
    variant = popup.variants.get()
    url = reverse("admin:omnichannel_popup_change", args=[popup.pk])
    assert "_duplicate_variant" not in client.get(url).content.decode()
    data = form_data(
        {"name": popup.name, "slug": popup.slug, "variants-INITIAL_FORMS": "1",
         "variants-0-id": str(variant.pk)},
        [{**VARIANT, "popup": str(popup.pk)}],
    )  # fmt: skip
    data["_duplicate_variant"] = str(variant.pk)
    response = client.post(url, data, follow=True)
    assert "needs the permission to add one" in response.content.decode()
    assert popup.variants.count() == 1
