"""The one translation table (zh-CN, en). Views never hard-code text: they
call ``Translator(lang)(key, **values)``. ``missing_translations()`` is the
completeness check the tests run."""

from __future__ import annotations

from shared_schema.case_sources import CASE_SOURCES, LEGACY_SOURCES
from shared_schema.cases import EVENT_KINDS, LEVELS, STATUSES

from . import errors, field, office

LANGUAGES = ("zh", "en")

# key: (zh, en): the field app's table (with the words both apps use), the error
# codes', the office console's
STRINGS: dict[str, tuple[str, str]] = {**field.STRINGS, **errors.STRINGS, **office.STRINGS}


# Case sources: the one shared list (shared_schema.case_sources), old phones' codes too.
STRINGS.update({f"source.{code}": pair for code, pair in CASE_SOURCES.items()})
STRINGS.update({f"source.{old}": CASE_SOURCES[new] for old, new in LEGACY_SOURCES.items()})

# Families whose keys are built from domain values: every value needs a string.
FAMILIES: dict[str, tuple[str, ...]] = {
    "status": STATUSES,
    "level": LEVELS,
    "event": EVENT_KINDS,
}


def missing_translations() -> list[str]:
    """Keys missing or empty in a language, and domain values without a string."""
    problems = [f"{k}:{lang}" for k, pair in STRINGS.items()
                for lang, text in zip(LANGUAGES, pair, strict=True) if not text]
    problems += [f"{fam}.{v}" for fam, values in FAMILIES.items() for v in values
                 if f"{fam}.{v}" not in STRINGS]
    return problems


class Translator:
    def __init__(self, lang: str = "zh") -> None:
        self.lang = lang if lang in LANGUAGES else "zh"
        self._i = LANGUAGES.index(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        pair = STRINGS.get(key)
        if pair is None:
            return key  # visible in screenshots and caught by the tests
        text = pair[self._i]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in STRINGS

    def error(self, code: str, fallback: str) -> str:
        key = f"err.{code}"
        return self(key) if key in STRINGS else (fallback or code)
