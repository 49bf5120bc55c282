"""Words that stand in for each other in news, policy and economics writing ("credit" / "loans",
"legislature" / "congress", "tour" / "visit"), so that a question in other words still finds and scores
the sentence that answers it.

General vocabulary, like a stemmer's rules: nothing here names a fact of any library. Groups are matched
on stemmed terms (so "visited" matches "visit"); phrases ("head of state") match as consecutive terms.
A synonym counts for less than the question's own word (``SYNONYM_WEIGHT``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from .text import terms

SYNONYM_WEIGHT = 0.7

_GROUPS = """
visit, tour, trip, travel, journey
president, head of state
leader, president, premier, head of government
prime minister, premier
legislature, parliament, congress, national assembly, lawmakers
speech, address, remarks, lecture
talks, dialogue, consultation, negotiations, discussions
meeting, gathering, summit, conference, forum, session
first, inaugural, initial, maiden
resume, restart, relaunch, renew, new round
loan, credit, lending, financing
lender, financier, bank
fund, funding, finance, money, capital
package, bundle
total, sum, overall, aggregate, combined, cumulative, accumulated
share, proportion, portion, fraction, percentage
world, planet, globe, global
land, landmass, terrain, land area, territory
population, inhabitants, people
growth, expansion, boom
economy, economic
increase, rise, grow, surge, jump, climb
decrease, decline, fall, drop, shrink
agreement, accord, pact, treaty, deal
sign, ink, conclude
company, firm, enterprise, corporation
plant, facility, station, factory
hydroelectric, hydropower
electricity, power, energy
build, construct, erect
construction, building
cost, price, expense, spending
aid, assistance, help, support
debt, debts, owe, owed, arrears, liabilities
cancel, write off, forgive, relief, exempt, exemption, waive
rich countries, developed countries, wealthy nations, industrialized countries, advanced economies
train, instruct, teach, educate
training, instruction, courses
personnel, people, staff, professionals, trainees
employ, employed, payroll, workforce, employees, hire
developing countries, poorer nations, poor countries, developing world, global south
country, nation
ties, links, relations, relationship, connections
official, formal, diplomatic
smuggling, contraband, trafficking
fraud, deception, scam
customs, border control, border
commodity, goods, products, raw materials
oil, petroleum, crude
soybean, soy, soya, soybeans
ore, minerals
architect, mastermind, designer, chief planner
reform, liberalization, liberalisation, opening up, market reform
model, template, example, paradigm
cooperation, collaboration, partnership
partner, ally
policy, strategy, approach
plan, programme, program, scheme, initiative
goal, target, aim, objective
largest, biggest, greatest, top, leading
main, principal, chief, primary, key
important, crucial, vital, significant, key
trade, commerce
yuan, rmb, renminbi
clearing, settlement
successively, one after another, in turn
export, ship, sell
import, buy, purchase
university, college
institute, school, academy, centre, center
scholar, academic, researcher, expert, analyst, specialist
newspaper, daily, paper
journalist, reporter, correspondent
book, volume, publication
publish, issue, release
report, study
establish, set up, found, create, launch
begin, start, commence, launch
complete, finish, conclude
host, hold, organize, organise, convene
attend, participate, take part, join
member, participant
propose, suggest, put forward
emphasize, emphasise, stress, highlight, underline
regard, consider, view
remain, stay, continue
former, previous, ex, predecessor
current, incumbent
government, administration, authorities
minister, envoy, diplomat, top diplomat
ambassador, envoy
foreign, overseas, external
international, global
war, conflict
peace, stability
security, safety
military, armed forces, defence, defense
illegal, illicit, unlawful
cross-border, transnational
disaster, catastrophe
pandemic, covid-19, coronavirus
vaccine, vaccines, doses
protect, preserve, conserve, safeguard
environment, ecology, nature
renewable, clean, green
solar, photovoltaic
sustain, support, fuel, drive, boost, power
help, facilitate, assist, enable
occupy, cover, account for, make up
jointly, together, combined
region, area, continent
caribbean, west indies, west indian
english-speaking, anglophone
spanish-speaking, hispanophone
portuguese-speaking, lusophone
french-speaking, francophone
hierarchy, leadership
common position, same side, same position, shared position
"""


def _members() -> list[list[str]]:
    return [[m.strip() for m in line.split(",") if terms(m)] for line in _GROUPS.strip().splitlines()]


@functools.lru_cache(maxsize=1)
def _table() -> dict[tuple[str, ...], frozenset[str]]:
    """Phrase (its stemmed terms) -> the words and phrases that may stand for it."""
    table: dict[tuple[str, ...], set[str]] = {}
    for group in _members():
        for m in group:
            table.setdefault(tuple(terms(m)), set()).update(o for o in group if o != m)
    return {k: frozenset(v) for k, v in table.items()}


def _found(question: str) -> dict[str, set[str]]:
    """Each term of ``question`` -> the words and phrases a passage may use instead."""
    qterms = terms(question)
    table = _table()
    longest = max((len(k) for k in table), default=1)
    out: dict[str, set[str]] = {}
    for i in range(len(qterms)):
        for n in range(1, longest + 1):
            key = tuple(qterms[i : i + n])
            if len(key) == n and key in table:
                for t in key:
                    out.setdefault(t, set()).update(table[key])
    return out


def alternatives(question: str) -> dict[str, frozenset[str]]:
    """For each term of ``question``, the stemmed terms a passage may use instead."""
    out = {t: frozenset(u for m in alts for u in terms(m)) - {t} for t, alts in _found(question).items()}
    return {t: v for t, v in out.items() if v}


def expand(question: str, rare: Callable[[str], bool] | None = None) -> str:
    """The question followed by the words a passage may use instead of its terms (for lexical search);
    with ``rare``, only for the terms it accepts (words the library seldom or never uses)."""
    own = set(terms(question))
    extra = sorted({m for t, alts in _found(question).items() if rare is None or rare(t)
                    for m in alts if not set(terms(m)) <= own})
    return f"{question} {' '.join(extra)}" if extra else question
