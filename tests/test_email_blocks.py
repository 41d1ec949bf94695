"""Emails built from blocks: validation, the MJML output's structure, the text part and
the brand."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError

from omnichannel.models import Brand
from omnichannel.outbox import blocks as email_blocks
from omnichannel.outbox.blocks import MjmlMissing, validate_blocks
from omnichannel.outbox.rendering import render_content

pytestmark = pytest.mark.django_db

CONTEXT = {
    "contact": {"first_name": "<script>alert(1)</script>"},
    "shop": {"name": "Tom & Jerry", "url": "https://shop.test/", "address": "1 Mill Road, Leeds"},
    "cart": {
        "restore_url": "https://shop.test/r/?t=abc&u=1",
        "lines": [
            {"name": "Mug <b>", "quantity": 2, "unit_price": "5.00",
             "image_url": "https://cdn.test/mug.png", "url": "https://shop.test/mug/"},
            {"name": "Tea", "quantity": 1, "unit_price": "3.50", "image_url": "", "url": ""},
        ],
        "value": "13.50",
        "currency": "EUR",
    },
    "discount": {"code": "BACK-7Q2Z"},
    "recommendations": [
        {"name": "Teapot", "url": "https://shop.test/pot/", "price": "20",
         "image_url": "https://cdn.test/pot.png"},
    ],
    "unsubscribe_url": "https://shop.test/u/TOKEN/",
    "preferences_url": "https://shop.test/p/TOKEN/",
}  # fmt: skip


class Elements(HTMLParser):
    """The start tags of an HTML document with their attributes, and its text."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag, **attrs):
        found = [a for t, a in self.tags if t == tag]
        return [a for a in found if all(a.get(k) == v for k, v in attrs.items())]

    @property
    def words(self):
        return " ".join(" ".join(self.text).split())


def render(blocks, context=CONTEXT):
    return render_content({"blocks": blocks}, context)


def test_each_block_type_renders_to_tables_with_its_content():
    rendered = render(
        [
            {"type": "logo"},
            {"type": "heading", "text": "Hello {{ contact.first_name }}"},
            {"type": "text", "text": "First line\nsecond line"},
            {"type": "image", "src": "https://cdn.test/hero.png", "alt": "Autumn teas",
             "url": "{{ shop.url }}"},
            {"type": "button", "label": "Back to my cart", "url": "{{ cart.restore_url }}"},
            {"type": "cart", "title": "Your cart"},
            {"type": "discount", "note": "Valid three days."},
            {"type": "recommendations", "title": "You may like"},
        ]
    )  # fmt: skip
    page = Elements(rendered["html"])
    assert page.all("table"), "MJML lays the email out in tables"
    # Outlook gets its conditional tables too.
    assert "<!--[if mso" in rendered["html"]
    assert page.all("a", href="https://shop.test/r/?t=abc&u=1"), "the button links the cart"
    assert page.all("img", src="https://cdn.test/hero.png", alt="Autumn teas")
    assert page.all("img", src="https://cdn.test/mug.png", alt="Mug <b>")
    assert page.all("img", src="https://cdn.test/pot.png", alt="Teapot")
    assert page.all("a", href="https://shop.test/pot/")
    words = page.words
    for expected in ("Tom & Jerry", "First line", "second line", "Back to my cart",
                     "Your cart", "Mug <b>", "× 2", "Tea", "Total", "BACK-7Q2Z",
                     "Valid three days.", "You may like", "Teapot"):  # fmt: skip
        assert expected in words, expected
    # The customer's name is data: escaped, never markup.
    assert "Hello <script>alert(1)</script>" in words
    assert not page.all("script")
    assert "&lt;script&gt;" in rendered["html"]
    assert "<br>second line" in rendered["html"]


def test_the_footer_is_always_there_with_unsubscribe_and_address():
    page = Elements(render([{"type": "text", "text": "Hi"}])["html"])
    assert page.all("a", href="https://shop.test/u/TOKEN/")
    assert page.all("a", href="https://shop.test/p/TOKEN/")
    assert "1 Mill Road, Leeds" in page.words
    assert "You receive this email because you signed up at Tom & Jerry." in page.words
    # A footer block only changes the note.
    footer = {"type": "footer", "text": "About your cart at {{ shop.name }}."}
    page = Elements(render([footer])["html"])
    assert "About your cart at Tom & Jerry." in page.words
    assert page.all("a", href="https://shop.test/u/TOKEN/")


def test_the_text_part_is_generated():
    text = render(
        [
            {"type": "heading", "text": "Hello {{ contact.first_name }}"},
            {"type": "text", "text": "Tom & Jerry say hi"},
            {"type": "image", "src": "https://cdn.test/hero.png", "alt": "Hero"},
            {"type": "button", "label": "Back to my cart", "url": "{{ cart.restore_url }}"},
            {"type": "cart"},
            {"type": "discount", "note": "Valid three days."},
            {"type": "recommendations", "title": "You may like"},
        ]
    )["text"]
    # Plain text is not escaped: "&" stays "&".
    assert "Hello <script>alert(1)</script>\n\nTom & Jerry say hi\n\n" in text
    assert "Back to my cart: https://shop.test/r/?t=abc&u=1" in text
    assert "- Mug <b> x 2\n- Tea x 1\nTotal: " in text
    assert "    BACK-7Q2Z\n\nValid three days." in text
    assert "You may like\n- Teapot (€20.00): https://shop.test/pot/" in text
    assert "Unsubscribe: https://shop.test/u/TOKEN/" in text
    assert text.rstrip().endswith("1 Mill Road, Leeds")
    assert "hero.png" not in text


ORDER = {
    "number": "1001",
    "total": "13.50",
    "currency": "EUR",
    "lines": [
        {"name": "Mug <b>", "quantity": 2, "unit_price": "5.00", "image_url": "",
         "url": "https://shop.test/mug/", "review_url": "https://shop.test/mug/#review"},
        {"name": "Tea", "quantity": 1, "unit_price": "3.50", "image_url": "", "url": ""},
    ],
}  # fmt: skip


def test_the_order_block_lists_the_order_with_its_review_links():
    """The thank-you's order before delivery (no review links), the review request's
    after: each line links its review where the shop gave one."""
    context = {**CONTEXT, "order": ORDER}
    rendered = render([{"type": "order", "title": "Your order"}], context)
    page = Elements(rendered["html"])
    assert page.all("a", href="https://shop.test/mug/#review")
    assert [a for a in page.all("a") if "review" in a.get("href", "")] == [
        {"href": "https://shop.test/mug/#review"}
    ]  # the tea has none
    for expected in ("Your order", "Mug <b>", "× 2", "Tea", "Write a review", "Total", "€13.50"):
        assert expected in page.words, expected
    assert (
        "- Mug <b> x 2: https://shop.test/mug/#review\n- Tea x 1\nTotal: €13.50"
        in (rendered["text"])
    )
    # The cart's lines never carry review links.
    assert "Write a review" not in Elements(render([{"type": "cart"}], context)["html"]).words


def test_the_viewed_block_lists_the_products_viewed_and_nothing_without_them():
    viewed = [
        {"name": "Teapot", "url": "https://shop.test/pot/", "price": "20", "image_url": ""},
        {"name": "Cup", "url": "https://shop.test/cup/", "price": "4", "image_url": ""},
    ]
    context = {**CONTEXT, "trigger": {"products": viewed}, "recommendations": []}
    rendered = render([{"type": "viewed", "title": "You looked at"}], context)
    page = Elements(rendered["html"])
    assert page.all("a", href="https://shop.test/pot/") and page.all(
        "a", href="https://shop.test/cup/"
    )
    assert "You looked at" in page.words
    viewed = "You looked at\n- Teapot (€20.00): https://shop.test/pot/\n- Cup (€4.00):"
    assert viewed in rendered["text"]
    empty = render(
        [{"type": "viewed", "title": "You looked at"}], {**context, "trigger": {"products": []}}
    )
    assert "You looked at" not in empty["html"] + empty["text"]


def test_a_text_part_written_by_hand_wins():
    rendered = render_content({"blocks": [{"type": "text", "text": "Hi"}], "text": "Mine"}, CONTEXT)
    assert rendered["text"] == "Mine"


def test_the_brand_is_applied():
    Brand.objects.create(
        logo_url="https://cdn.test/logo.png",
        logo_width=120,
        primary_color="#aa0033",
        text_color="#111111",
        background_color="#fafafa",
        font="Georgia, 'Times New Roman', serif",
        footer_address="2 Brand Street\nYork",
    )
    html = render(
        [
            {"type": "logo"},
            {"type": "text", "text": "Hi"},
            {"type": "button", "label": "Go", "url": "{{ shop.url }}"},
        ]
    )["html"]
    page = Elements(html)
    logo = page.all("img", src="https://cdn.test/logo.png")
    assert logo and logo[0]["alt"] == "Tom & Jerry" and logo[0]["width"] == "120"
    assert page.all("a", href="https://shop.test/")
    assert "#aa0033" in html and "#fafafa" in html and "#111111" in html
    assert "Georgia" in html
    assert "2 Brand Street" in page.words and "York" in page.words
    assert "1 Mill Road" not in page.words


def test_without_a_logo_the_shop_name_heads_the_email():
    page = Elements(render([{"type": "logo", "url": "https://shop.test/home/"}])["html"])
    assert not page.all("img")
    assert page.all("a", href="https://shop.test/home/")
    assert "Tom & Jerry" in page.words


def test_merge_tags_with_quotes_and_conditions_survive_mjml():
    html = render(
        [{"type": "text", "text": '{% if discount %}Code {{ discount.code }}{% endif %} '
                                  '{{ contact.last_name|default:"friend" }}'}]
    )["html"]  # fmt: skip
    assert "Code BACK-7Q2Z friend" in Elements(html).words


@pytest.mark.parametrize(
    "blocks, message",
    [
        ("heading", "The blocks must be a list."),
        ([{"text": "x"}], "Block 1 has no type."),
        ([{"type": "video"}], 'Block 1: there is no block type "video"'),
        ([{"type": "text", "text": "a"}, {"type": "button", "label": "Go"}],
         "Block 2 (Button), Link: this field is required."),
        ([{"type": "button", "label": "Go", "url": "www.shop.test"}],
         "Block 1 (Button), Link: write a full address (https://...)"),
        ([{"type": "heading", "text": "Hi {% if discount %}"}],
         "Block 1 (Heading), Text: "),
        ([{"type": "heading", "text": 3}], "Block 1 (Heading), Text: must be text."),
        ([{"type": "button", "label": "Go", "url": "{{ shop.url|nosuchfilter }}"}],
         "Block 1 (Button), Link: Invalid filter: 'nosuchfilter'"),
        ([{"type": "heading", "text": "a", "colour": "red"}],
         "Block 1 (Heading), colour: this block has no such field."),
        ([{"type": "image", "src": "https://cdn.test/a.png"}],
         "Block 1 (Image), Description (for screen readers): this field is required."),
        ([{"type": "footer"}, {"type": "text", "text": "a"}],
         "Block 1 (Footer): the footer is always last"),
    ],
)  # fmt: skip
def test_invalid_blocks_are_refused_with_the_block_and_field_named(blocks, message):
    with pytest.raises(ValidationError) as caught:
        validate_blocks(blocks)
    assert any(m.startswith(message) for m in caught.value.messages), caught.value.messages


def test_valid_blocks_pass():
    validate_blocks([{"type": "logo"}, {"type": "text", "text": "Hi {{ shop.name }}"}])


def test_without_mjml_the_error_names_the_extra(monkeypatch):
    import sys

    email_blocks._compile_blocks.cache_clear()
    monkeypatch.setitem(sys.modules, "mjml", None)  # "import mjml" raises ImportError
    with pytest.raises(MjmlMissing, match=r"django-omnichannel\[mjml\]"):
        render([{"type": "text", "text": "Hi"}])


def test_an_uploaded_logo_wins_with_its_full_address():
    Brand.objects.create(logo="omnichannel/brand/logo.png", logo_url="https://cdn.test/old.png")
    page = Elements(render([{"type": "logo"}])["html"])
    [logo] = page.all("img")
    assert logo["src"].startswith("http") and logo["src"].endswith("/omnichannel/brand/logo.png")
