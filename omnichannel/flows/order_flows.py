"""The content of the shipped flows after a purchase, in the app's five languages.

The flows themselves are in ``defaults`` (installed with the others, as drafts staff
edit). Each email exists in English (the default language) and in French, Russian,
Bulgarian and Slovak; a contact gets the one of their language, else English.

Thank you and cross-sell (started by every purchase; priority 15):

1. at once, by email, as part of the order (transactional: it goes without marketing
   consent, so it carries no offer and no products): thanks, the order's lines and total;
2. a week later, by email, marketing (consent needed): products that go with the order,
   from the shop's recommendations for its lines.

Review request (started when an order reaches a ``REVIEW_ORDER_STATUSES`` status; 15):

1. three days later, by email, marketing: each line of the order with its review link
   (``ShopAdapter.get_review_url``).

Win-back (started when a buyer lapses, ``omnichannel.carts.winback``; ends when they order;
priority 10, under cart recovery's 30, so a running recovery holds it back):

1. at once, by email: hello, and a few products;
2. a week later, by email: a unique 15 % code valid two weeks;
3. ten days later, by email: a last note before the code ends.
"""

from ..models.channels import Channel
from .email_layout import button, email_html

LANGUAGES = ("", "fr", "ru", "bg", "sk")  # "": English, the default

GREETINGS = {
    "": 'Hi {{ contact.first_name|default:"there" }},',
    "fr": "Bonjour{% if contact.first_name %} {{ contact.first_name }}{% endif %},",
    "ru": "Здравствуйте{% if contact.first_name %}, {{ contact.first_name }}{% endif %}!",
    "bg": "Здравейте{% if contact.first_name %}, {{ contact.first_name }}{% endif %}!",
    "sk": "Dobrý deň{% if contact.first_name %}, {{ contact.first_name }}{% endif %}!",
}
SIGN_OFF = {
    "": "The {{ shop.name }} team",
    "fr": "L’équipe {{ shop.name }}",
    "ru": "Команда {{ shop.name }}",
    "bg": "Екипът на {{ shop.name }}",
    "sk": "Tím {{ shop.name }}",
}
# Marketing: why the email came, and the links to stop it (the law asks for both).
MARKETING_FOOTER = {
    "": (
        "You receive this email because you bought at {{ shop.name }}.",
        "Unsubscribe",
        "Choose what we send",
    ),
    "fr": (
        "Vous recevez cet e-mail parce que vous avez acheté chez {{ shop.name }}.",
        "Se désabonner",
        "Choisir ce que nous envoyons",
    ),
    "ru": (
        "Вы получили это письмо, потому что делали покупки в {{ shop.name }}.",
        "Отписаться",
        "Выбрать, что мы присылаем",
    ),
    "bg": (
        "Получавате този имейл, защото сте пазарували в {{ shop.name }}.",
        "Отписване",
        "Изберете какво да ви изпращаме",
    ),
    "sk": (
        "Tento e-mail dostávate, pretože ste nakúpili v {{ shop.name }}.",
        "Odhlásiť sa",
        "Vybrať, čo posielame",
    ),
}
ORDER_FOOTER = {
    "": "You receive this email about your order at {{ shop.name }}.",
    "fr": "Vous recevez cet e-mail au sujet de votre commande chez {{ shop.name }}.",
    "ru": "Вы получили это письмо о вашем заказе в {{ shop.name }}.",
    "bg": "Получавате този имейл относно поръчката си в {{ shop.name }}.",
    "sk": "Tento e-mail dostávate k vašej objednávke v {{ shop.name }}.",
}
TOTAL = {"": "Total", "fr": "Total", "ru": "Итого", "bg": "Общо", "sk": "Spolu"}
REVIEW = {
    "": "Write a review",
    "fr": "Donner mon avis",
    "ru": "Оставить отзыв",
    "bg": "Напишете отзив",
    "sk": "Napísať recenziu",
}

PERCENT = "{{ discount.value|floatformat }} %"
# The code's expiry as a date in the contact's language.
EXPIRY_DATE = "{{ discount.expires_at|isodate|date }}"
P = '<p style="margin:0 0 16px;">'
ROW = 'style="padding:6px 0;border-top:1px solid #eee6dc;'


def footers(language, marketing):
    """The footer's text and HTML in ``language``."""
    if not marketing:
        why = ORDER_FOOTER[language]
        return f"{why}\n{{{{ shop.address }}}}\n", f"{why}<br>{{{{ shop.address }}}}"
    why, unsubscribe, choose = MARKETING_FOOTER[language]
    return (
        f"{why}\n{unsubscribe}: {{{{ unsubscribe_url }}}}\n{choose}: {{{{ preferences_url }}}}\n"
        "{{ shop.address }}\n",
        f'{why}<br><a href="{{{{ unsubscribe_url }}}}" style="color:#6b625a;">{unsubscribe}</a>'
        f' &middot; <a href="{{{{ preferences_url }}}}" style="color:#6b625a;">{choose}</a><br>'
        "{{ shop.address }}",
    )


def order_lines(language):
    """The order's lines and total, as text and HTML."""
    text = (
        "{% for line in order.lines %}- {{ line.name }} x {{ line.quantity }}\n{% endfor %}"
        f"{TOTAL[language]}: {{{{ order.total|money:order.currency }}}}\n"
    )
    html = (
        '<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
        'style="margin:0 0 16px;">{% for line in order.lines %}'
        f'<tr><td {ROW}">{{{{ line.name }}}}</td>'
        f'<td align="right" {ROW}color:#6b625a;">&times; {{{{ line.quantity }}}}</td></tr>'
        f'{{% endfor %}}<tr><td {ROW}font-weight:bold;">{TOTAL[language]}</td>'
        f'<td align="right" {ROW}font-weight:bold;">'
        "{{ order.total|money:order.currency }}</td></tr></table>"
    )
    return text, html


def review_links(language):
    """Each line of the order with its review link, where the shop gave one."""
    text = (
        "{% for line in order.lines %}- {{ line.name }}"
        "{% if line.review_url %}: {{ line.review_url }}{% endif %}\n{% endfor %}"
    )
    html = (
        '<table role="presentation" cellpadding="0" cellspacing="0" width="100%" '
        'style="margin:0 0 16px;">{% for line in order.lines %}'
        f'<tr><td {ROW}">{{{{ line.name }}}}</td><td align="right" {ROW}">'
        '{% if line.review_url %}<a href="{{ line.review_url }}" style="color:#b5651d;">'
        f"{REVIEW[language]}</a>{{% endif %}}</td></tr>{{% endfor %}}</table>"
    )
    return text, html


def products(_language):
    """The shop's recommendations, when it has any."""
    text = (
        "{% for product in recommendations %}- {{ product.name }}"
        "{% if product.price %} ({{ product.price }}){% endif %}: {{ product.url }}\n"
        "{% endfor %}"
    )
    html = (
        '{% if recommendations %}<table role="presentation" cellpadding="0" cellspacing="0" '
        'width="100%" style="margin:0 0 16px;">{% for product in recommendations %}'
        f'<tr><td {ROW}"><a href="{{{{ product.url }}}}" style="color:#2b2118;">'
        "{{ product.name }}</a></td>"
        f'<td align="right" {ROW}color:#6b625a;">{{{{ product.price }}}}</td></tr>'
        "{% endfor %}</table>{% endif %}"
    )
    return text, html


def code(_language):
    """The contact's own code, boxed."""
    return "    {{ discount.code }}\n", CODE_HTML


CODE_HTML = (
    '<table role="presentation" cellpadding="0" cellspacing="0" style="margin:4px 0 20px;">'
    '<tr><td style="padding:14px 22px;border:2px dashed #b5651d;border-radius:6px;'
    'font:bold 20px/1.2 Courier,monospace;color:#b5651d;letter-spacing:2px;">'
    "{{ discount.code }}</td></tr></table>"
)


def email(words, language, *, block=None, marketing=True):
    """One language's email of a step: greeting, ``before`` paragraphs, the ``block``
    (order lines, review links, products, a code), ``after`` paragraphs, a button to the
    shop, the sign-off and the footer."""
    text_block, html_block = block(language) if block else ("", "")
    text_footer, html_footer = footers(language, marketing)
    before, after = words.get("before", []), words.get("after", [])
    text = "\n\n".join([GREETINGS[language], *before])
    text += f"\n\n{text_block}\n" if text_block else "\n\n"
    text += "".join(f"{paragraph}\n\n" for paragraph in after)
    if words.get("button"):
        text += "{{ shop.url }}\n\n"
    text += f"{SIGN_OFF[language]}\n\n--\n{text_footer}"
    html = (
        f"{P}{GREETINGS[language]}</p>"
        + "".join(f"{P}{paragraph}</p>" for paragraph in before)
        + html_block
        + "".join(f"{P}{paragraph}</p>" for paragraph in after)
        + (button(words["button"]) if words.get("button") else "")
        + f'<p style="margin:0;">{SIGN_OFF[language]}</p>'
    )
    return {
        "subject": words["subject"],
        "preheader": words["preheader"],
        "text": text,
        "html": email_html(html, html_footer),
    }


def email_contents(words, *, block=None, marketing=True):
    """``(default, translations)`` of a step sending ``words`` (language -> subject,
    preheader, paragraphs, button) by email: the English ``{channel: fields}``, and the
    other languages' as ``{language: {channel: fields}}``."""
    contents = {
        language: {
            Channel.EMAIL: email(words[language], language, block=block, marketing=marketing)
        }
        for language in LANGUAGES
    }
    return contents.pop(""), contents


# --- thank you and cross-sell ----------------------------------------------------------------

THANK_YOU = {
    "": {
        "subject": "Thank you for your order {{ order.number }}",
        "preheader": "We have your order and are getting it ready.",
        "before": ["Thank you for your order at {{ shop.name }}. Here is what you bought:"],
        "after": ["If anything is not right, just reply to this email: a person will answer."],
    },
    "fr": {
        "subject": "Merci pour votre commande {{ order.number }}",
        "preheader": "Nous avons bien reçu votre commande et la préparons.",
        "before": [
            "Merci pour votre commande chez {{ shop.name }}. Voici ce que vous avez acheté :"
        ],
        "after": [
            "Si quelque chose ne va pas, répondez simplement à cet e-mail : une personne vous "
            "répondra."
        ],
    },
    "ru": {
        "subject": "Спасибо за ваш заказ {{ order.number }}",
        "preheader": "Мы получили ваш заказ и уже готовим его.",
        "before": ["Спасибо за заказ в {{ shop.name }}. Вот что вы купили:"],
        "after": ["Если что-то не так, просто ответьте на это письмо: вам ответит живой человек."],
    },
    "bg": {
        "subject": "Благодарим ви за поръчка {{ order.number }}",
        "preheader": "Получихме поръчката ви и я подготвяме.",
        "before": ["Благодарим ви за поръчката в {{ shop.name }}. Ето какво купихте:"],
        "after": ["Ако нещо не е наред, просто отговорете на този имейл: ще ви отговори човек."],
    },
    "sk": {
        "subject": "Ďakujeme za vašu objednávku {{ order.number }}",
        "preheader": "Vašu objednávku sme prijali a pripravujeme ju.",
        "before": ["Ďakujeme za vašu objednávku v {{ shop.name }}. Toto ste si kúpili:"],
        "after": [
            "Ak niečo nie je v poriadku, jednoducho odpovedzte na tento e-mail: odpovie vám človek."
        ],
    },
}

CROSS_SELL = {
    "": {
        "subject": "Something to go with your order",
        "preheader": "A few picks chosen around what you bought.",
        "before": ["We hope you are enjoying your order. A few things that go well with it:"],
        "button": "See more in the shop",
    },
    "fr": {
        "subject": "De quoi compléter votre commande",
        "preheader": "Quelques idées choisies autour de vos achats.",
        "before": [
            "Nous espérons que votre commande vous plaît. Quelques articles qui vont bien avec :"
        ],
        "button": "Voir la boutique",
    },
    "ru": {
        "subject": "Что-то к вашему заказу",
        "preheader": "Несколько идей к тому, что вы купили.",
        "before": ["Надеемся, заказ вам нравится. Вот что хорошо к нему подойдёт:"],
        "button": "Смотреть в магазине",
    },
    "bg": {
        "subject": "Нещо към поръчката ви",
        "preheader": "Няколко идеи към това, което купихте.",
        "before": ["Надяваме се, че поръчката ви харесва. Ето какво добре се съчетава с нея:"],
        "button": "Вижте още в магазина",
    },
    "sk": {
        "subject": "Niečo k vašej objednávke",
        "preheader": "Pár tipov k tomu, čo ste si kúpili.",
        "before": ["Dúfame, že ste s objednávkou spokojní. Toto sa k nej dobre hodí:"],
        "button": "Pozrieť v obchode",
    },
}


# --- review request --------------------------------------------------------------------------

REVIEW_REQUEST = {
    "": {
        "subject": "How do you like your order?",
        "preheader": "Your review helps other customers choose.",
        "before": [
            "Your order {{ order.number }} has arrived. Now that you have had a little time "
            "with it, would you tell others what you think? It takes a minute."
        ],
        "after": ["Thank you: our team reads every review."],
    },
    "fr": {
        "subject": "Votre commande vous plaît-elle ?",
        "preheader": "Votre avis aide les autres clients à choisir.",
        "before": [
            "Votre commande {{ order.number }} est arrivée. Maintenant que vous avez pu "
            "l’essayer, voulez-vous dire aux autres ce que vous en pensez ? Cela prend une "
            "minute."
        ],
        "after": ["Merci : notre équipe lit chaque avis."],
    },
    "ru": {
        "subject": "Как вам ваш заказ?",
        "preheader": "Ваш отзыв поможет другим покупателям с выбором.",
        "before": [
            "Ваш заказ {{ order.number }} доставлен. Теперь, когда вы успели с ним "
            "познакомиться, расскажете другим, что думаете? Это займёт минуту."
        ],
        "after": ["Спасибо: наша команда читает каждый отзыв."],
    },
    "bg": {
        "subject": "Харесва ли ви поръчката?",
        "preheader": "Вашият отзив помага на другите клиенти да изберат.",
        "before": [
            "Поръчката ви {{ order.number }} пристигна. Сега, след като сте имали време да "
            "я разгледате, ще споделите ли мнението си? Отнема минута."
        ],
        "after": ["Благодарим ви: нашият екип чете всеки отзив."],
    },
    "sk": {
        "subject": "Ako ste spokojní s objednávkou?",
        "preheader": "Vaša recenzia pomôže ostatným zákazníkom vybrať si.",
        "before": [
            "Vaša objednávka {{ order.number }} dorazila. Teraz, keď ste ju mali chvíľu "
            "doma, poviete ostatným, čo si o nej myslíte? Zaberie to minútu."
        ],
        "after": ["Ďakujeme: náš tím číta každú recenziu."],
    },
}


# --- win-back --------------------------------------------------------------------------------

MISS_YOU = {
    "": {
        "subject": "It has been a while: here is what is new at {{ shop.name }}",
        "preheader": "A few new things we think you will like.",
        "before": [
            "It has been a while since your last order, and we wanted to say hello. Much "
            "has arrived since; a few things we think you will like:"
        ],
        "button": "See what is new",
    },
    "fr": {
        "subject": "Cela fait un moment : les nouveautés de {{ shop.name }}",
        "preheader": "Quelques nouveautés qui devraient vous plaire.",
        "before": [
            "Votre dernière commande date un peu, et nous voulions vous dire bonjour. "
            "Beaucoup de choses sont arrivées depuis ; en voici quelques-unes qui devraient "
            "vous plaire :"
        ],
        "button": "Voir les nouveautés",
    },
    "ru": {
        "subject": "Давно не виделись: что нового в {{ shop.name }}",
        "preheader": "Несколько новинок, которые вам понравятся.",
        "before": [
            "Ваш последний заказ был довольно давно, и мы решили передать привет. С тех "
            "пор появилось много нового; вот что, как нам кажется, вам понравится:"
        ],
        "button": "Смотреть новинки",
    },
    "bg": {
        "subject": "Отдавна не сме се виждали: новото в {{ shop.name }}",
        "preheader": "Няколко нови неща, които ще ви харесат.",
        "before": [
            "Мина доста време от последната ви поръчка и искахме да ви поздравим. Оттогава "
            "пристигна много ново; ето какво мислим, че ще ви хареса:"
        ],
        "button": "Вижте новото",
    },
    "sk": {
        "subject": "Je to už nejaký čas: novinky v {{ shop.name }}",
        "preheader": "Pár noviniek, ktoré sa vám budú páčiť.",
        "before": [
            "Od vašej poslednej objednávky už prešiel nejaký čas a chceli sme vás pozdraviť. "
            "Odvtedy pribudlo veľa nového; toto sa vám podľa nás bude páčiť:"
        ],
        "button": "Pozrieť novinky",
    },
}

COME_BACK_GIFT = {
    "": {
        "subject": f"{PERCENT} off your next order",
        "preheader": "A code for you alone, valid two weeks.",
        "before": [f"We would love to see you again. Here is {PERCENT} off your next order:"],
        "after": [f"The code is for you alone and works until {EXPIRY_DATE}."],
        "button": "Shop now",
    },
    "fr": {
        "subject": f"{PERCENT} de remise sur votre prochaine commande",
        "preheader": "Un code rien que pour vous, valable deux semaines.",
        "before": [
            f"Nous serions ravis de vous revoir. Voici {PERCENT} de remise sur votre "
            "prochaine commande :"
        ],
        "after": [f"Le code est personnel et valable jusqu’au {EXPIRY_DATE}."],
        "button": "J’en profite",
    },
    "ru": {
        "subject": f"Скидка {PERCENT} на следующий заказ",
        "preheader": "Код только для вас, действует две недели.",
        "before": [f"Мы будем рады видеть вас снова. Вот скидка {PERCENT} на следующий заказ:"],
        "after": [f"Код только для вас и действует до {EXPIRY_DATE}."],
        "button": "За покупками",
    },
    "bg": {
        "subject": f"{PERCENT} отстъпка за следващата ви поръчка",
        "preheader": "Код само за вас, валиден две седмици.",
        "before": [
            f"Ще се радваме да ви видим отново. Ето {PERCENT} отстъпка за следващата ви поръчка:"
        ],
        "after": [f"Кодът е само за вас и важи до {EXPIRY_DATE}."],
        "button": "Пазарувайте сега",
    },
    "sk": {
        "subject": f"Zľava {PERCENT} na vašu ďalšiu objednávku",
        "preheader": "Kód len pre vás, platí dva týždne.",
        "before": [f"Radi vás opäť uvidíme. Tu je zľava {PERCENT} na vašu ďalšiu objednávku:"],
        "after": [f"Kód je len pre vás a platí do {EXPIRY_DATE}."],
        "button": "Nakupovať",
    },
}

LAST_CALL = {
    "": {
        "subject": f"Your {PERCENT} code ends on {EXPIRY_DATE}",
        "preheader": "The last note about your code.",
        "before": [
            f"A last note: your code ({PERCENT} off your next order) ends on {EXPIRY_DATE}. "
            "After that we will not write about it again."
        ],
        "button": "Use my code",
    },
    "fr": {
        "subject": f"Votre code de {PERCENT} expire le {EXPIRY_DATE}",
        "preheader": "Le dernier mot sur votre code.",
        "before": [
            f"Un dernier mot : votre code ({PERCENT} sur votre prochaine commande) expire le "
            f"{EXPIRY_DATE}. Nous ne vous en reparlerons plus ensuite."
        ],
        "button": "Utiliser mon code",
    },
    "ru": {
        "subject": f"Ваш код на {PERCENT} действует до {EXPIRY_DATE}",
        "preheader": "Последнее напоминание о вашем коде.",
        "before": [
            f"Последнее напоминание: ваш код (скидка {PERCENT} на следующий заказ) действует "
            f"до {EXPIRY_DATE}. Больше мы о нём писать не будем."
        ],
        "button": "Использовать код",
    },
    "bg": {
        "subject": f"Кодът ви за {PERCENT} изтича на {EXPIRY_DATE}",
        "preheader": "Последно напомняне за вашия код.",
        "before": [
            f"Последно напомняне: кодът ви ({PERCENT} отстъпка за следващата поръчка) изтича "
            f"на {EXPIRY_DATE}. След това няма да ви пишем за него."
        ],
        "button": "Използвайте кода",
    },
    "sk": {
        "subject": f"Váš kód na {PERCENT} platí do {EXPIRY_DATE}",
        "preheader": "Posledná pripomienka vášho kódu.",
        "before": [
            f"Posledná pripomienka: váš kód (zľava {PERCENT} na ďalšiu objednávku) platí do "
            f"{EXPIRY_DATE}. Potom vám o ňom už nenapíšeme."
        ],
        "button": "Použiť kód",
    },
}
