"""Bounds on what the admin's search box sends to the database: absurd input gets a message."""

from django.contrib import messages
from django.utils.text import smart_split

# A search of more words builds a WHERE clause deeper than SQLite allows (1,000 levels) and
# slows PostgreSQL for nothing: no one searches for more than a phrase.
MAX_SEARCH_WORDS = 10
MAX_SEARCH_LENGTH = 200


def bounded_search_term(request, search_term: str) -> str:
    """The term with what no database accepts removed (NUL bytes, lone surrogates) and cut to
    MAX_SEARCH_WORDS words and MAX_SEARCH_LENGTH characters, telling the user when it was cut."""
    term = search_term.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")
    words = list(smart_split(term))
    if len(words) > MAX_SEARCH_WORDS or len(term) > MAX_SEARCH_LENGTH:
        term = " ".join(words[:MAX_SEARCH_WORDS])[:MAX_SEARCH_LENGTH]
        messages.warning(
            request,
            f"The search was cut to its first {MAX_SEARCH_WORDS} words and "
            f"{MAX_SEARCH_LENGTH} characters.",
        )
    return term


class BoundedSearchMixin:
    """For every ModelAdmin with search_fields: list it before admin.ModelAdmin."""

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(
            request, queryset, bounded_search_term(request, search_term)
        )
