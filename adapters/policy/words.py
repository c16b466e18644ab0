"""The policy's vocabulary: the content words of a question or a sentence as Spanish stems, and when two of them
are the same word (a prefix, a letter a recogniser or a speller confuses, a verb with its pronouns).

Everything here works on accent-free lower-case text (``plain``): "llego", "llegar" -> "lleg"; "santo domingo" is
one word, never a Sunday. answers.py matches what a caller asked with what a passage's sentences hold through it.
"""

from __future__ import annotations

import functools
import re

import snowballstemmer

from adapters.lexicon import also_for, normalise
from adapters.policy.when import plain
from engine.chunking import sentences

STOPWORDS = frozenset(
    """de la que el en y a los del se las por un para con no una su al lo como mas pero sus le ya o este si
    porque esta entre cuando muy sin sobre tambien me hasta hay donde quien desde todo nos durante todos uno les
    ni contra otros ese eso ante ellos e esto mi algunos que unos yo otro otras otra el tanto esa estos
    mucho quienes nada muchos cual poco ella estar estas algunas algo nosotros tienen tiene tengo hacer hacen
    puedo puede pueden quiero quisiera saber cuanto cuanta cuantos cuantas cuesta estoy amor mientras necesita necesitan asi mama papa abuela abuelo
    manana ayer ahorita temprano luego pasa pasar pude pudo disculpe disculpa perdone perdon porfa debo debe
    deben deberia mananas todas toda oiga oigame mira mire hora horas usted ustedes ahi alli
    aqui hola buenas dias favor gracias necesito queria tener tiene seria sera son es era fue ser hace hoy
    ahora algun alguna cual cuales trabajan trabajar klk pa ta toa ustede manito mano oye mire dime vaina
    mismo ver vea veo ir voy van vaya viene vienen venir dan da dar dame deme cosa gente alguien persona personas alla aca
    informacion informaciones info detalles conocer preguntar pregunta buenos tardes noches
    pueda podria podrian decir diga sabe se lo la le les cuestan vale valen sale salen cobran cobra precio
    precios abren abre cierran cierra queda quedan llama llaman llamo dia dias tu usted hay bueno buen tiempo
    cubre cubren cogen coge doctor doctora doctores dra dr lic licenciado medica algo hago hace hice
    trabaja pal consigo consigue conseguir exacta exacto exactamente soy eres somos funciona funcionan tia tio primo prima sobrino
    sobrina hermano hermana esposo esposa marido nieto nieta suegra suegro cunado cunada""".split()  # noqa: SIM905
)
# Words that only say what kind of fact is asked: they count a little, never as what is asked about.
TYPE_WORDS = frozenset(
    """telefon numer direccion hor horari atiend consult preci cost cobr pag llev tom prepar dur tard
    whatsapp correo pagin web escrib llam clinic hospital""".split()  # noqa: SIM905
)
WORD = re.compile(r"[a-z0-9]{3,}")


STEMMER = snowballstemmer.stemmer("spanish")
# Places and words that say where, not what: a question whose only words the documents hold are these ("¿cómo
# está el tiempo en Santo Domingo?", "un hotel en Santiago") asks about nothing of the clinic's.
WHERE = frozenset(
    STEMMER.stemWords(
        [
            "santodomingo",
            "santiago",
            "caballeros",
            "piantini",
            "capital",
            "republica",
            "dominicana",
            "pais",
            "ciudad",
            "zona",
            "sector",
            "lugar",
            "barrio",
            "provincia",
        ]
    )
)


@functools.lru_cache(maxsize=4096)
def stems(text: str) -> frozenset[str]:
    """Snowball Spanish stems of the content words ("llego", "llegar" -> "lleg")."""
    words = WORD.findall(plain(text).replace("santo domingo", "santodomingo"))  # the city is not a Sunday
    words = [CLITIC.sub("", w) for w in words]
    return frozenset(STEMMER.stemWords([w for w in words if w not in STOPWORDS]))


# A verb with its pronouns after it is the verb: "tenerlo" is "tener", "conectarse" is "conectar".
CLITIC = re.compile(r"(?<=[aei]r)(?:se|me|te|nos)?(?:lo|la|los|las|le|les)?$")


def ordered_stems(text: str) -> list[str]:
    """The content words' stems, in the order said ("sonografía pélvica": "sonograf", "pelvic")."""
    words = [CLITIC.sub("", w) for w in WORD.findall(plain(text).replace("santo domingo", "santodomingo"))]
    return [stem_word(w) for w in words if w not in STOPWORDS]


_GENERIC = frozenset(STEMMER.stemWords(["sesion", "prueba", "estudio", "examen", "servicio"]))


def generic(stem: str) -> bool:
    """A word that says what kind of thing a price is for ("consulta", "sesión"), not which."""
    return stem in _GENERIC or any(same_word(stem, t) for t in TYPE_WORDS)


@functools.lru_cache(maxsize=65536)
def same_word(a: str, b: str) -> bool:
    """Two stems are the same word: equal, one a prefix of the other (5 letters or more: "pediatr",
    "pediatri"), or one letter apart in words of 6 letters or more (a misheard "sension" for "sencion")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) >= 5 and long.startswith(short):
        return True
    if len(short) >= 6 and abs(len(a) - len(b)) <= 1:
        return _one_edit(a, b)
    return False


_CONFUSED = frozenset({frozenset("sc"), frozenset("sz"), frozenset("cz"), frozenset("bv"), frozenset("yi"),
                       frozenset("gj"), frozenset("kc"), frozenset("ck")})  # fmt: skip


def _one_edit(a: str, b: str) -> bool:
    """One letter apart the way Spanish is misspelt or misheard: s/c/z, b/v, y/i, g/j, or a dropped h or s."""
    if len(a) == len(b):
        different = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
        return len(different) == 1 and frozenset(different[0]) in _CONFUSED
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)) if long[i] in "hs")


def found_in(stem: str, words: frozenset[str] | set[str]) -> bool:
    return stem in words or any(same_word(stem, word) for word in words)


# Endings only verbs have (infinitives, gerunds, "-amos", "-aba", "-an"/"-en" of longer words); nouns that end
# alike ("azúcar", "cáncer", "examen", "abdomen", "farmacia", "resultado") are not doings.
_AFTER_PRONOUN = re.compile(r"\b(?:me|te|se|nos)\s+([a-z]{4,})")
_VERB_ENDING = re.compile(r"(?:ar|er|ir|ando|iendo|yendo|amos|emos|imos|aba|aban|[^m]an|[^mg]en)$")
_NOT_VERBS = frozenset(
    [
        "azucar",
        "mujer",
        "lugar",
        "hogar",
        "cancer",
        "taller",
        "collar",
        "militar",
        "alfiler",
        "caracter",
        "cadaver",
    ]
)


def doings_in(question: str) -> frozenset[str]:
    """The stems of the question's words that look like verbs (by their Spanish endings, or after a pronoun
    that only goes with a verb: "me conecto", "se estaciona")."""
    flat = plain(question)
    words = [CLITIC.sub("", w) for w in WORD.findall(flat)]
    after_pronoun = {w for w in _AFTER_PRONOUN.findall(flat) if w not in STOPWORDS}
    return frozenset(
        stem_word(w)
        for w in words
        if w not in STOPWORDS
        and w not in _NOT_VERBS
        and not w.endswith(("ular", "iliar", "ilar"))  # vascular, familiar: adjectives
        and _VERB_ENDING.search(w)
        and (len(w) >= 7 or w[-1] == "r")
    ) | frozenset(stem_word(w) for w in after_pronoun)


def alternatives(question: str) -> dict[str, frozenset[str]]:
    """The documents' words for the caller's everyday ones (adapters/lexicon.py ALSO), by the caller's stem: either
    one names the same thing ("pecho": "torax"), so they count as one word, not two."""
    found: dict[str, set[str]] = {}
    for word in normalise(plain(question), also=False).split():
        if also_for(word):
            for stem in stems(word):
                found.setdefault(stem, set()).update(stems(" ".join(also_for(word))))
    return {stem: frozenset(others) for stem, others in found.items()}


def repaired(text: str) -> list[str]:
    """The passage's sentences, with lines a page wrapped joined back (documents ingested before that repair)."""
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if lines and line[:1].islower() and not lines[-1].endswith((".", "!", "?", ":", ";")):
            lines[-1] = f"{lines[-1]} {line}"
        elif line:
            lines.append(line)
    units: list[str] = []
    for sentence in (s for line in lines for s in sentences(line)):
        if (
            units
            and _PERSON_LINE.match(units[-1])
            and not _PERSON_LINE.match(sentence)
            and _follows(units[-1], sentence)
        ):
            units[-1] = (
                f"{units[-1]} {sentence}"  # "Dra. Tavárez, cardióloga: ... Realiza pruebas de esfuerzo."
            )
        else:
            units.append(sentence)
    return units


_PERSON_LINE = re.compile(r"^(Dr|Dra|Lic)\.\s")


def _follows(entry: str, sentence: str) -> bool:
    """A short sentence after a person's directory entry, with no subject of its own, is still about that person
    ("Atiende lesiones deportivas.")."""
    return len(sentence.split()) <= 15 and len(entry.split()) <= 30 and sentence.split()[0].lower() not in (
        "el", "la", "los", "las", "este", "esta", "nuestro", "nuestra",
    )  # fmt: skip


@functools.lru_cache(maxsize=16384)
def run_of(sentence: str) -> tuple[str, ...]:
    """The sentence's words as stems, in order (stop words kept)."""
    return tuple(stem_word(w) for w in WORD.findall(plain(sentence)))


@functools.lru_cache(maxsize=65536)
def stem_word(word: str) -> str:
    return str(STEMMER.stemWord(word))


def in_a_row(words: list[str], run: tuple[str, ...]) -> bool:
    return any(
        all(same_word(word, run[i + k]) for k, word in enumerate(words))
        for i in range(len(run) - len(words) + 1)
    )
