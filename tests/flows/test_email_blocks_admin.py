"""The admin side of emails built from blocks: the step page saves and checks them, the
preview shows the email they make, and the brand is one page."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse

from omnichannel.models import Brand, StepContent

from .conftest import make_flow
from .test_admin import page, step_data, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare_step():
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    StepContent.objects.all().delete()
    return flow.steps.get()


BLOCKS = [
    {"type": "heading", "text": "Hello {{ contact.first_name }}"},
    {"type": "button", "label": "Visit us", "url": "{{ shop.url }}"},
]


def test_the_step_page_saves_blocks(admin_client, bare_step):
    data = step_data(bare_step, contents=[{"subject": "Hi", "blocks": json.dumps(BLOCKS)}])
    response = admin_client.post(step_url(bare_step), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert bare_step.contents.get().blocks == BLOCKS


def test_the_step_page_shows_the_block_editor_over_the_json(admin_client, bare_step):
    StepContent.objects.create(step=bare_step, channel="email", subject="Hi", blocks=BLOCKS)
    html = page(admin_client.get(step_url(bare_step)))
    assert 'class="oc-blocks"' in html and "email_blocks.js" in html
    assert "&quot;type&quot;: &quot;heading&quot;" in html  # the JSON, in the textarea
    assert "&quot;label&quot;: &quot;Discount code&quot;" in html  # the schema the editor reads


@pytest.mark.parametrize(
    "content, message",
    [
        ({"blocks": json.dumps([{"type": "button", "label": "Go"}])},
         "Block 1 (Button), Link: this field is required."),
        ({"blocks": json.dumps([{"type": "poll"}])}, "Block 1: there is no block type"),
        ({"blocks": "[{"}, "Enter a valid JSON."),
        ({"blocks": json.dumps(BLOCKS), "html": "<p>Hi</p>"},
         "This email has blocks and HTML: empty one of them"),
    ],
)  # fmt: skip
def test_bad_blocks_get_a_clear_error(admin_client, bare_step, content, message):
    data = step_data(bare_step, contents=[{"subject": "Hi", **content}])
    response = admin_client.post(step_url(bare_step), data)
    assert response.status_code == 200
    assert message in page(response)
    assert not bare_step.contents.exists()


def test_the_preview_shows_the_email_the_blocks_make(admin_client):
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    step = flow.steps.get()
    StepContent.objects.filter(step=step).update(html="", text="", blocks=BLOCKS)
    html = page(admin_client.get(step_url(step, "preview")))
    # The rendered email sits, escaped, in the sandboxed frame; the text part beside it.
    assert "Hello Alex" in html and "Visit us" in html
    assert "mj-column-per-100" in html  # MJML's output
    assert "Visit us: " in html  # the generated text part


def test_the_brand_is_one_page(admin_client):
    url = reverse("admin:omnichannel_brand_changelist")
    assert f'<a href="{url}">Email brand</a>' in page(admin_client.get(reverse("admin:index")))
    assert admin_client.get(url).url == reverse("admin:omnichannel_brand_add")
    fields = {
        "logo_url": "https://cdn.example.com/logo.png",
        "logo_width": "140",
        "primary_color": "#aa0033",
        "text_color": "#222222",
        "background_color": "#ffffff",
        "font": "Georgia, 'Times New Roman', serif",
        "footer_address": "1 Mill Road, Leeds",
    }
    response = admin_client.post(reverse("admin:omnichannel_brand_add"), fields)
    assert response.status_code == 302
    brand = Brand.load()
    assert (brand.pk, brand.primary_color, brand.footer_address) == (
        1,
        "#aa0033",
        "1 Mill Road, Leeds",
    )
    assert admin_client.get(url).url == reverse("admin:omnichannel_brand_change", args=[1])
    again = admin_client.get(reverse("admin:omnichannel_brand_add"))
    assert again.url == reverse("admin:omnichannel_brand_change", args=[1])


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("primary_color", "red", "Write the colour as # and six hex digits."),
        ("footer_address", "1 {{ Road }}", "Curly braces cannot be used here."),
        ("logo_width", "2000", "less than or equal to 600"),
    ],
)
def test_bad_brand_input_gets_a_clear_error(admin_client, field, value, message):
    fields = {
        "logo_width": "160",
        "primary_color": "#2b2118",
        "text_color": "#2b2118",
        "background_color": "#f4f1ec",
        "font": "Arial, Helvetica, sans-serif",
        field: value,
    }
    response = admin_client.post(reverse("admin:omnichannel_brand_add"), fields)
    assert response.status_code == 200
    assert message in page(response)
    assert not Brand.objects.exists()


def test_without_mjml_the_step_page_and_preview_say_what_to_install(admin_client, monkeypatch):
    import sys

    from omnichannel.flows import validation
    from omnichannel.outbox import blocks

    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    step = flow.steps.get()
    StepContent.objects.filter(step=step).update(html="", text="", blocks=BLOCKS)
    blocks._compile_blocks.cache_clear()
    monkeypatch.setitem(sys.modules, "mjml", None)  # "import mjml" raises ImportError
    for url in (step_url(step), step_url(step, "preview")):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "pip install django-omnichannel[mjml]" in page(response)
    assert any("django-omnichannel[mjml]" in p.text for p in validation.blocking(flow))


def test_a_test_send_carries_the_email_the_blocks_make(admin_client, mailoutbox):
    flow = make_flow(steps=[("Hello", timedelta(0), "email")])
    step = flow.steps.get()
    StepContent.objects.filter(step=step).update(html="", text="", blocks=BLOCKS)
    content = step.contents.get()
    response = admin_client.post(step_url(step, "send_test"), {"content": content.pk})
    assert response.status_code == 302
    [mail] = mailoutbox
    [(html, mimetype)] = mail.alternatives
    assert mimetype == "text/html" and "mj-column-per-100" in html and "Hello Alex" in html
    assert "Visit us: " in mail.body and "Unsubscribe: " in mail.body
