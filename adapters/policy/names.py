"""The names of things a caller says: "la ARS Reservas", "el Banco Popular", "la farmacia Carol".

A name is the word after a kind of organisation or place ("ars reservas", "hotel jaragua": recognisers write
them in lower case), or a run of capitalised words after the first ("ARS Reservas", "Banco Popular"). Its words
are a name, not the common words they look like: "reservas" asks for no booking, and a document that says
"reservar" says nothing about the ARS Reservas. Works on what the caller said, before ``plain``.
"""

from __future__ import annotations

import re

from adapters.policy.when import plain

KINDS = (
    r"ars|aseguradora|seguros?|farmacias?|bancos?|hospital|hotel|supermercado|colmado|plaza|tienda|restaurante|"
    r"universidad|colegio|escuela|empresa|compania|agencia|laboratorios?"
)
# After a kind of place, what is no name: articles and prepositions, and the verbs said of a place ("el
# laboratorio funciona los domingos", "la farmacia abre").
_NOT_A_NAME = (
    r"de|del|la|el|los|las|que|y|o|pa|para|me|le|nos|se|no|si|en|con|a|al|un|una|mi|su|tu|es|son|esta|estan|"
    r"hay|abre|abren|cierra|cierran|queda|quedan|funciona|funcionan|atiende|atienden|tiene|tienen|acepta|"
    r"aceptan|cobra|cobran|hace|hacen|trabaja|trabajan|da|dan|vende|venden|sale|salen|cuesta|cuestan|mas|"
    r"cerca|lejos|aqui|alli|ahi|abierto|abierta|cerrado|cerrada"
)
_NAMED_BY_KIND = re.compile(rf"\b({KINDS})\s+(?!(?:{_NOT_A_NAME})\b)([a-z]+)\b")
_CAPITALISED = re.compile(r"\b([A-ZÁÉÍÓÚÑ][\wáéíóúñ]*)((?: [A-ZÁÉÍÓÚÑ][\wáéíóúñ]+)+)")
_TITLES = frozenset(
    ["dr", "dra", "doctor", "doctora", "lic", "licenciado", "licenciada", "don", "dona", "senor", "senora"]
)
MASK = "nombre"


def _title_case(utterance: str) -> bool:
    """Most words capitalised: the recogniser's style, not names."""
    words = re.findall(r"[^\W\d_]+", utterance)[1:]
    return len(words) > 3 and sum(w[:1].isupper() for w in words) * 3 > 2 * len(words)


def names(utterance: str) -> list[tuple[str, ...]]:
    """The names said, each as its plain words: the kind and its name ("ars", "reservas"), or the capitalised
    run without a leading title ("banco", "popular"; "yokasta", "rosario" of "Doctora Yokasta Rosario"). A run of
    one word after a title ("Doctora Rosario") is a person's surname, not a thing's name."""
    found: list[tuple[str, ...]] = []
    if not _title_case(utterance):
        for match in _CAPITALISED.finditer(utterance):
            words = plain(match.group(0)).split()
            while words and words[0].rstrip(".") in _TITLES:
                words = words[1:]
            if len(words) >= 2:
                found.append(tuple(words))
    for match in _NAMED_BY_KIND.finditer(plain(utterance)):
        pair = (match.group(1), match.group(2))
        if not any(pair == run[i : i + 2] for run in found for i in range(len(run) - 1)):
            found.append(pair)
    return found


def masked(utterance: str) -> str:
    """``utterance`` in plain text with the words of its names after the first as "nombre" ("la ars nombre me
    cubre"), so they are no verbs or nouns of their own."""
    if not _title_case(utterance):
        utterance = _CAPITALISED.sub(lambda m: m.group(1) + f" {MASK}" * m.group(2).count(" "), utterance)
    return _NAMED_BY_KIND.sub(rf"\1 {MASK}", plain(utterance))
