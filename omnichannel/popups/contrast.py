"""Whether a variant's colours can be read: the WCAG 2 contrast ratio of its text pairs.

popup_contrast.js computes the same figures in the admin while staff pick colours; the
form's check here is the one that holds (a browser test keeps the two in agreement).
"""

from django.utils.translation import gettext_lazy as _

#: WCAG 2.x level AA for normal-size text (success criterion 1.4.3).
AA_RATIO = 4.5
#: The popup's button label is white on the button colour (popup.css, ``.oc-button``).
BUTTON_LABEL_COLOUR = "#ffffff"


def luminance(colour):
    """The relative luminance of ``#rrggbb``, 0 (black) to 1 (white), as WCAG defines it."""
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(channel):
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_ratio(first, second):
    """From 1 (the same colour) to 21 (black on white); the order does not matter."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def shown(ratio):
    """The ratio as staff read it, cut (not rounded) to one decimal: 4.48 shows as 4.4,
    never as a passing 4.5."""
    return f"{int(ratio * 10) / 10:.1f}:1"


#: (what, foreground, background) of every text the popup shows on a colour: a variant's
#: colour field, or a colour the popup's stylesheet fixes.
PAIRS = (
    (_("Text on the background"), "text_colour", "background_colour"),
    (_("Button label (white) on the button colour"), BUTTON_LABEL_COLOUR, "accent_colour"),
)


def contrasts(colours):
    """``(pair, ratio)`` for each of ``PAIRS``, given ``colours`` (colour field ->
    #rrggbb)."""
    return [
        (
            (what, foreground, background),
            contrast_ratio(colours.get(foreground, foreground), colours[background]),
        )
        for what, foreground, background in PAIRS
    ]


def low_contrast(colours):
    """(what, ratio) of the pairs below AA; empty when every text can be read."""
    return [(pair[0], ratio) for pair, ratio in contrasts(colours) if ratio < AA_RATIO]
