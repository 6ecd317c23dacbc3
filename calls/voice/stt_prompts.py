"""What recognition is told to expect: Whisper's prompt per language and per expected slot.

The agent names the slot it asks for next (`CallContext.expect`); the prompt is fitted to it.
Whisper copies a prompt's style: a phone number written digit by digit comes back digit by
digit, where a grouped one ("067 123 45 67") came back grouped with digits dropped. And a short
or unclear utterance may come back as the prompt itself, so prompts stay short, and the prompt
for a name holds no digits at all (see docs/engines.md).
"""

EXPECTS = (
    "size", "season", "choice", "quantity", "name", "phone", "fulfilment", "address", "confirm",
    "order_number", "free",
)  # fmt: skip

PROMPTS = {
    "en": {
        "free": (
            "A customer calls a tire shop. Tire sizes like 205/55 R16 and 195/65 R15. Brands: "
            "Michelin, Continental, Nokian, Goodyear, Bridgestone, Pirelli, Hankook. Winter, "
            "summer, all-season tires. Yes. No. Phone 0 6 7 1 2 3 4 5 6 7."
        ),
        "size": "Tire size: 205/55 R16. 195/65 R15. 225/45 R17.",
        "season": "Winter tires. Summer tires. All-season tires.",
        "choice": "Michelin, Continental, Nokian, Goodyear, Bridgestone, Pirelli, Hankook. The "
        "first one. The cheaper one.",
        "quantity": "Four tires. Two. 4.",
        "name": "Your name, please?",
        "phone": "Phone number: 0 6 7 1 2 3 4 5 6 7.",
        "fulfilment": "Pick up at the shop, or delivery?",
        "address": "Delivery address: street, house number, city.",
        "confirm": "Is that right? Yes. No.",
        "order_number": "Order number: 1 0 4 5 2 3.",
    },
    "uk": {
        "free": (
            "Клієнт телефонує до шинного центру. Розміри шин: 205/55 R16, 195/65 R15. Michelin, "
            "Continental, Nokian. Зимові, літні, всесезонні шини. Так. Ні. "
            "Телефон 0 6 7 1 2 3 4 5 6 7."
        ),
        "size": "Розмір шин: 205/55 R16. 195/65 R15. 225/45 R17.",
        "season": "Зимові шини. Літні шини. Всесезонні шини.",
        "choice": "Michelin, Continental, Nokian, Goodyear, Pirelli. Перший. Дешевший.",
        "quantity": "Чотири шини. Дві. 4.",
        "name": "Як вас звати?",
        "phone": "Номер телефону: 0 6 7 1 2 3 4 5 6 7.",
        "fulfilment": "Самовивіз чи доставка?",
        "address": "Адреса доставки: вулиця, будинок, місто.",
        "confirm": "Правильно? Так. Ні.",
        "order_number": "Номер замовлення: 1 0 4 5 2 3.",
    },
    "ru": {
        "free": (
            "Клиент звонит в шинный центр. Размеры шин: 205/55 R16, 195/65 R15. Michelin, "
            "Continental, Nokian. Зимние, летние, всесезонные шины. Да. Нет. "
            "Телефон 0 6 7 1 2 3 4 5 6 7."
        ),
        "size": "Размер шин: 205/55 R16. 195/65 R15. 225/45 R17.",
        "season": "Зимние шины. Летние шины. Всесезонные шины.",
        "choice": "Michelin, Continental, Nokian, Goodyear, Pirelli. Первый. Подешевле.",
        "quantity": "Четыре шины. Две. 4.",
        "name": "Как вас зовут?",
        "phone": "Номер телефона: 0 6 7 1 2 3 4 5 6 7.",
        "fulfilment": "Самовывоз или доставка?",
        "address": "Адрес доставки: улица, дом, город.",
        "confirm": "Правильно? Да. Нет.",
        "order_number": "Номер заказа: 1 0 4 5 2 3.",
    },
}

# The prompt before recognition learnt what the agent expects: one for every turn. Kept to
# measure against (loadtests/measure_human_voices.py --prompt domain).
DOMAIN_PROMPTS = {
    "en": (
        "A customer calls a tire shop. Tire sizes like 205/55 R16 and 195/65 R15. Brands: "
        "Michelin, Continental, Nokian, Goodyear, Bridgestone, Pirelli, Hankook. Winter, summer, "
        "all-season tires. Yes. No. Phone 067 123 45 67. Order number 104523."
    ),
    "uk": (
        "Клієнт телефонує до шинного центру. Розміри шин: 205/55 R16, 195/65 R15. Michelin, "
        "Continental, Nokian. Зимові, літні, всесезонні шини. Так. Ні. Телефон 067 123 45 67."
    ),
    "ru": (
        "Клиент звонит в шинный центр. Размеры шин: 205/55 R16, 195/65 R15. Michelin, "
        "Continental, Nokian. Зимние, летние, всесезонные шины. Да. Нет. Телефон 067 123 45 67."
    ),
}


def prompt_for(language: str, expect: str = "free") -> str | None:
    """The prompt for what the agent expects; an unknown slot gets the free-speech prompt."""
    prompts = PROMPTS.get(language)
    if prompts is None:
        return None
    return prompts.get(expect) or prompts["free"]
