"""Emails built from blocks: a list of ``{"type": ..., field: ...}`` turned into an HTML
part through MJML (``mjml-python``, the ``mjml`` extra) and a plain-text part.

Staff write the blocks' fields as plain text in which merge tags (``{{ contact.first_name
}}``, ``{% if discount %}``) work as in any other template; the brand (``models.Brand``)
gives the logo, colours, font and postal address. Blocks compile to the same two template
sources a hand-written email has (``html`` and ``text``), which ``rendering`` then renders
with the message's context and autoescaping: what a customer typed stays escaped.

MJML never sees a merge tag: each field goes in as a placeholder and comes back after the
compilation, so MJML can neither reorder nor escape template syntax; MJML's own output
(styles with braces) is wrapped in ``{% verbatim %}`` so that the template engine leaves
it alone.

Every email ends with the footer: why the recipient gets it, the unsubscribe and
preferences links and the shop's postal address (CAN-SPAM; Gmail and Yahoo's bulk sender
rules). A ``footer`` block only sets its note; without one, the default note is added.
"""

import contextlib
import contextvars
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError
from django.template.base import tag_re
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..core.links import absolute_url
from ..exceptions import OmnichannelError
from ..models import Brand
from .templates import _compile

MUTED = "#6b625a"
RULE = "#eee6dc"
SLOT = re.compile(r"OMNISLOT(\d+)X")
# A link field holds a full address or starts with a merge tag that prints one.
LINK = re.compile(r"^(https?://|mailto:|tel:|\{\{)")
MAX_BLOCKS = 60
THUMBNAIL = 'width="64" style="display:block;width:64px;height:auto;border:0;border-radius:4px;"'
# The lines of a cart or an order and the lists of products: a row each, the picture beside
# the name, which reads the same on a phone and in Outlook. ``$lines`` is the list a block
# shows, ``$currency`` its currency and ``$review`` the label of a line's review link (an
# order's lines carry one once it is delivered: ``ShopAdapter.get_review_url``).
LINE_ROWS = (
    "{% for line in $lines %}<tr>"
    '<td width="76" style="$cell">{% if line.image_url %}'
    f'<img src="{{{{ line.image_url }}}}" alt="{{{{ line.name }}}}" {THUMBNAIL}>{{% endif %}}</td>'
    '<td style="$cell">{% if line.url %}<a href="{{ line.url }}" style="color:$text;">'
    "{{ line.name }}</a>{% else %}{{ line.name }}{% endif %}<br>"
    '<span style="color:$muted;">&times; {{ line.quantity }}</span>'
    '{% if line.review_url %}<br><a href="{{ line.review_url }}">$review</a>{% endif %}</td>'
    '<td align="right" style="$cell">{{ line.unit_price|money:$currency }}</td>'
    "</tr>{% endfor %}"
)
LINES_TOTAL = (
    '<tr><td colspan="2" style="$cell font-weight:bold;">$total</td>'
    '<td align="right" style="$cell font-weight:bold;">'
    "{{ $value|money:$currency }}</td></tr>"
)
PRODUCT_ROWS = (
    "{% if $products %}$title{% for product in $products %}<tr>"
    '<td width="76" style="$cell">{% if product.image_url %}<a href="{{ product.url }}">'
    f'<img src="{{{{ product.image_url }}}}" alt="{{{{ product.name }}}}" {THUMBNAIL}></a>'
    "{% endif %}</td>"
    '<td style="$cell"><a href="{{ product.url }}" style="color:$text;">{{ product.name }}</a></td>'
    '<td align="right" style="$cell color:$muted;">{{ product.price|money }}</td>'
    "</tr>{% endfor %}{% endif %}"
)
# What each list block shows: (the lines' list, their total, their currency) and the
# products' list.
LINE_SOURCES = {
    "cart": ("cart.lines", "cart.value", "cart.currency"),
    "order": ("order.lines", "order.total", "order.currency"),
}
PRODUCT_SOURCES = {"recommendations": "recommendations", "viewed": "trigger.products"}


class MjmlMissing(OmnichannelError):
    """Blocks were used without the ``mjml`` extra."""

    def __init__(self):
        super().__init__(
            "Emails built from blocks need mjml-python: "
            "pip install django-omnichannel[mjml] (or pip install mjml-python)."
        )


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False
    link: bool = False
    multiline: bool = False


@dataclass(frozen=True)
class BlockType:
    name: str
    label: str
    fields: tuple = ()


BLOCK_TYPES = {
    block.name: block
    for block in (
        BlockType(
            "logo",
            gettext_lazy("Logo"),
            (Field("url", gettext_lazy("Link"), link=True),),
        ),
        BlockType("heading", gettext_lazy("Heading"), (Field("text", gettext_lazy("Text"), True),)),
        BlockType(
            "text",
            gettext_lazy("Text"),
            (Field("text", gettext_lazy("Text"), True, multiline=True),),
        ),
        BlockType(
            "image",
            gettext_lazy("Image"),
            (
                Field("src", gettext_lazy("Image address"), True, link=True),
                Field("alt", gettext_lazy("Description (for screen readers)"), True),
                Field("url", gettext_lazy("Link"), link=True),
            ),
        ),
        BlockType(
            "button",
            gettext_lazy("Button"),
            (
                Field("label", gettext_lazy("Label"), True),
                Field("url", gettext_lazy("Link"), True, link=True),
            ),
        ),
        BlockType("cart", gettext_lazy("Cart lines"), (Field("title", gettext_lazy("Title")),)),
        BlockType(
            "order",
            gettext_lazy("Order lines (with their review links once delivered)"),
            (Field("title", gettext_lazy("Title")),),
        ),
        BlockType(
            "discount",
            gettext_lazy("Discount code"),
            (Field("note", gettext_lazy("Note under the code"), multiline=True),),
        ),
        BlockType(
            "recommendations",
            gettext_lazy("Recommended products"),
            (Field("title", gettext_lazy("Title")),),
        ),
        BlockType(
            "viewed",
            gettext_lazy("Products viewed (browse abandonment)"),
            (Field("title", gettext_lazy("Title")),),
        ),
        BlockType(
            "footer",
            gettext_lazy("Footer"),
            (Field("text", gettext_lazy("Why they get this email"), multiline=True),),
        ),
    )
}


def editor_schema():
    """The block types as the admin's block editor reads them (JSON)."""
    return [
        {
            "type": block.name,
            "label": str(block.label),
            "fields": [
                {
                    "name": f.name,
                    "label": str(f.label),
                    "required": f.required,
                    "multiline": f.multiline,
                }
                for f in block.fields
            ],
        }
        for block in BLOCK_TYPES.values()
    ]


# --- validation ------------------------------------------------------------------------------


def validate_blocks(blocks):
    """Raise ``ValidationError`` with one message per problem, each naming the block (by
    its number, as the editor shows it) and the field."""
    if not isinstance(blocks, list):
        raise ValidationError(_("The blocks must be a list."))
    if len(blocks) > MAX_BLOCKS:
        raise ValidationError(_("An email holds at most %(max)s blocks.") % {"max": MAX_BLOCKS})
    errors = []
    for number, block in enumerate(blocks, 1):
        errors.extend(_block_errors(number, block))
        if isinstance(block, dict) and block.get("type") == "footer" and number != len(blocks):
            errors.append(
                _("Block %(number)s (Footer): the footer is always last; move it to the end.")
                % {"number": number}
            )
    if errors:
        raise ValidationError(errors)


def _block_errors(number, block):
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_("Block %(number)s has no type.") % {"number": number}]
    kind = BLOCK_TYPES.get(block["type"])
    if kind is None:
        return [
            _('Block %(number)s: there is no block type "%(type)s" (the types are %(types)s).')
            % {"number": number, "type": block["type"], "types": ", ".join(BLOCK_TYPES)}
        ]
    fields = {f.name: f for f in kind.fields}
    errors = []

    def problem(field, message):
        return _("Block %(number)s (%(type)s), %(field)s: %(problem)s") % {
            "number": number,
            "type": kind.label,
            "field": field.label if isinstance(field, Field) else field,
            "problem": message,
        }

    for name in sorted(set(block) - set(fields) - {"type"}):
        errors.append(problem(name, _("this block has no such field.")))
    for field in kind.fields:
        value = block.get(field.name, "")
        if not isinstance(value, str):
            errors.append(problem(field, _("must be text.")))
            continue
        value = value.strip()
        if field.required and not value:
            errors.append(problem(field, _("this field is required.")))
        if value and field.link and not LINK.match(value):
            errors.append(
                problem(field, _("write a full address (https://...) or a variable such as "
                                 "{{ shop.url }}."))
            )  # fmt: skip
        if "{" in value:
            try:
                _compile(value, True)
            except TemplateSyntaxError as exc:
                errors.append(problem(field, str(exc)))
    return errors


# --- compiling -------------------------------------------------------------------------------


# Inside ``one_brand()``: {} until the first block email reads the brand, then {"brand": it}.
_shared_brand = contextvars.ContextVar("omnichannel_shared_brand", default=None)


@contextlib.contextmanager
def one_brand():
    """Render every block email inside with the brand read once, when the first one needs
    it: a dispatch batch costs one query for it, not one per email."""
    token = _shared_brand.set({})
    try:
        yield
    finally:
        _shared_brand.reset(token)


def current_brand():
    shared = _shared_brand.get()
    if shared is None:
        return Brand.load()
    if "brand" not in shared:
        shared["brand"] = Brand.load()
    return shared["brand"]


def expand_blocks(content):
    """``content`` with its ``blocks`` turned into ``html`` and, unless it has its own,
    ``text`` template sources (unchanged when it has no blocks)."""
    blocks = content.get("blocks")
    if not blocks:
        return content
    compiled = compile_blocks(blocks, current_brand())
    expanded = {key: value for key, value in content.items() if key != "blocks"}
    expanded["html"] = compiled["html"]
    if not expanded.get("text"):
        expanded["text"] = compiled["text"]
    return expanded


def compile_blocks(blocks, brand):
    """``{"html": ..., "text": ...}``: the template sources of ``blocks`` in ``brand``, in
    the active language (the footer's words). Raises ``MjmlMissing`` without the extra."""
    return _compile_blocks(
        json.dumps(blocks, sort_keys=True), _brand_key(brand), translation.get_language()
    )


def _brand_key(brand):
    logo = absolute_url(brand.logo.url) if brand.logo else brand.logo_url
    return (
        logo,
        brand.logo_width,
        brand.primary_color,
        brand.text_color,
        brand.background_color,
        brand.font,
        brand.footer_address,
    )


@dataclass(frozen=True)
class Look:
    logo: str
    logo_width: int
    primary: str
    text: str
    background: str
    font: str
    address: str


@lru_cache(maxsize=512)
def _compile_blocks(blocks_json, brand_key, language):
    try:
        from mjml import mjml2html
    except ImportError:
        raise MjmlMissing() from None
    look = Look(*brand_key)
    blocks = json.loads(blocks_json)
    if not blocks or blocks[-1].get("type") != "footer":
        blocks.append({"type": "footer"})
    builder = Builder(look)
    body = "".join(builder.block(block) for block in blocks[:-1])
    footer = builder.footer(blocks[-1])
    mjml = (
        # The language, for screen readers to read the email with the right voice.
        f'<mjml lang="{escape(language or "en")}"><mj-head><mj-attributes>'
        f'<mj-all font-family="{escape(look.font)}" />'
        f'<mj-text color="{look.text}" font-size="16px" line-height="1.55" padding="8px 32px" />'
        f'<mj-button background-color="{look.primary}" color="#ffffff" font-size="15px" '
        'font-weight="bold" border-radius="4px" inner-padding="12px 24px" align="left" '
        'padding="8px 32px 20px" />'
        '<mj-image padding="8px 32px" />'
        f'<mj-table color="{look.text}" font-size="15px" padding="8px 32px" />'
        "</mj-attributes>"
        f"<mj-style>a {{ color: {look.primary}; }}</mj-style></mj-head>"
        f'<mj-body background-color="{look.background}" width="600px">'
        '<mj-section padding="24px 12px 0"><mj-column background-color="#ffffff" '
        f'border-radius="6px" padding="12px 0">{body}</mj-column></mj-section>'
        f'<mj-section padding="0 12px 24px"><mj-column>{footer}</mj-column></mj-section>'
        "</mj-body></mjml>"
    )
    html = mjml2html(mjml)
    return {"html": builder.fill(html), "text": "".join(builder.text).strip() + "\n"}


def html_source(source):
    """A plain-text template as HTML: its literal text escaped and its line breaks kept,
    its merge tags as written (the engine escapes what they print)."""
    return "".join(
        piece if tag_re.fullmatch(piece) else escape(piece).replace("\n", "<br>")
        for piece in tag_re.split(source)
    )


class Builder:
    """Builds one email's MJML and text part; template sources wait in ``slots``."""

    def __init__(self, look):
        self.look = look
        self.slots = []
        self.text = []

    def slot(self, source):
        self.slots.append(source)
        return f"OMNISLOT{len(self.slots) - 1}X"

    def fill(self, html):
        """MJML's output with the slots' sources back in, the rest kept verbatim."""
        pieces = SLOT.split(html)
        out = []
        for index, piece in enumerate(pieces):
            if index % 2:
                out.append(self.slots[int(piece)])
            elif "{" in piece:
                out.append("{% verbatim %}" + piece + "{% endverbatim %}")
            else:
                out.append(piece)
        return "".join(out)

    def block(self, block):
        fields = {key: value.strip() for key, value in block.items() if isinstance(value, str)}
        return getattr(self, "block_" + block["type"])(fields)

    def block_logo(self, fields):
        link = self.slot(html_source(fields.get("url") or "{{ shop.url }}"))
        name = self.slot("{{ shop.name }}")
        if self.look.logo:
            return (
                f'<mj-image src="{escape(self.look.logo)}" alt="{name}" href="{link}" '
                f'width="{self.look.logo_width}px" align="left" padding="20px 32px 8px" />'
            )
        return (
            '<mj-text font-size="22px" font-weight="bold" padding="20px 32px 8px">'
            f'<a href="{link}" style="color:{self.look.text};text-decoration:none;">{name}</a>'
            "</mj-text>"
        )

    def block_heading(self, fields):
        self.text.append(fields["text"] + "\n\n")
        return (
            '<mj-text padding="16px 32px 8px"><h1 style="margin:0;font-size:24px;'
            f'line-height:1.3;">{self.slot(html_source(fields["text"]))}</h1></mj-text>'
        )

    def block_text(self, fields):
        self.text.append(fields["text"] + "\n\n")
        return f"<mj-text>{self.slot(html_source(fields['text']))}</mj-text>"

    def block_image(self, fields):
        link = fields.get("url")
        href = f' href="{self.slot(html_source(link))}"' if link else ""
        return (
            f'<mj-image src="{self.slot(html_source(fields["src"]))}" '
            f'alt="{self.slot(html_source(fields["alt"]))}"{href} />'
        )

    def block_button(self, fields):
        self.text.append(f"{fields['label']}: {fields['url']}\n\n")
        return (
            f'<mj-button href="{self.slot(html_source(fields["url"]))}">'
            f"{self.slot(html_source(fields['label']))}</mj-button>"
        )

    def title(self, fields):
        if not fields.get("title"):
            return ""
        self.text.append(fields["title"] + "\n")
        return f'<mj-text padding="16px 32px 0">{self.slot(html_source(fields["title"]))}</mj-text>'

    def styled(self, template):
        """``template`` with the brand's colours in place of ``$text``, ``$muted``, ``$cell``
        (written so to keep the template's own braces readable)."""
        cell = f"padding:8px 0;border-top:1px solid {RULE};vertical-align:top;"
        template = template.replace("$cell", cell).replace("$muted", MUTED)
        return template.replace("$text", self.look.text)

    def block_cart(self, fields):
        return self.lines(fields, *LINE_SOURCES["cart"])

    def block_order(self, fields):
        return self.lines(fields, *LINE_SOURCES["order"])

    def lines(self, fields, lines, value, currency):
        """The rows of ``lines`` (a cart's or an order's) and their total."""
        title = self.title(fields)
        total = LINES_TOTAL.replace("$total", escape(_("Total")))
        rows = (LINE_ROWS + total).replace("$review", escape(_("Write a review")))
        rows = rows.replace("$lines", lines).replace("$value", value)
        self.text.append(
            f"{{% for line in {lines} %}}- {{{{ line.name }}}} x {{{{ line.quantity }}}}"
            "{% if line.review_url %}: {{ line.review_url }}{% endif %}\n{% endfor %}"
            + _("Total")
            + f": {{{{ {value}|money:{currency} }}}}\n\n"
        )
        rows = self.styled(rows.replace("$currency", currency))
        return f"{title}<mj-table>{self.slot(rows)}</mj-table>"

    def block_discount(self, fields):
        note = fields.get("note", "")
        self.text.append("    {{ discount.code }}\n\n" + (note + "\n\n" if note else ""))
        note_html = (
            f'<p style="margin:0;font-size:14px;color:{MUTED};">{self.slot(html_source(note))}</p>'
            if note
            else ""
        )
        return (
            '<mj-text><table role="presentation" cellpadding="0" cellspacing="0" '
            'style="margin:4px 0 12px;"><tr><td style="padding:14px 22px;'
            f"border:2px dashed {self.look.primary};border-radius:6px;font-size:20px;"
            f"font-weight:bold;font-family:Courier,monospace;letter-spacing:2px;"
            f'color:{self.look.primary};">{self.slot("{{ discount.code }}")}</td></tr></table>'
            f"{note_html}</mj-text>"
        )

    def block_recommendations(self, fields):
        return self.products(fields, PRODUCT_SOURCES["recommendations"])

    def block_viewed(self, fields):
        return self.products(fields, PRODUCT_SOURCES["viewed"])

    def products(self, fields, products):
        """A row per product of ``products``, with its title; nothing when there are none."""
        title = fields.get("title", "")
        heading = f'<tr><td colspan="3" style="padding:8px 0;">{html_source(title)}</td></tr>'
        rows = self.styled(PRODUCT_ROWS).replace("$title", heading if title else "")
        self.text.append(
            f"{{% if {products} %}}"
            + (title + "\n" if title else "")
            + f"{{% for product in {products} %}}"
            "- {{ product.name }} ({{ product.price|money }}): {{ product.url }}\n{% endfor %}\n"
            "{% endif %}"
        )
        return f"<mj-table>{self.slot(rows.replace('$products', products))}</mj-table>"

    def footer(self, block):
        note = (block.get("text") or "").strip() or _(
            "You receive this email because you signed up at {{ shop.name }}."
        )
        address = self.look.address
        unsubscribe, preferences = _("Unsubscribe"), _("Choose what we send")
        self.text.append(
            f"--\n{note}\n{unsubscribe}: {{{{ unsubscribe_url }}}}\n"
            f"{preferences}: {{{{ preferences_url }}}}\n" + (address or "{{ shop.address }}")
        )
        address_html = (
            escape(address).replace("\n", "<br>") if address else self.slot("{{ shop.address }}")
        )
        return (
            f'<mj-text align="center" font-size="12px" line-height="1.5" color="{MUTED}" '
            f'padding="16px 32px">{self.slot(html_source(note))}<br>'
            f'<a href="{self.slot("{{ unsubscribe_url }}")}" style="color:{MUTED};">'
            f"{escape(unsubscribe)}</a> &middot; "
            f'<a href="{self.slot("{{ preferences_url }}")}" style="color:{MUTED};">'
            f"{escape(preferences)}</a><br>{address_html}</mj-text>"
        )
