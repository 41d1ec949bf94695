"""Small rendering helpers shared by the admin modules."""

from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from ..core.formatting import money


def percent(ratio, *, signed=False, suffix=" %"):
    """``ratio`` in percent, localised (with "+" before a gain when ``signed``), or a dash."""
    if ratio is None:
        return "\N{EM DASH}"
    text = formats.number_format(ratio * 100, 1)
    return f"{'+' if signed and ratio > 0 else ''}{text}{suffix}"


def cart_lines_table(lines, currency=None):
    """The lines of a cart snapshot as an HTML table; every value is escaped. Unit prices
    are written as money in ``currency`` when it is given."""
    if not lines:
        return _("(empty)")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                line.get("name", ""),
                line.get("sku", ""),
                line.get("quantity", ""),
                money(line.get("unit_price", ""), currency)
                if currency
                else line.get("unit_price", ""),
            )
            for line in lines
        ),
    )
    return format_html(
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
        "<tbody>{}</tbody></table>",
        _("Product"),
        _("SKU"),
        _("Quantity"),
        _("Unit price"),
        rows,
    )
