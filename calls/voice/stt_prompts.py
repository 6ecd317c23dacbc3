"""What recognition is told to expect: Whisper's prompt per language and per expected slot.

The agent names the slot it asks for next (`CallContext.expect`); the prompt is fitted to it.
Whisper copies a prompt's style: a phone number written digit by digit comes back digit by
digit, where a grouped one ("067 123 45 67") came back grouped with digits dropped. And a short
or unclear utterance may come back as the prompt itself, so prompts stay short, and the prompt
for a name holds no digits at all. A prompt that ends with an answer swallows it: after "Is
that right? Yes. No." a caller's "No, thank you" came back "Thank you."; so the prompt of a
short answer ends with the question (see docs/engines.md). The phone prompt's example number is
not the one the project's tests and docs use (067 123 45 67): a caller who says exactly the
prompt's example is taken for a recitation and heard again without the prompt, which turned
"zero six seven, one two three ..." into "0.05,".
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
        "season": "Winter, summer or all-season tires?",
        "choice": "Michelin, Continental, Nokian, Goodyear, Bridgestone, Pirelli, Hankook. Which "
        "one would you like?",
        "quantity": "Four tires, or two? How many do you need?",
        "name": "Your name, please?",
        "phone": "Phone number: 0 5 0 9 8 7 6 5 4 3.",
        "fulfilment": "Pick up at the shop, or delivery?",
        "address": "The delivery address: street, house number and city?",
        "confirm": "Did I get that right?",
        "order_number": "Order number: 1 0 4 5 2 3.",
    },
    "uk": {
        "free": (
            "Клієнт телефонує до шинного центру. Розміри шин: 205/55 R16, 195/65 R15. Michelin, "
            "Continental, Nokian. Зимові, літні, всесезонні шини. Так. Ні. "
            "Телефон 0 6 7 1 2 3 4 5 6 7."
        ),
        "size": "Розмір шин: 205/55 R16. 195/65 R15. 225/45 R17.",
        "season": "Зимові, літні чи всесезонні шини?",
        "choice": "Michelin, Continental, Nokian, Goodyear, Pirelli. Який вам підходить?",
        "quantity": "Чотири шини чи дві? Скільки вам потрібно?",
        "name": "Як вас звати?",
        "phone": "Номер телефону: 0 5 0 9 8 7 6 5 4 3.",
        "fulfilment": "Самовивіз чи доставка?",
        "address": "Адреса доставки: вулиця, будинок і місто?",
        "confirm": "Я правильно зрозумів?",
        "order_number": "Номер замовлення: 1 0 4 5 2 3.",
    },
    "ru": {
        "free": (
            "Клиент звонит в шинный центр. Размеры шин: 205/55 R16, 195/65 R15. Michelin, "
            "Continental, Nokian. Зимние, летние, всесезонные шины. Да. Нет. "
            "Телефон 0 6 7 1 2 3 4 5 6 7."
        ),
        "size": "Размер шин: 205/55 R16. 195/65 R15. 225/45 R17.",
        "season": "Зимние, летние или всесезонные шины?",
        "choice": "Michelin, Continental, Nokian, Goodyear, Pirelli. Какой вам подходит?",
        "quantity": "Четыре шины или две? Сколько вам нужно?",
        "name": "Как вас зовут?",
        "phone": "Номер телефона: 0 5 0 9 8 7 6 5 4 3.",
        "fulfilment": "Самовывоз или доставка?",
        "address": "Адрес доставки: улица, дом и город?",
        "confirm": "Я правильно понял?",
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
