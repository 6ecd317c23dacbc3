"""A realistic sample catalog for a first run and for demos: real brands and tread lines over the
sizes passenger cars and SUVs in Ukraine run on, with plausible prices (UAH) and stock.

It is generated from a fixed seed, so every run makes the same SKUs, and it needs no data file.
"""

import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from .models import Brand, Season, Tire


@dataclass(frozen=True)
class SampleTire:
    sku: str
    brand: str
    model: str
    width: int
    profile: int
    rim_diameter: int
    season: str
    load_index: int
    speed_index: str
    studded: bool
    price: Decimal
    stock_quantity: int


# (brand, tier, aliases as Ukrainian and Russian callers say them)
# Tier: 3 premium, 2 mid-range, 1 budget; it scales the price.
BRANDS: list[tuple[str, int, str]] = [
    ("Michelin", 3, "Мішлен, Мишлен, Мішелін"),
    ("Continental", 3, "Континенталь, Конті, Конти"),
    ("Bridgestone", 3, "Бріджстоун, Бриджстоун"),
    ("Goodyear", 3, "Гудієр, Гудьир, Гудиер"),
    ("Pirelli", 3, "Піреллі, Пирелли"),
    ("Nokian Tyres", 3, "Нокіан, Нокиан, Nokian"),
    ("Dunlop", 2, "Данлоп"),
    ("Hankook", 2, "Ханкук, Хенкук"),
    ("Yokohama", 2, "Йокогама, Йокохама"),
    ("Toyo", 2, "Тойо"),
    ("Kumho", 2, "Кумхо"),
    ("Falken", 2, "Фалкен"),
    ("BFGoodrich", 2, "Бі Еф Гудріч, БФ Гудрич"),
    ("Nexen", 1, "Нексен"),
    ("Kleber", 1, "Клебер"),
    ("Matador", 1, "Матадор"),
    ("Barum", 1, "Барум"),
    ("Premiorri", 1, "Преміоррі, Премиорри"),
    ("Rosava", 1, "Росава"),
    ("Triangle", 1, "Тріангл, Триангл"),
    ("Sailun", 1, "Сайлун"),
]

# Tread lines per brand and season. Studded winter lines are marked with "*".
MODELS: dict[str, dict[str, list[str]]] = {
    "Michelin": {
        "summer": ["Pilot Sport 5", "Primacy 4+"],
        "winter": ["Alpin 6", "X-Ice North 4*"],
        "all_season": ["CrossClimate 2"],
    },
    "Continental": {
        "summer": ["PremiumContact 7", "EcoContact 6"],
        "winter": ["WinterContact TS 870", "IceContact 3*"],
        "all_season": ["AllSeasonContact 2"],
    },
    "Bridgestone": {
        "summer": ["Turanza 6", "Potenza Sport"],
        "winter": ["Blizzak LM005"],
        "all_season": ["Weather Control A005"],
    },
    "Goodyear": {
        "summer": ["EfficientGrip Performance 2", "Eagle F1 Asymmetric 6"],
        "winter": ["UltraGrip Performance 3", "UltraGrip Arctic 2*"],
        "all_season": ["Vector 4Seasons Gen-3"],
    },
    "Pirelli": {
        "summer": ["P Zero", "Cinturato P7"],
        "winter": ["Winter Sottozero 3"],
        "all_season": ["Cinturato All Season SF3"],
    },
    "Nokian Tyres": {
        "summer": ["Hakka Green 3", "Hakka Blue 3"],
        "winter": ["Hakkapeliitta R5", "Hakkapeliitta 10*"],
        "all_season": ["Seasonproof 1"],
    },
    "Dunlop": {"summer": ["Sport BluResponse", "SP Sport Maxx 060+"], "winter": ["Winter Sport 5"]},
    "Hankook": {
        "summer": ["Ventus Prime 4", "Kinergy Eco 2"],
        "winter": ["Winter i*cept RS3", "Winter i*Pike RS2*"],
        "all_season": ["Kinergy 4S 2"],
    },
    "Yokohama": {
        "summer": ["BluEarth-GT AE51", "Advan Sport V107"],
        "winter": ["BluEarth*Winter V906", "iceGUARD iG65*"],
    },
    "Toyo": {"summer": ["Proxes Comfort"], "winter": ["Observe S944"]},
    "Kumho": {
        "summer": ["Ecsta HS52"],
        "winter": ["WinterCraft WP52", "WinterCraft Ice WI32*"],
        "all_season": ["Solus 4S HA32"],
    },
    "Falken": {"summer": ["Ziex ZE310 Ecorun"], "winter": ["Eurowinter HS01"]},
    "BFGoodrich": {"summer": ["Advantage"], "winter": ["g-Force Winter 2"]},
    "Nexen": {"summer": ["N'blue HD Plus"], "winter": ["Winguard Sport 2"]},
    "Kleber": {"summer": ["Dynaxer HP4"], "winter": ["Krisalp HP3"]},
    "Matador": {"summer": ["MP 47 Hectorra 3"], "winter": ["MP 93 Nordicca", "MP 30 Sibir Ice 2*"]},
    "Barum": {"summer": ["Bravuris 5HM"], "winter": ["Polaris 5"]},
    "Premiorri": {"summer": ["Solazo S Plus"], "winter": ["ViaMaggiore Z Plus"]},
    "Rosava": {"summer": ["Itegro"], "winter": ["Snowgard", "WQ-102*"]},
    "Triangle": {"summer": ["EffeXSport TH202"], "winter": ["PL01", "TI501*"]},
    "Sailun": {
        "summer": ["Atrezzo Elite"],
        "winter": ["Ice Blazer WST3*"],
        "all_season": ["Atrezzo 4Seasons"],
    },
}

# Common sizes with a typical load index; SUV sizes are the wide, tall ones.
SIZES: list[tuple[int, int, int, int]] = [
    (175, 70, 13, 82),
    (175, 65, 14, 82),
    (185, 65, 14, 86),
    (185, 60, 14, 82),
    (185, 65, 15, 88),
    (195, 65, 15, 91),
    (195, 60, 15, 88),
    (205, 65, 15, 94),
    (195, 55, 16, 87),
    (205, 55, 16, 91),
    (205, 60, 16, 92),
    (215, 60, 16, 99),
    (215, 65, 16, 98),
    (225, 55, 16, 95),
    (205, 50, 17, 93),
    (215, 55, 17, 98),
    (225, 45, 17, 94),
    (225, 50, 17, 98),
    (225, 65, 17, 102),
    (235, 55, 17, 103),
    (235, 65, 17, 108),
    (265, 65, 17, 112),
    (225, 45, 18, 95),
    (235, 55, 18, 104),
    (235, 60, 18, 107),
    (245, 45, 18, 100),
    (255, 55, 18, 109),
    (265, 60, 18, 110),
    (245, 40, 19, 98),
    (255, 50, 19, 107),
    (235, 50, 19, 103),
    (275, 45, 20, 110),
]
SEASON_SPEED = {"summer": ["H", "V", "W", "Y"], "winter": ["T", "H"], "all_season": ["H", "V"]}
SEASON_PRICE = {"summer": 1.0, "winter": 1.12, "all_season": 1.08}
TIER_PRICE = {1: 0.65, 2: 0.9, 3: 1.25}


def generate(seed: int = 2026) -> list[SampleTire]:
    """The sample catalog: the same tires for the same seed."""
    rng = random.Random(seed)
    tiers = {name: tier for name, tier, _ in BRANDS}
    tires: list[SampleTire] = []
    for brand, seasons in MODELS.items():
        tier = tiers[brand]
        for season, models in seasons.items():
            for raw_model in models:
                studded = raw_model.endswith("*")
                model = raw_model.rstrip("*")
                # Each tread line comes in a plausible part of the size range, not all of it.
                sizes = rng.sample(SIZES, k=rng.randint(6, 12) if tier > 1 else rng.randint(4, 8))
                for width, profile, rim, load in sorted(sizes):
                    speed = rng.choice(SEASON_SPEED[season])
                    if profile <= 45:
                        load += 3  # low profiles are usually reinforced (XL)
                    tires.append(
                        SampleTire(
                            sku=_sku(brand, model, width, profile, rim, load, speed, studded),
                            brand=brand,
                            model=model,
                            width=width,
                            profile=profile,
                            rim_diameter=rim,
                            season=season,
                            load_index=load,
                            speed_index=speed,
                            studded=studded,
                            price=_price(rng, tier, season, width, rim, studded),
                            stock_quantity=rng.choice([0, 0, 2, 4, 4, 6, 8, 12, 16, 20, 24, 40]),
                        )
                    )
    return tires


def _sku(brand, model, width, profile, rim, load, speed, studded) -> str:
    initials = "".join(word[0] for word in model.replace("-", " ").split() if word[0].isalnum())
    spike = "-ST" if studded else ""
    return f"{brand[:2].upper()}-{initials.upper()}-{width}{profile}{rim}-{load}{speed}{spike}"


def _price(rng: random.Random, tier: int, season: str, width: int, rim: int, studded: bool):
    base = 2000 + (rim - 13) * 560 + (width - 175) * 14
    price = base * TIER_PRICE[tier] * SEASON_PRICE[season] * (1.06 if studded else 1.0)
    price *= rng.uniform(0.93, 1.08)
    return Decimal(round(price / 10) * 10).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class LoadResult:
    brands_created: int
    tires_created: int
    tires_updated: int


@transaction.atomic
def load_sample_catalog(seed: int = 2026) -> LoadResult:
    """Create or update the sample brands and tires; running it again changes nothing."""
    aliases = {name: alias for name, _, alias in BRANDS}
    brands: dict[str, Brand] = {}
    brands_created = 0
    for name, alias in aliases.items():
        brands[name], created = Brand.objects.get_or_create(name=name, defaults={"aliases": alias})
        brands_created += created
    created = updated = 0
    for sample in generate(seed):
        _, was_created = Tire.objects.update_or_create(
            sku=sample.sku,
            defaults={
                "brand": brands[sample.brand],
                "model": sample.model,
                "width": sample.width,
                "profile": sample.profile,
                "rim_diameter": sample.rim_diameter,
                "season": Season(sample.season),
                "load_index": sample.load_index,
                "speed_index": sample.speed_index,
                "studded": sample.studded,
                "price": sample.price,
                "stock_quantity": sample.stock_quantity,
                "is_active": True,
            },
        )
        created += was_created
        updated += not was_created
    return LoadResult(brands_created, created, updated)
