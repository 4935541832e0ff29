"""Search: one analyzer and one query language for every engine (issue 7).

``analysis`` turns stored text into the terms every engine indexes (CJK
unigrams and bigrams, Latin words, Jyutping), ``aliases`` holds the
colloquial-Cantonese ↔ Standard-Written-Chinese layer applied to queries, and
``query`` parses what a person types into a structured :class:`~archive.search.query.Query`.
All three are pure Python (OpenCC and pycantonese, no Django), so the embedded
engine and OpenSearch see exactly the same terms (DESIGN.md, "Cantonese text,
one analyzer for every engine").
"""
