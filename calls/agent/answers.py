"""Answers to a caller's questions about the tires on the table (price, stock, studs, quality,
the options, the cheapest), delivery and the hours: from the catalog and the shop's settings,
never made up. The flow then goes on with the call's question."""

import re
from decimal import Decimal

from django.conf import settings

from . import tools
from .messages import STUD_WORDS, delivery_terms, money
from .readout import offer_facts, offer_options
from .understanding import Heard

# Words that point at the tires offered: the question is about them, not for others.
_POINTED = re.compile(
    r"(?<![^\W\d_])(?:вони|они|ці|эти|ті|те|they|these|those|them|it|вона|она|він|он)(?![^\W\d_])"
)


class Answers:
    """What the dialogue says to a question (a mixin of the policy: it reads and marks the
    frame)."""

    def answer(self, heard: Heard) -> str:
        """The answer to a question, from the catalog; the flow then goes on."""
        state = self.state
        offers = state.get("offers") or []
        self.progress = self.answered = True
        # "вторые, а они шипованные?": the answer is about the tire picked in the same breath.
        picked = offers[heard.choice - 1] if heard.choice and offers else state.get("choice")
        if heard.about and offers and not heard.choice:
            picked = offers[heard.about - 1]  # "а другі скільки коштують?": "так" then takes them
            if not state.get("choice"):
                state["suggested"] = heard.about
        if heard.question == "delivery":
            state["asked_delivery"] = True
            return delivery_terms(self.language)
        if heard.question == "hours":
            hours = settings.SHOP_HOURS.get(self.language, "")
            return self.say("answer_hours", hours=hours) if hours else self.say("hours_unknown")
        if heard.question == "quality":
            brand = heard.brand or (picked or {}).get("brand")
            if not brand and len(offers) == 1:
                brand = offers[0]["brand"]
            if not brand:
                return ""
            places = [i for i, offer in enumerate(offers, 1) if offer["brand"] == brand]
            if places:
                state["suggested"] = places[0]
            # The offer asked about, what the bot knows of it; the pick is still the caller's.
            offer = picked if picked and picked["brand"] == brand else None
            offer = offer or (offers[places[0] - 1] if places else None)
            facts = offer_facts(offer, self.language) if offer else ""
            return facts + self.say("answer_quality", brand=brand)
        if heard.question == "studs" and offers and self.kind_asked(heard):
            return self.of_kind(heard.studded)
        if heard.question == "studs" and offers:
            places = [i for i, o in enumerate(offers, 1) if o["brand"] == heard.brand]
            place = places[0] if places else heard.choice or heard.about or state.get("suggested")
            place = place or (len(offers) == 1 and 1)
            if not place:
                return ""
            state["suggested"] = place
            offer = offers[place - 1]
            key = "answer_studded" if offer["studded"] else "answer_not_studded"
            return self.say(key, tire=f"{offer['brand']} {offer['model']}")
        if heard.question == "stock" and (picked or len(offers) == 1):
            offer = picked or offers[0]
            return self.say("answer_stock", stock=offer["stock"])
        if heard.question == "compare" and len(offers) > 1:
            ranked = sorted(offers, key=lambda offer: float(offer["price"]))
            low, high = ranked[0], ranked[-1]
            return self.say(
                "answer_compare",
                cheap=f"{low['brand']} {low['model']}",
                cheap_price=money(Decimal(low["price"]), self.language),
                dear=f"{high['brand']} {high['model']}",
                dear_price=money(Decimal(high["price"]), self.language),
            )
        if heard.question == "options" and offers:
            return self.options_said(offers)
        if heard.question == "stock" and offers:
            each = [self.say("stock_of", tire=f"{o['brand']} {o['model']}", stock=o["stock"])
                    for o in offers]  # fmt: skip
            return "; ".join(each) + ". "
        if heard.question == "cheapest" and offers:
            place = min(range(len(offers)), key=lambda i: float(offers[i]["price"])) + 1
            state["suggested"] = place
            cheapest = offers[place - 1]
            return self.say(
                "answer_cheapest",
                tire=f"{cheapest['brand']} {cheapest['model']}",
                price=money(Decimal(cheapest["price"]), self.language),
            )
        if heard.question in ("price", "cheapest"):
            chosen = [picked] if picked else offers
            prices = [
                self.say(
                    "price_of",
                    tire=f"{o['brand']} {o['model']}",
                    price=money(Decimal(o["price"]), self.language),
                )
                for o in chosen
            ]
            return self.say("answer_price", prices="; ".join(prices)) if prices else ""
        return ""

    def options_said(self, offers: list[dict]) -> str:
        """The offers on the table again, with their prices ("what else do you have?"); the one
        offered alone is said to be the only one in the size."""
        said = offer_options(offers, self.language)
        if len(said) == 1:
            return self.say("only_offer", size=self.state.get("size", ""), option=said[0])
        return "; ".join(said) + ". "

    def kind_asked(self, heard: Heard) -> bool:
        """ "А липучка є?", "а на липучке есть?", "any studded ones?": tires of a kind asked
        for, no offer named or pointed at ("а вони шиповані?" asks about the offers)."""
        named = heard.choice or heard.about or heard.brand
        return heard.studded is not None and not named and not _POINTED.search(heard.lower)

    def of_kind(self, studded: bool) -> str:
        """The offers of the kind asked for; else that kind in the size from the catalog, which
        then replace the offers; else that there are none (the offers stay)."""
        state, language = self.state, self.language
        size = state.get("size", "")
        offers = state.get("offers") or []
        same = [
            i
            for i, offer in enumerate(offers, 1)
            if offer["season"] == "winter" and bool(offer["studded"]) == studded
        ]  # липучка is a winter tire: summer ones have no studs, but are none
        if same:
            said = offer_options(offers, language)
            if len(same) == 1:
                state["suggested"] = same[0]
            options = "; ".join(said[i - 1] for i in same)
            kind = STUD_WORDS[studded, "found"][language]
            return self.say("kind_found", kind=kind, size=size, options=options)
        found = tools.search_tires(size=size, season="winter", studded=studded)
        if not found:
            return self.say("kind_none", kind=STUD_WORDS[studded, "none"][language], size=size)
        for slot in ("choice", "suggested", "among", "brand"):
            state.pop(slot, None)
        state.update(season="winter", studded=studded, offers=[t.as_json() for t in found])
        options = "; ".join(offer_options(state["offers"], language))
        kind = STUD_WORDS[studded, "found"][language]
        return self.say("kind_found", kind=kind, size=size, options=options)
