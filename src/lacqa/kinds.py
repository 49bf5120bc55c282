"""What a question asks for (a date, a figure, a name, ...) and whether a text holds it.

``answer_type`` reads the question; ``holds_type`` and ``type_bonus`` read a candidate quote. Figures are
narrowed by what the question names: money for "what did it cost", a part for "what share", a count of the
thing counted for "how many students".
"""

from __future__ import annotations

import re
from functools import lru_cache

from .lang import load
from .places import CAPITALS, COUNTRIES
from .synonyms import alternatives
from .text import CARDINALS, NUMBER_WORDS, STOPWORDS, terms, words

_EMPTY: frozenset[str] = frozenset()
YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")
_NUMBER = re.compile(r"\d|\b(" + "|".join(["one", *CARDINALS, "first", "second", "third"]) + r")\b", re.I)  # a figure or rank
MONTH = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|December|"
                   r"(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)(?!\w)")
NUMERIC_DATE = re.compile(r"\b(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
_MEASURE = re.compile(
    r"\b(percentage|percent|share|proportion|number|amount|value|total|population|rate|cost|price|size|length|sum|"
    r"figure|volume|capacity|revenue|income|profit|turnover|earnings|budget|output|salary|wages?|fees?|area|distance|"
    r"height|depth|weight|duration|speed)\b")


def _asked_for(q: str) -> str:
    """The noun phrase a what/which question asks for: "what was argentina's gdp growth rate in 2021" -> "argentina's
    gdp growth rate"; "which territory do nations of that area avoid" -> "territory" (not "area")."""
    rest = re.sub(r"^(what|which)\s+((is|was|were|are|will be)\s+)?((the|a|an)\s+)?", "", q)
    head = []
    for w in re.findall(r"[\w'’-]+|[^\w\s]", rest):
        if not re.match(r"[\w'’-]", w) or (w in STOPWORDS and w not in ("total", "number")):
            break
        head.append(w)
    return " ".join(head)


@lru_cache(maxsize=1)
def _openers() -> re.Pattern[str]:
    return re.compile(r"^(?:%s)\b" % "|".join(load("shapes")["clause_openers"]), re.IGNORECASE)


_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def asked_clause(question: str) -> str:
    """The part of a question that asks: its last sentence that is a question (the context said before it is
    dropped: "Both X and Y deal with Z. How do their roles differ?"), and of that, what follows a leading phrase set
    off by a comma when an interrogative or an imperative opens it ("Apart from churches, what sorts of ...",
    "When I use a thread pool, why do I ..."). The shape patterns are read against it, so they need not allow
    for every lead-in."""
    parts = [p.strip() for p in _SENTENCES.split(question.strip()) if p.strip()]
    asked = [p for p in parts if p.endswith("?")]
    clause = (asked or parts or [question.strip()])[-1]
    opener = _openers()
    for m in re.finditer(r",\s*", clause):
        rest = clause[m.end():]
        if opener.match(rest):
            return rest
    return clause


_WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b")


def asked_wh(question: str) -> str | None:
    """The wh-word a question asks with: the first of its asked clause, except a "when" / "where" that another
    wh-word follows at once ("Pan-Slavism became compromised when what empire ...": "what"). A question fronts the
    word it asks with; a later "when" / "where" joins a clause ("What is a problem one might meet when using
    ...?") and asks nothing."""
    clause = asked_clause(question).lower()
    found = list(_WH.finditer(clause))
    while len(found) > 1 and found[0].group() in ("when", "where") and clause[found[0].end() : found[1].start()].isspace():
        found = found[1:]
    return found[0].group() if found else None


def answer_type(question: str) -> str:
    q = question.lower()
    lead = asked_wh(question)
    # a bare "when" / "where" asks only when it is the asking word: else it joins clauses
    when = r"when|" if lead in (None, "when") else ""
    where = r"where|" if lead in (None, "where") else ""
    if re.search(r"\b(who (wrote|authored|is the author)|author of|written by|whose (article|paper|report))\b", q):
        return "author"
    if re.search(rf"\b({when}what year|which year|what date|which date|in what year)\b", q) and re.search(
        r"\b(published|posted|dated|put online)\b|\bpublication date\b", q
    ):
        return "published"
    if re.search(rf"\b({when}what year|which year|what date|which date|in what year|how long ago|since when)\b", q):
        return "time"
    if re.search(r"\b(how many|how much|how large|how big|how long|how far|how high)\b", q) or (
        re.match(r"^(what|which)\b", q)
        and _MEASURE.search(_asked_for(q))
    ):
        return "number"
    if re.search(r"\b(which|what) ([\w-]+ ){0,2}(company|companies|firm|firms|bank|banks|corporation|newspaper|"
                 r"newspapers|daily|agency|agencies|organi[sz]ations?)\b", q):
        return "org"
    if re.search(r"\b(who|whom|whose|which (person|president|minister|leader|author))\b", q) or re.search(
        r"\bnames? of (the |an? )?([\w'’-]+ ){0,3}(ambassador|president|minister|director|secretary|envoy|"
        r"representative|spokes\w+|chair\w*|leader|founder|governor|mayor|ceo|head)s?\b", q
    ):
        return "person"
    if re.search(rf"\b({where}which (country|countries|city|cities|nation|nations|region|place))\b", q):
        return "place"
    return "other"


UNIT_ASKED = re.compile(r"\bin (megawatts|gigawatts|kilowatts|tons|tonnes|kilometres|kilometers|miles|hectares|"
                         r"acres|barrels|yuan|dollars|euros|pesos|percent)\b", re.I)


_TITLES = frozenset("""president vice prime minister secretary general director deputy chairman chairwoman chair
    ambassador envoy king queen prince mr mrs ms dr prof sir chief premier governor mayor senator""".split())


def new_names(text: str, question: str, single: bool = False) -> list[str]:
    """Capitalised names in ``text`` (multi-word ones, or any with ``single``) with a word the question does
    not contain; citations like "(REVE, 2018)" and possessives aside."""
    asked = {re.sub(r"'s$", "", w) for w in words(question)}
    text = re.sub(r"\([^()]*\b\d{4}\b[^()]*\)", " ", text)
    pattern = r"\b[A-Z][\w&'’-]+(?:\s+(?:of|de|del|la|and\s+)?[A-Z][\w&'’-]+)*" if single else \
        r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+"
    out = []
    for m in re.finditer(pattern, text):
        tokens = [re.sub(r"'s$", "", t) for t in words(m.group()) if t not in STOPWORDS and t not in _TITLES]
        if tokens and any(not _asked(t, asked) for t in tokens) and not _WHEN_WORD.fullmatch(m.group()):
            out.append(m.group())
    return out


#: a month or weekday is capitalised but names no one ("on 11 March 2024")
_WHEN_WORD = re.compile(r"(January|February|March|April|May|June|July|August|September|October|November|December|"
                        r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)")


_PLACE_WORDS = frozenset("""port mount mt river lake island islands isle bay sound ridge road street avenue square
    harbour harbor valley glen hill hills moor cape point strait gulf sea ocean village town city county province
    district airport station bridge""".split())
_PLACES = frozenset(COUNTRIES) | frozenset(CAPITALS)


def is_place(name: str, text: str = "") -> bool:
    """A name that reads as a place ("Port Calder", "Tarran Ridge", "Peru", "Lima"), or that ``text`` puts after
    "in", "at", "near" or "the village of": no answer to "which company"."""
    tokens = name.split()
    if name in _PLACES or tokens and (tokens[0].lower() in _PLACE_WORDS or tokens[-1].lower() in _PLACE_WORDS):
        return True
    before = r"\b(?:in|at|near|(?:village|town|city|island|region|province|port) of)\s+(?:the\s+)?"
    return bool(text) and re.search(before + re.escape(name) + r"\b", text) is not None


def _asked(token: str, asked: set[str]) -> bool:
    """The question has this word or a form of it ("China" for "Chinese", "Peru" for "Peruvian")."""
    if token in asked:
        return True
    for a in asked:
        n = 0
        for x, y in zip(token, a):
            if x != y:
                break
            n += 1
        if n >= 4 and n >= 0.7 * min(len(token), len(a)):
            return True
    return False


#: where one clause of a quote ends and another begins: a sentence end (not "U.N."), a semicolon, "and," or
#: ", but"; not ", and", which also ends lists ("the LAIA, the OAS, and ECLAC in 2004")
_CLAUSES = re.compile(r"(?<=[a-z]{2}[.!?])\s+(?=[A-Z])|;|,\s*(?:but|while|whereas|which)\b|\band\s*,")


def _question_names(question: str) -> set[str]:
    """Terms of the names a question mentions, with the country a capital stands for ("Beijing": China)."""
    found = [m.group() for m in re.finditer(r"(?<!^)\b[A-Z][\w'’-]+", question.strip())]
    return set(terms(" ".join(found + [CAPITALS[w] for w in found if w in CAPITALS])))


def holds_type(kind: str, text: str, question: str = "") -> bool:
    """Does the text hold the kind of thing asked for, beyond what the question already says?"""
    if kind in ("time", "published"):
        dated = [c for c in _CLAUSES.split(text) if YEAR.search(c) or MONTH.search(c) or NUMERIC_DATE.search(c)]
        if not dated:
            return False
        if question and kind == "time":
            # "China has free-trade agreements with Chile, Costa Rica, and Peru and, in February 2022, launched talks
            # with Ecuador": asked about Costa Rica, the only date belongs to another clause's event
            names = _question_names(question)
            undated = {t for c in _CLAUSES.split(text) if c not in dated for t in terms(c)}
            if names & undated and not names & {t for c in dated for t in terms(c)}:
                return False
        return True
    if kind == "number":
        if _SHARE_ASKED.search(question):
            return bool(re.search(r"\d\s*%|\bper ?cent\b", text, re.I) or _FRACTION.search(text))
        if _MONEY_ASKED.search(question) and not _MONEY.search(text):
            return False  # "what did it cost" wants an amount of money, not a count of households
        qualifier = measure_qualifier(question)
        if qualifier and qualifier not in terms(text) and not (alternatives(question).get(qualifier, _EMPTY) & set(terms(text))):
            return False  # "the storage capacity of the tank": an electrolyser's capacity does not answer
        counted = counted_noun(question)
        if counted and counted not in terms(text) and not (alternatives(question).get(counted, _EMPTY) & set(terms(text))):
            return False  # "how many students": a count of institutes does not answer
        asked = set(re.findall(r"\d+", question))
        figures = [n for n in re.findall(r"\d+(?:[.,]\d+)*", text) if n not in asked and not YEAR.fullmatch(n)]
        return bool(figures) or bool(NUMBER_WORDS.search(text))
    return True


_GENERIC = frozenset("total annual average overall estimated approximate current combined".split())


def measure_qualifier(question: str) -> str | None:
    """The stem of the word that narrows the measure a what/which question asks for: "the total construction
    cost" -> "construct", "the storage capacity" -> "storag"; None for a bare or generic one ("the total value")
    and for possessives ("the authority's revenue": a name, checked elsewhere)."""
    q = question.lower()
    if not re.match(r"^(what|which)\b", q):
        return None
    phrase = _asked_for(q)
    found = list(_MEASURE.finditer(phrase))
    if not found:
        return None
    before = phrase[: found[-1].start()].split()
    if not before or before[-1] in _GENERIC or before[-1].endswith(("'s", "’s")) or _MEASURE.fullmatch(before[-1]):
        return None
    stems = terms(before[-1])
    return stems[0] if stems else None


_HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'’-]+\s*){1,4})", re.I)


def counted_noun(question: str) -> str | None:
    """The stem of what "how many" counts: its first plural noun ("how many Chinese tourists" -> "tourist");
    None for irregular plurals ("people") and other questions."""
    m = _HOW_MANY.search(question)
    if not m:
        return None
    phrase = []  # the words before the first function word: "people from poorer nations" counts people
    for w in m.group(1).split():
        if w.lower() in STOPWORDS:
            break
        phrase.append(w)
    word = next((w for w in phrase if re.search(r"[^su]s$", w.lower()) and not w.lower().endswith("is")), None)
    if word is None:
        return None
    found = terms(word)
    return found[0] if found else None


#: "what share of the loans": a part of the whole (a percentage or a fraction), not an amount of money
_SHARE_ASKED = re.compile(r"\b(share|percentage|proportion|fraction|portion|per ?cent|what part)\b", re.I)
_FRACTION = re.compile(r"\b(half|halves|majority|most of|(?:a|one|two|three|four|nine)[\s-]+(?:third|quarter|fifth|tenth)s?|"
                       r"thirds|quarters|fifths|tenths)\b", re.I)  # "third" alone is mostly a rank ("its third year")
_MONEY_ASKED = re.compile(r"\b(cost|costs|price|priced|worth|how much money|spend|spent|budget|invest\w*|loans?|lent|"
                          r"revenues?|income|profits?|turnover|earnings|salary|salaries|wages?|fees?|"
                          r"credit|funds?|funding|financ\w*|amount of money|dollars|yuan)\b", re.I)
_MONEY = re.compile(r"[$€£¥]|\b(US\$|USD|dollars?|yuan|RMB|renminbi|euros?|pesos?|reais|real|pounds? sterling|pence)\b", re.I)


def type_bonus(kind: str, text: str, question: str) -> float:
    if kind in ("time", "published"):
        return 0.12 if (YEAR.search(text) or MONTH.search(text)) else -0.05
    if kind == "number":
        return 0.12 if _NUMBER.search(text) else -0.05
    if kind in ("person", "place", "org"):
        qwords = set(words(question))
        names = [n for n in _NAME.findall(text) if n.lower() not in qwords and len(n) > 2]
        return 0.06 if len(names) >= 1 else -0.03
    return 0.0
