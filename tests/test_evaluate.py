"""The eval's answer matching: SQuAD's normalisation, whole words."""

from lacqa.evaluate import Item, Result, holds_answer


def test_an_answer_is_matched_as_squad_reads_it():
    assert holds_answer("Eoarchean Era [1].", ["the Eoarchean Era"])
    assert holds_answer("the 14th Hang Gliding World Championship", ["14th Hang Gliding World Championship"])
    assert holds_answer("“Costa Rica, Cuba and Peru”", ["Costa Rica Cuba and Peru"])
    assert holds_answer("grew 20,327 people", ["20,327"])


def test_an_answer_must_be_whole_words_of_the_text():
    assert not holds_answer("in 1925", ["25"])
    assert not holds_answer("symbiotic and parasitic", ["symbiotic and parasitic relationships"])
    assert not holds_answer("anything", ["the"])  # nothing left to match is no match


def test_answer_text_alone_leaves_the_quotes_out():
    item = Item(id="q", q="When?", answers=("January 2015",), doc=None, answerable=True)
    r = Result(item=item, answer="in 2015 [1]", quotes=["It met in January 2015."], abstained=False, latency=0.1)
    assert r.correct and not r.correct_in_text


def test_punctuation_breaks_words():
    assert holds_answer("the Tang dynasty (618-907 AD)", ["907 AD"])
    assert not holds_answer("resonant frequency", ["Q"])
