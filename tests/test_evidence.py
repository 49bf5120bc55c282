"""Evidence rules that need no index: what kind of answer a question asks for, what counts as money,
and sentences read under their document's title."""

import pytest

from lacqa.kinds import _MONEY, _MONEY_ASKED, answer_type, asked_wh


@pytest.mark.parametrize(("question", "kind"), [
    ("What is the storage capacity of the hydrogen tank?", "number"),
    ("What was the authority's revenue in 2022?", "number"),
    ("How many members did the cooperative have?", "number"),
    ("When was the battery commissioned?", "time"),
    ("Which company supplied the battery?", "org"),
    ("Who is the treasurer of the cooperative?", "person"),
    ("What is the cooperative's mission?", "other"),
    ("What was Argentina's GDP growth rate in 2021?", "number"),
    ("Which territory do nations of that area avoid formal links with?", "other"),  # "area" is not what is asked
    ("Which three passageways does the production capacity model build?", "other"),
    # only the word a question asks with decides: a later "when" / "where" joins a clause
    ("What is a problem one might meet when using a portable antenna?", "other"),
    ("Who was president when the war began?", "person"),
    ("Which country gave Yugoslavia aid when Tito broke with the USSR?", "place"),
    ("Pan-Slavism was compromised when what empire used it as an ideology?", "other"),
    ("What building now sits where the old headquarters stood?", "other"),
    ("When Gaddafi returned to Libya, when did he marry?", "time"),
    ("Since when has the quay been open?", "time"),
    ("Where was the treaty signed?", "place"),
])
def test_answer_type(question: str, kind: str) -> None:
    assert answer_type(question) == kind


def test_money_questions_want_an_amount_of_money() -> None:
    assert _MONEY_ASKED.search("What was the authority's revenue in 2022?")
    assert _MONEY_ASKED.search("What were the annual fees?")
    assert not _MONEY_ASKED.search("How many turbines were built?")
    assert _MONEY.search("a tariff of 34.2 pence per kWh") and _MONEY.search("£124 million")
    assert not _MONEY.search("1,130 homes, farms and businesses")


def test_a_share_of_money_wants_a_part_not_an_amount() -> None:
    from lacqa.kinds import holds_type

    q = "What share of the loans went to energy projects?"
    assert holds_type("number", "A majority of the lending (69%) went to energy projects.", q)
    assert holds_type("number", "One fifth of the loans went to energy.", q)
    assert not holds_type("number", "Energy projects were a priority of the lenders.", q)
    assert not holds_type("number", "The loans went to 12 energy projects.", "How much were the loans worth?")


def test_a_sentence_is_read_under_its_documents_title(small_library) -> None:  # type: ignore[no-untyped-def]
    handbook = ("Brinmouth Community Solar Cooperative handbook\n\n"
                "Welcome to the Brinmouth Community Solar Cooperative.\n\n"
                "The maximum investment per member is 20,000 pounds, and the minimum is 250 pounds.\n\n"
                "Members meet every spring to elect the board.\n")
    a = small_library({"handbook.md": handbook}, filler=True)
    ans = a.ask("What is the maximum investment per member in the Brinmouth Community Solar Cooperative?")
    assert not ans.abstained
    assert "20,000" in ans.citations[0].quote


def test_figures_in_words() -> None:
    from lacqa.answer import in_words_only

    assert in_words_only("With one fifth of the world's total landmass, they matter.", "What share of the landmass?")
    assert not in_words_only("Trade reached 449 billion dollars, one third more.", "How much was trade?")
    assert in_words_only("Trade in 2021 grew by one third.", "How much did trade grow in 2021?")
    assert not in_words_only("Trade grew quickly.", "How much did trade grow?")


def test_a_question_may_name_the_document_by_its_date_and_agency(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.evidence import _about_document

    a = small_library({
        "report.txt": "China and Latin America join hands (11/22/08)\n\nBEIJING, Nov. 21 (Xinhua) -- Leaders met.\n",
        "column.txt": "Cooperation pushes ahead\n\nZhu Qingqiao\n\n2016-02-05 16:18\n\nTrade grew again.\n",
    })
    g = a.generation()
    about = {d.source: _about_document(g, d.doc_id).split() for d in g.documents.values()}
    assert {"November", "2008", "(Xinhua)"} <= set(about["report.txt"])
    assert {"February", "2016", "Zhu", "Qingqiao"} <= set(about["column.txt"])
    from lacqa.answer import term_stats

    naming = term_stats(g).naming_terms
    by_source = {d.source: naming[d.doc_id] for d in g.documents.values()}
    assert {"xinhua", "novemb", "2008"} <= by_source["report.txt"]
    assert "leader" not in by_source["report.txt"], "the dateline's agency counts, not the text after it"


def test_names_the_library_says_in_other_words_are_not_unknown(small_library) -> None:  # type: ignore[no-untyped-def]
    text = "State visits\n\nIn 2013 the president visited Trinidad and Tobago, the first English-speaking Caribbean country on his tours.\n"
    a = small_library({"visits.txt": text}, filler=True)
    ans = a.ask("Which anglophone West Indian country did the president visit in 2013?")
    assert not ans.abstained, ans.reason
    assert "Trinidad and Tobago" in ans.citations[0].quote
    from lacqa.answer import term_stats
    from lacqa.evidence import _missing

    stats = term_stats(a.generation())
    assert _missing("Which anglophone West Indian country did he visit?", stats) == []
    assert _missing("Which Polynesian country did he visit?", stats) == ["Polynesian"]


def test_a_sentence_leans_on_the_one_before(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({
        "loans.txt": "Lending\n\nAccumulated loans reached 138 billion dollars by the end of the decade. "
                     "A majority (69%) went to energy projects.\n",
        "building.txt": "Building\n\nEnergy projects took a 51% share of construction work.\n",
    }, filler=True)
    ans = a.ask("What share of the accumulated loans went to energy projects?")
    assert "69%" in ans.citations[0].quote


@pytest.mark.parametrize(("question", "noun"), [
    ("How many Chinese tourists visited the region?", "tourist"),
    ("How many Confucius Institutes operate in Brazil?", "institut"),
    ("Roughly how many people from poorer nations were trained?", None),  # "people": no check
    ("How many of them came?", None),
    ("What is the capacity?", None),
])
def test_what_how_many_counts(question: str, noun: str | None) -> None:
    from lacqa.kinds import counted_noun

    assert counted_noun(question) == noun


def test_a_count_of_something_else_does_not_answer_how_many() -> None:
    from lacqa.kinds import holds_type

    q = "How many students go to study in the region every year?"
    assert not holds_type("number", "There are now 39 institutes and 11 classrooms in the region.", q)
    assert holds_type("number", "Every year nearly 10,000 students pursue their studies there.", q)
    assert holds_type("number", "Nearly 10,000 pupils enrol.", "How many pupils enrol?")


def test_a_quote_dated_to_another_year_is_not_about_the_year_asked(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({"coop.txt": "Cooperative handbook\n\nThe cooperative was founded in 2019 in the village hall.\n\n"
                                   "At the end of December 2023 the cooperative had 326 members.\n\n"
                                   "In 2015 the forum met. It adopted a plan for the region.\n\n"
                                   "The plan covers 2016-2020 and all member states.\n"})
    ans = a.ask("How many members did the cooperative have at the end of 2022?")
    assert ans.abstained and "2022" in (ans.reason or "")
    assert not a.ask("How many members did the cooperative have at the end of 2023?").abstained
    assert not a.ask("What did the forum adopt in 2015?").abstained  # the year is in the sentence before
    from lacqa.evidence import _other_years
    from lacqa.types import Evidence

    gen = a.generation()
    doc = next(iter(gen.documents.values()))
    start = doc.text.index("The plan covers")
    quote = Evidence(doc.doc_id, doc.source, doc.title, start, start + 27, doc.text[start : start + 27], 1.0)
    assert _other_years("Which states does the plan cover in 2018?", quote, gen) == []  # inside the span it gives
    assert _other_years("Which states did the plan cover in 2021?", quote, gen) == ["2021"]
    assert _other_years("Which states did the plan cover in the 2010s?", quote, gen) == []  # a decade


def test_a_paraphrase_no_retrieved_passage_holds_is_still_found(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({
        "talks.txt": "Talks\n\nFormal links were discussed at length during the talks in the capital.\n",
        "policy.txt": "Policy\n\nMost countries in the region avoid official ties with Taiwan.\n",
    })
    search = a.retriever.search
    # retrieval ranks only the talks (the case of a paraphrase both lists miss); the dense sentence list is off
    a.retriever.search = lambda gen, q, k=None, **kw: [h for h in search(gen, q, 5, **kw)
                                                       if h.chunk.source == "talks.txt"]
    a.settings.answer.dense_sentences = 0
    question = "Which territory do nations of the area avoid formal links with?"
    assert a.ask(question).citations[0].quote.endswith("with Taiwan.")
    assert [h.chunk.source for h in a.search(question, 2)] == ["policy.txt", "talks.txt"]  # search leads with it too
    a.settings.answer.lexical_sentences = 0
    assert "Taiwan" not in a.ask(question).citations[0].quote


def test_a_name_the_quote_gives_in_short_form_is_matched(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({
        "peace.txt": "Peacekeeping\n\nChina has also sent peacekeeping police to Haiti on U.N. missions.\n",
        "charter.txt": "Charter\n\nThe United Nations charter was signed by fifty nations in San Francisco.\n",
    }, filler=True)
    ans = a.ask("To which nation did China send police for United Nations missions?")
    assert not ans.abstained and "Haiti" in ans.citations[0].quote


def test_a_date_in_a_clause_about_something_else_does_not_answer_when() -> None:
    from lacqa.kinds import holds_type

    quote = "China has free-trade agreements with Chile, Costa Rica, and Peru and, in February 2022, launched talks with Ecuador."
    assert not holds_type("time", quote, "In what year did the China-Costa Rica agreement take effect?")
    assert holds_type("time", quote, "When did China launch talks with Ecuador?")
    listed = "China became an observer for the LAIA, the Organization of American States, and the U.N. ECLAC in 2004."
    assert holds_type("time", listed, "In what year did China join the Organization of American States?")
    two = "Both sides set targets. In September 2020, China set the goal of carbon peaking by 2030."
    assert holds_type("time", two, "By which year does Beijing aim to peak its emissions?")  # Beijing stands for China


def test_the_figure_in_the_next_sentence_of_the_paragraph_joins_the_quote(small_library) -> None:  # type: ignore[no-untyped-def]
    from lacqa.kinds import holds_type

    q = "What share of their possible output did the tidal turbines in the Sound of Vayle deliver?"
    assert not holds_type("number", "The tidal pilot in the Sound of Vayle completed its third full year.", q)
    a = small_library({"report.txt": "Annual report\n\nThe tidal pilot in the Sound of Vayle, two seabed turbines, "
                                     "completed its third full year. The turbines achieved a capacity factor of "
                                     "31 per cent.\n\nFuel costs fell by a fifth in the year.\n"})
    ans = a.ask(q)
    assert not ans.abstained and ans.citations[0].quote.endswith("31 per cent.")
    assert ans.citations[0].quote.startswith("The tidal pilot")


@pytest.mark.parametrize(("question", "qualifier"), [
    ("What was the total construction cost of the plant?", "construct"),
    ("What is the storage capacity of the hydrogen tank?", "storag"),
    ("What is the installed capacity of the wind farm?", "instal"),
    ("What was the total value of trade?", None),  # "total" narrows nothing
    ("What was the authority's revenue in 2022?", None),  # a possessive names whose, checked elsewhere
    ("How much did the plant cost?", None),
])
def test_what_narrows_the_measure_asked_for(question: str, qualifier: str | None) -> None:
    from lacqa.kinds import measure_qualifier

    assert measure_qualifier(question) == qualifier


def test_a_figure_for_another_measure_does_not_answer() -> None:
    from lacqa.kinds import holds_type

    q = "What is the storage capacity of the hydrogen tank at the harbour?"
    assert not holds_type("number", "A 2.5 MW electrolyser will produce hydrogen at the harbour.", q)
    assert holds_type("number", "The tank has a storage capacity of 40 tonnes of hydrogen.", q)
    assert holds_type("number", "The tank can store 40 tonnes.", "What is the capacity of the tank?")


def test_a_place_or_a_month_is_no_answer_to_which_company() -> None:
    from lacqa.kinds import is_place, new_names

    assert is_place("Port Calder") and is_place("Tarran Ridge") and is_place("Peru") and is_place("Lima")
    assert is_place("Glenarra", "the moorland ridge above the village of Glenarra")
    assert not is_place("OceanSpire", "two seabed turbines built by OceanSpire")
    assert new_names("It was declared operational on 11 March 2024.", "Which company built it?", single=True) == []


def test_which_company_over_quotes_naming_only_places_abstains(small_library) -> None:  # type: ignore[no-untyped-def]
    a = small_library({"farm.html": "<html><body><h1>Wind farm opens</h1>"
                                    "<p>The nine turbines on Tarran Ridge, seen from the Port Calder road.</p>"
                                    "<p>The turbines were manufactured in Denmark and arrived at Port Calder harbour.</p>"
                                    "<p>The cable was laid by OceanSpire Marine in May.</p></body></html>"})
    ans = a.ask("Which company manufactured the Tarran Ridge wind turbines?")
    assert ans.abstained and "name" in (ans.reason or "")


@pytest.mark.parametrize(("question", "wh"), [
    ("When did the mountains form?", "when"),
    ("Pan-Slavism was compromised when what empire used it?", "what"),
    ("When I use a thread pool, why do I set the limit?", "why"),
    ("Name three biographies he read.", None),
])
def test_asked_wh(question: str, wh: str | None) -> None:
    assert asked_wh(question) == wh
