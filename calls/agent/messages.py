"""What the rule-based agent says, in each language the bot speaks, and how it says numbers."""

from decimal import Decimal

from django.conf import settings

MESSAGES = {
    "help": {
        "en": "I can find tires and take your order, or check an order's status. What do you need?",
        "uk": "Я можу підібрати шини й прийняти замовлення або перевірити статус замовлення. "
        "Що вам потрібно?",
        "ru": "Я могу подобрать шины и принять заказ или проверить статус заказа. Что вам нужно?",
    },
    "ask_size": {
        "en": "What tire size do you need? For example, two hundred five, fifty five, R sixteen.",
        "uk": "Який розмір шин вам потрібен? Наприклад, двісті п'ять, п'ятдесят п'ять, R16.",
        "ru": "Какой размер шин вам нужен? Например, двести пять, пятьдесят пять, R16.",
    },
    "ask_season": {
        "en": "Summer, winter or all-season tires?",
        "uk": "Літні, зимові чи всесезонні шини?",
        "ru": "Летние, зимние или всесезонные шины?",
    },
    "offer_one_again": {
        "en": "Shall I book these tires?",
        "uk": "Оформити ці шини?",
        "ru": "Оформить эти шины?",
    },
    "which_model": {
        "en": "Which {brand}: {models}?",
        "uk": "Які саме {brand}: {models}?",
        "ru": "Какие именно {brand}: {models}?",
    },
    "or": {"en": " or ", "uk": " чи ", "ru": " или "},
    "which_of_two": {
        "en": "Which one: the first or the second?",
        "uk": "Які саме: перші чи другі?",
        "ru": "Какие именно: первые или вторые?",
    },
    "size_did_you_mean": {
        "en": "Did you mean {size}?",
        "uk": "Ви маєте на увазі {size}?",
        "ru": "Вы имеете в виду {size}?",
    },
    "ask_keypad": {
        "en": "You can also key the number in on your phone and press hash.",
        "uk": "Можна також набрати номер на телефоні й натиснути решітку.",
        "ru": "Можно также набрать номер на телефоне и нажать решетку.",
    },
    "cancelled": {
        "en": "All right, I won't place the order. Can I help with anything else?",
        "uk": "Добре, замовлення не оформлюю. Чим ще можу допомогти?",
        "ru": "Хорошо, заказ не оформляю. Чем еще могу помочь?",
    },
    "answer_price": {
        "en": "{prices}. ",
        "uk": "{prices}. ",
        "ru": "{prices}. ",
    },
    "price_of": {
        "en": "{tire} costs {price} each",
        "uk": "{tire} коштує {price} за штуку",
        "ru": "{tire} стоит {price} за штуку",
    },
    "answer_cheapest": {
        "en": "The cheapest is {tire}, {price} each. ",
        "uk": "Найдешевші — {tire}, {price} за штуку. ",
        "ru": "Самые дешевые — {tire}, {price} за штуку. ",
    },
    "answer_quality": {
        "en": "{brand} is a brand our customers buy often; every tire comes with the "
        "manufacturer's warranty. ",
        "uk": "{brand} — бренд, який у нас часто купують; на всі шини є гарантія виробника. ",
        "ru": "{brand} — бренд, который у нас часто покупают; на все шины есть гарантия "
        "производителя. ",
    },
    # What the bot knows of one offer, said when asked about it ("а другі хороші?").
    "offer_facts": {
        "en": "{tire}: {kind}, {price} each, {stock} in stock. ",
        "uk": "{tire}: {kind}, {price} за штуку, у наявності {stock} шт. ",
        "ru": "{tire}: {kind}, {price} за штуку, в наличии {stock} шт. ",
    },
    # "А липучка є?" when the offers are studded: those of the kind asked for, or none.
    "kind_found": {
        "en": "Yes, I have {kind} in {size}: {options}. ",
        "uk": "Так, є {kind} у розмірі {size}: {options}. ",
        "ru": "Да, есть {kind} в размере {size}: {options}. ",
    },
    "kind_none": {
        "en": "Sorry, I have no {kind} in {size}. ",
        "uk": "На жаль, {kind} у розмірі {size} немає. ",
        "ru": "К сожалению, {kind} в размере {size} нет. ",
    },
    "answer_studded": {
        "en": "{tire} are studded. ",
        "uk": "{tire} — шиповані. ",
        "ru": "{tire} — шипованные. ",
    },
    "answer_not_studded": {
        "en": "{tire} have no studs. ",
        "uk": "{tire} — без шипів. ",
        "ru": "{tire} — без шипов. ",
    },
    "answer_stock": {
        "en": "I have {stock} of them in stock. ",
        "uk": "У наявності {stock} штук. ",
        "ru": "В наличии {stock} штук. ",
    },
    "stock_of": {
        "en": "{tire}: {stock} in stock",
        "uk": "{tire}: {stock} у наявності",
        "ru": "{tire}: {stock} в наличии",
    },
    "answer_compare": {
        "en": "They all fit your size. {cheap} is the cheapest, {cheap_price}; {dear} is the "
        "premium choice, {dear_price}. ",
        "uk": "Усі підходять за розміром. {cheap} — найдешевші, {cheap_price}; {dear} — "
        "преміальний вибір, {dear_price}. ",
        "ru": "Все подходят по размеру. {cheap} — самые дешевые, {cheap_price}; {dear} — "
        "премиальный выбор, {dear_price}. ",
    },
    "answer_delivery": {
        "en": "Delivery is priced by the address; our manager will tell you the cost when they "
        "call to confirm the order. ",
        "uk": "Вартість доставки залежить від адреси; менеджер назве її, коли зателефонує "
        "підтвердити замовлення. ",
        "ru": "Стоимость доставки зависит от адреса; менеджер назовет ее, когда позвонит "
        "подтвердить заказ. ",
    },
    "answer_hours": {
        "en": "The shop is open {hours}. ",
        "uk": "Магазин працює {hours}. ",
        "ru": "Магазин работает {hours}. ",
    },
    # Price, stock or quality asked before the tires are found (at "did you mean <size>?").
    "answer_later": {
        "en": "I'll tell you as soon as we've found your tires. ",
        "uk": "Підкажу, щойно підберемо шини. ",
        "ru": "Подскажу, как только подберем шины. ",
    },
    # The shop has not written its hours down (SHOP_HOURS_<LANG>): never invent them.
    "hours_unknown": {
        "en": "I don't have the opening hours at hand; our manager will tell you when they call. ",
        "uk": "Графіка роботи в мене під рукою немає; менеджер підкаже, коли зателефонує. ",
        "ru": "Графика работы у меня под рукой нет; менеджер подскажет, когда позвонит. ",
    },
    "no_size_like": {
        "en": "Sorry, I didn't catch the size. ",
        "uk": "Вибачте, я не розчула розмір. ",
        "ru": "Извините, я не расслышала размер. ",
    },
    "ask_full_size": {
        "en": "And the full size, with width and profile? For example, two hundred five, "
        "fifty five, R{rim}.",
        "uk": "А повний розмір, з шириною і профілем? Наприклад, двісті п'ять, "
        "п'ятдесят п'ять, R{rim}.",
        "ru": "А полный размер, с шириной и профилем? Например, двести пять, "
        "пятьдесят пять, R{rim}.",
    },
    "offers": {
        "en": "For {size} I have: {options}. Which one would you like?",
        "uk": "У розмірі {size} є: {options}. Які вам до вподоби?",
        "ru": "В размере {size} есть: {options}. Какие вам подходят?",
    },
    "offer_one": {
        "en": "For {size} I have {option}. Shall I take these?",
        "uk": "У розмірі {size} є {option}. Берете?",
        "ru": "В размере {size} есть {option}. Берете?",
    },
    "only_offer": {
        "en": "In {size} that is the only one I have: {option}. ",
        "uk": "У розмірі {size} є лише ця модель: {option}. ",
        "ru": "В размере {size} есть только эта модель: {option}. ",
    },
    "option": {
        "en": "{n}, {tire}, {price} each",
        "uk": "{n}, {tire}, {price} за штуку",
        "ru": "{n}, {tire}, {price} за штуку",
    },
    "no_brand_but": {
        "en": "I have no {brand} in that size. ",
        "uk": "{brand} у цьому розмірі немає. ",
        "ru": "{brand} в этом размере нет. ",
    },
    "none_found": {
        "en": "Sorry, I have no {what} in stock. Would you like another size or season?",
        "uk": "На жаль, {what} зараз немає в наявності. Можливо, інший розмір чи сезон?",
        "ru": "К сожалению, {what} сейчас нет в наличии. Может быть, другой размер или сезон?",
    },
    "which_one": {
        "en": "Which one: the first, the second or the third?",
        "uk": "Які саме: перші, другі чи треті?",
        "ru": "Какие именно: первые, вторые или третьи?",
    },
    "ask_quantity": {
        "en": "How many tires do you need?",
        "uk": "Скільки шин вам потрібно?",
        "ru": "Сколько шин вам нужно?",
    },
    "only_in_stock": {
        "en": "I have only {stock} of those. How many would you like?",
        "uk": "Їх є лише {stock}. Скільки вам потрібно?",
        "ru": "Их есть только {stock}. Сколько вам нужно?",
    },
    "ask_name": {
        "en": "What name should I put the order under?",
        "uk": "На яке ім'я оформити замовлення?",
        "ru": "На какое имя оформить заказ?",
    },
    "ask_phone": {
        "en": "What phone number can we reach you at?",
        "uk": "За яким номером телефону з вами зв'язатися?",
        "ru": "По какому номеру телефона с вами связаться?",
    },
    "ask_caller_phone": {
        "en": "Shall I use the number you are calling from, ending in {last}?",
        "uk": "Записати номер, з якого ви телефонуєте, що закінчується на {last}?",
        "ru": "Записать номер, с которого вы звоните, заканчивающийся на {last}?",
    },
    "bad_phone": {
        "en": "Sorry, that doesn't sound like a full phone number. Please say it digit by digit.",
        "uk": "Вибачте, це не схоже на повний номер. Назвіть його, будь ласка, по цифрах.",
        "ru": "Извините, это не похоже на полный номер. Назовите его, пожалуйста, по цифрам.",
    },
    "ask_fulfilment": {
        "en": "Will you pick them up at the shop, or do you need delivery?",
        "uk": "Ви заберете їх у магазині чи потрібна доставка?",
        "ru": "Вы заберете их в магазине или нужна доставка?",
    },
    "ask_address": {
        "en": "What is the delivery address?",
        "uk": "Яка адреса доставки?",
        "ru": "Какой адрес доставки?",
    },
    "confirm": {
        "en": "Let me check. {kind} {tire}, quantity {quantity}, {total} in total. Name: {name}. "
        "Phone: {phone}. {fulfilment}. Shall I place the order?",
        "uk": "Перевірмо. {kind} {tire}, кількість {quantity}, разом {total}. Ім'я: {name}. "
        "Телефон: {phone}. {fulfilment}. Оформлюю замовлення?",
        "ru": "Давайте проверим. {kind} {tire}, количество {quantity}, итого {total}. Имя: {name}. "
        "Телефон: {phone}. {fulfilment}. Оформляю заказ?",
    },
    "item": {
        "en": "{tire}, quantity {quantity}",
        "uk": "{tire}, кількість {quantity}",
        "ru": "{tire}, количество {quantity}",
    },
    "pickup": {"en": "Pickup at the shop", "uk": "Самовивіз", "ru": "Самовывоз"},
    "delivery_to": {
        "en": "Delivery to {address}",
        "uk": "Доставка: {address}",
        "ru": "Доставка: {address}",
    },
    "what_to_change": {
        "en": "What should I change? The tires, the quantity, the name, the phone or the delivery?",
        "uk": "Що змінити? Шини, кількість, ім'я, телефон чи доставку?",
        "ru": "Что изменить? Шины, количество, имя, телефон или доставку?",
    },
    "placed": {
        "en": "Done! Your order number is {number}. We will call you to confirm it. "
        "Can I help with anything else?",
        "uk": "Готово! Номер вашого замовлення {number}. Ми зателефонуємо, щоб підтвердити. "
        "Чим ще можу допомогти?",
        "ru": "Готово! Номер вашего заказа {number}. Мы позвоним, чтобы подтвердить. "
        "Чем еще могу помочь?",
    },
    "order_failed": {
        "en": "Sorry, I could not place the order. Let me put you through to an operator.",
        "uk": "Вибачте, не вдалося оформити замовлення. З'єдную вас з оператором.",
        "ru": "Извините, не удалось оформить заказ. Соединяю вас с оператором.",
    },
    "ask_order_number": {
        "en": "What is your order number? You can also key it in, then press hash.",
        "uk": "Який номер замовлення? Можна також набрати його на телефоні й натиснути решітку.",
        "ru": "Какой номер заказа? Можно также набрать его на телефоне и нажать решетку.",
    },
    "status": {
        "en": "Order {number}: {items}. It is {status}.",
        "uk": "Замовлення {number}: {items}. Статус: {status}.",
        "ru": "Заказ {number}: {items}. Статус: {status}.",
    },
    "no_order": {
        "en": "I can't find an order with the number {number}. Could you say it again?",
        "uk": "Не знаходжу замовлення з номером {number}. Повторіть, будь ласка.",
        "ru": "Не нахожу заказ с номером {number}. Повторите, пожалуйста.",
    },
    "no_order_for_phone": {
        "en": "I can't find orders for your number. What is the order number?",
        "uk": "Не знаходжу замовлень на ваш номер. Який номер замовлення?",
        "ru": "Не нахожу заказов на ваш номер. Какой номер заказа?",
    },
    "anything_else": {
        "en": "Can I help with anything else?",
        "uk": "Чим ще можу допомогти?",
        "ru": "Чем еще могу помочь?",
    },
    "goodbye": {
        "en": "Thank you for calling. Goodbye!",
        "uk": "Дякуємо за дзвінок. До побачення!",
        "ru": "Спасибо за звонок. До свидания!",
    },
    "transfer": {
        "en": "Connecting you to an operator. Please stay on the line.",
        "uk": "З'єдную вас з оператором. Залишайтеся на лінії.",
        "ru": "Соединяю вас с оператором. Оставайтесь на линии.",
    },
    "transfer_not_understood": {
        "en": "Sorry, I'm having trouble understanding. Let me put you through to an operator.",
        "uk": "Вибачте, мені важко вас зрозуміти. З'єдную вас з оператором.",
        "ru": "Извините, мне трудно вас понять. Соединяю вас с оператором.",
    },
    "sorry": {
        "en": "Sorry, I didn't get that. ",
        "uk": "Вибачте, я не зрозуміла. ",
        "ru": "Извините, я не поняла. ",
    },
}

# The kind of tire in the read-back: "Winter studded tires Michelin X-Ice North 4, ...".
TIRE_KINDS = {
    ("winter", True): {"en": "Winter studded tires", "uk": "Зимові шиповані шини",
                       "ru": "Зимние шипованные шины"},
    ("winter", False): {"en": "Winter tires", "uk": "Зимові шини", "ru": "Зимние шины"},
    ("summer", False): {"en": "Summer tires", "uk": "Літні шини", "ru": "Летние шины"},
    ("all_season", False): {"en": "All-season tires", "uk": "Всесезонні шини",
                            "ru": "Всесезонные шины"},
}  # fmt: skip
# Studded or not, as "there are ..." (found) and "there are no ..." (none) say it.
STUD_WORDS = {
    (True, "found"): {"en": "studded tires", "uk": "шиповані шини", "ru": "шипованные шины"},
    (True, "none"): {"en": "studded tires", "uk": "шипованих шин", "ru": "шипованных шин"},
    (False, "found"): {"en": "non-studded tires", "uk": "шини без шипів", "ru": "шины без шипов"},
    (False, "none"): {"en": "non-studded tires", "uk": "шин без шипів", "ru": "шин без шипов"},
}
SEASON_WORDS = {
    "winter": {"en": "winter tires", "uk": "зимових шин", "ru": "зимних шин"},
    "summer": {"en": "summer tires", "uk": "літніх шин", "ru": "летних шин"},
    "all_season": {"en": "all-season tires", "uk": "всесезонних шин", "ru": "всесезонных шин"},
    None: {"en": "tires", "uk": "шин", "ru": "шин"},
    "any": {"en": "tires", "uk": "шин", "ru": "шин"},
}
STATUS_WORDS = {
    "new": {"en": "received and waiting for confirmation", "uk": "прийняте, чекає на "
            "підтвердження", "ru": "принят, ожидает подтверждения"},
    "confirmed": {"en": "confirmed", "uk": "підтверджене", "ru": "подтвержден"},
    "completed": {"en": "completed", "uk": "виконане", "ru": "выполнен"},
    "cancelled": {"en": "cancelled", "uk": "скасоване", "ru": "отменен"},
}  # fmt: skip
CURRENCY_WORDS = {"UAH": {"en": "hryvnias", "uk": "гривень", "ru": "гривен"}}


def say(key: str, language: str, **values) -> str:
    phrases = MESSAGES[key]
    return phrases.get(language, phrases["en"]).format(**values)


def delivery_terms(language: str) -> str:
    """What the bot says to "how much is delivery?": the shop's own terms (SHOP_DELIVERY_<LANG>),
    or that the manager will name the cost; never a price made up."""
    terms = settings.SHOP_DELIVERY.get(language, "").strip().rstrip(".")
    return f"{terms}. " if terms else say("answer_delivery", language)


def money(amount: Decimal, language: str) -> str:
    currency = settings.SHOP_CURRENCY
    words = CURRENCY_WORDS.get(currency, {}).get(language, currency)
    whole = amount.quantize(Decimal("1")) if amount == amount.to_integral() else amount
    return f"{whole} {words}"


def digits_spoken(number: str) -> str:
    """An order number read digit by digit, which callers write down best."""
    return " ".join(number)


def phone_spoken(e164: str) -> str:
    """+380671234567 -> "0 6 7, 1 2 3, 4 5, 6 7" for a national number of the shop's country."""
    code = "+" + settings.PHONE_DEFAULT_COUNTRY_CODE
    national = e164.removeprefix(code)
    if national != e164 and code == "+380":
        national = "0" + national
    groups = [national[:3], national[3:6], national[6:8], national[8:]]
    return ", ".join(" ".join(group) for group in groups if group)
