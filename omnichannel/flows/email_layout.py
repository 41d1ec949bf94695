"""The HTML frame of the shipped flows' emails: a centred card, a code box, a button.

Inline styles only, no images or fonts to fetch, so a message reads the same in every
mail client. Shared by the shipped flows (``defaults``, ``order_flows``); staff edit the
HTML per step afterwards.
"""

FOOTER_HTML = (
    "You receive this email because you created an account at {{ shop.name }}.<br>"
    '<a href="{{ unsubscribe_url }}" style="color:#6b625a;">Unsubscribe</a> &middot; '
    '<a href="{{ preferences_url }}" style="color:#6b625a;">Choose what we send</a><br>'
    "{{ shop.address }}"
)


def email_html(body, footer=FOOTER_HTML):
    """``body`` (HTML) in a simple centred table with the footer: inline styles only, no
    images or fonts to fetch, so it reads the same in every mail client."""
    return (
        '<!doctype html><html><body style="margin:0;padding:0;background:#f4f1ec;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f4f1ec;"><tr><td align="center" style="padding:24px 12px;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:560px;background:#ffffff;border-radius:6px;">'
        '<tr><td style="padding:28px 32px 8px;font:bold 20px Georgia,serif;color:#2b2118;">'
        "{{ shop.name }}</td></tr>"
        '<tr><td style="padding:8px 32px 24px;font:16px/1.55 Arial,sans-serif;color:#2b2118;">'
        f"{body}</td></tr></table>"
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:560px;"><tr><td style="padding:16px 32px;'
        f'font:12px/1.5 Arial,sans-serif;color:#6b625a;text-align:center;">{footer}'
        "</td></tr></table>"
        "</td></tr></table></body></html>"
    )


def code_box(note):
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:20px 0;">'
        '<tr><td style="padding:14px 22px;border:2px dashed #b5651d;border-radius:6px;'
        'font:bold 20px/1.2 Courier,monospace;color:#b5651d;letter-spacing:2px;">'
        "{{ discount.code }}</td></tr></table>"
        f'<p style="margin:0 0 16px;font-size:14px;color:#6b625a;">{note}</p>'
    )


def button(label):
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:8px 0 20px;">'
        '<tr><td style="background:#2b2118;border-radius:4px;">'
        '<a href="{{ shop.url }}" style="display:inline-block;padding:12px 24px;'
        f'font:bold 15px Arial,sans-serif;color:#ffffff;text-decoration:none;">{label}</a>'
        "</td></tr></table>"
    )
