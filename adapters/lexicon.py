"""The words Dominican callers use, and the forms a speech recogniser writes, in the words clinic documents use.

"Tienen guasap pa mi niña de 16 años" becomes "tienen whatsapp pa mi ninos de menores": search finds the passage
with WhatsApp and the one about minors, and the answer matches its words. A general lexicon of the language, not
a list of questions. Works on accent-free lower-case text (``adapters.policy.when.plain``).
"""

from __future__ import annotations

import re
import unicodedata

# Dominican and misheard words, to the documents' words (whole words of plain text).
SYNONYMS: dict[str, str] = {
    "guasap": "whatsapp",
    "wasap": "whatsapp",
    "guasa": "whatsapp",
    "whatsap": "whatsapp",
    "wa": "whatsapp",
    "diabete": "diabetes",
    "tiroide": "tiroides",
    "ayuna": "ayunas",
    "llevar": "traer",
    "llevo": "traer",
    "traigo": "traer",
    "llevarlas": "traer",
    "llevarlos": "traer",
    "llevarla": "traer",
    "llevarlo": "traer",
    "toy": "estoy",
    "beber": "tomar",
    "beberme": "tomar",
    "bebo": "tomar",
    "tomarme": "tomar",
    "desayunar": "comer",
    "empiezan": "abren",
    "empieza": "abre",
    "comienzan": "abren",
    "comienza": "abre",
    "parquear": "parqueo",
    "parqueos": "parqueo",
    "estacionamiento": "parqueo",
    "estacionar": "parqueo",
    "estaciona": "parqueo",
    "estaciono": "parqueo",
    "estacionan": "parqueo",
    "estacionarse": "parqueo",
    "estacionarme": "parqueo",
    "parquea": "parqueo",
    "parqueo": "parqueo",
    "parquearme": "parqueo",
    "parquearse": "parqueo",
    "placa": "radiografia",
    "sono": "sonografia",
    "electro": "electrocardiograma",
    "oculista": "oftalmologia",
    "otorrino": "otorrinolaringologia",
    "virtual": "telemedicina",
    "videollamada": "telemedicina",
    "online": "telemedicina",
    "muchachito": "ninos",
    "muchachitos": "ninos",
    "nino": "ninos",
    "nina": "ninos",
    "ninas": "ninos",
    "carajito": "ninos",
    "carajitos": "ninos",
    "bebe": "ninos",
    "muchacha": "menores",
    "muchacho": "menores",
    "adolescente": "menores",
    "menor": "menores",
    "sola": "acompanados",
    "solo": "acompanados",
    "acompanao": "acompanante",
    "acompanada": "acompanante",
    "acompanado": "acompanante",
    "clave": "contrasena",
    "pass": "contrasena",
    "link": "enlace",
    "stgo": "santiago",
    "psicologa": "psicologo",
    "hijo": "ninos",
    "hija": "ninos",
    "hijos": "ninos",
    "pastilla": "medicamentos",
    "pastillas": "medicamentos",
    "remedio": "medicamentos",
    "remedios": "medicamentos",
    "desmonto": "bajese",
    "desmonta": "bajese",
    "bajo": "bajese",
    "bajarme": "bajese",
    "desmontarme": "bajese",
}
# Everyday words for what clinic documents name technically: the caller's word stays and the documents' words
# follow it ("la placa del pecho" also says "radiografía de tórax"; "el doctor del corazón", "cardiología").
# General Spanish (and Dominican) medical vocabulary, not one clinic's.
ALSO: dict[str, tuple[str, ...]] = {
    "traer": ("traiga",),
    "numero": ("telefono",),
    "escribo": ("whatsapp", "correo"),
    "escribir": ("whatsapp", "correo"),
    "escribirles": ("whatsapp", "correo"),
    "internet": ("portal", "wifi"),
    "refresco": ("gaseosas", "bebidas"),
    "manejar": ("conducir",),
    "soda": ("gaseosas", "bebidas"),
    "mayores": ("envejecientes",),
    "ancianos": ("envejecientes",),
    "ancianas": ("envejecientes",),
    "viejitos": ("envejecientes",),
    "viejitas": ("envejecientes",),
    "banco": ("bancarias",),
    "excusa": ("licencia",),
    "papel": ("impresos",),
    "hemograma": ("analisis",),
    "sacan": ("toma",),
    "saco": ("toma",),
    "imprimir": ("impresos",),
    "impreso": ("impresos",),
    "constancia": ("licencia",),
    "video": ("telemedicina", "videollamada"),
    "afuera": ("internacionales",),
    "extranjero": ("internacionales",),
    "sector": ("direccion",),
    "zona": ("direccion",),
    "barrio": ("direccion",),
    "contestan": ("atiende",),
    "contesta": ("atiende",),
    "responden": ("atiende",),
    "menores": ("adolescentes",),
    "regla": ("menstruacion",),
    "periodo": ("menstruacion",),
    "mejor": ("ideal", "recomendable"),
    "esposo": ("acompanante",),
    "esposa": ("acompanante",),
    "marido": ("acompanante",),
    "pareja": ("acompanante",),
    "novio": ("acompanante",),
    "novia": ("acompanante",),
    "comer": ("ayunas", "cenar"),
    "antes": ("anterior",),
    "corazon": ("cardiologia",),
    "piel": ("dermatologia",),
    "granos": ("dermatologia",),
    "mancha": ("dermatologia",),
    "manchas": ("dermatologia",),
    "hueso": ("ortopedia",),
    "huesos": ("ortopedia",),
    "fractura": ("ortopedia",),
    "deporte": ("deportivas",),
    "deportes": ("deportivas",),
    "deportiva": ("deportivas",),
    "internista": ("interna",),
    "endocrino": ("endocrinologia",),
    "endocrina": ("endocrinologia",),
    "azucar": ("glucosa", "diabetes"),
    "diabetico": ("diabetes",),
    "diabetica": ("diabetes",),
    "colesterol": ("lipidico",),
    "trigliceridos": ("lipidico",),
    "grasa": ("lipidico",),
    "glicosilada": ("hemoglobina",),
    "tiroides": ("tiroideo",),
    "barriga": ("abdominal",),
    "panza": ("abdominal",),
    "estomago": ("abdominal",),
    "abdomen": ("abdominal",),
    "pecho": ("torax",),
    "rayos": ("radiografia", "imagenes"),
    "radiografia": ("imagenes",),
    "sonografia": ("imagenes",),
    "tomografia": ("imagenes",),
    "mamografia": ("imagenes",),
    "resonancia": ("imagenes",),
    "sangre": ("analisis", "muestras"),
    "sencilla": ("simple",),
    "sencillo": ("simple",),
    "embarazada": ("obstetrica", "embarazo"),
    "prenatal": ("obstetrica",),
    "senos": ("mamografia",),
    "mamas": ("mamografia",),
    "ojos": ("oftalmologia",),
    "ojo": ("oftalmologia",),
    "vista": ("oftalmologia",),
    "pulmon": ("neumologo",),
    "pulmones": ("neumologo",),
    "asma": ("neumologo",),
    "terapia": ("psicologia",),
    "nervios": ("psicologia",),
    "ansiedad": ("psicologia",),
    "depresion": ("psicologia",),
}
# Words that stand for a family of the documents' words: a child is seen by a pediatrician.
RELATED: dict[str, tuple[str, ...]] = {
    "ninos": ("pediatr",),
    "menores": ("18",),
    "whatsapp": ("whatsapp",),
    "telemedicina": ("videollamad",),
    "analisis": ("muestr", "laboratori"),
}
# Parts of the body, the everyday and the documents' words: a study "de la rodilla" is the same study of another
# part ("Resonancia magnética" prices any), unless the list prices it by part ("Radiografía de tórax").
BODY_PARTS = frozenset(
    """cabeza craneo cerebro cuello columna espalda hombro hombros brazo brazos codo muneca mano manos dedo dedos
    cadera pierna piernas rodilla rodillas tobillo tobillos pie pies torax pecho abdomen abdominal barriga panza
    estomago pelvis pelvica pelvico higado rinon rinones pulmon pulmones corazon tiroides mama mamas seno senos
    ojo ojos oido oidos nariz boca""".split()  # noqa: SIM905
)
# Ages under 18 said as a number ("tiene 16", "una de 17 años").
_MINOR_AGE = re.compile(r"\b(1[0-7]|[1-9]) anos?\b")
_MINOR = re.compile(r"\b(de|tiene) 1[0-7]\b")
# Not turning up, said the caller's way: "no llegué", "no pude ir", "se me olvidó la cita", "falté".
_NO_SHOW = re.compile(
    r"\bno (?:llego|llega|llegue|voy|fui|fue|pude ir|pudo ir|puedo ir|asisto|asisti|me presento|me presente)\b"
    r"|\bse me olvid\w+|\bfalt(?:e|o|ar|a)\b(?= a la cita| la cita)"
)
_WEEKDAYS = re.compile(
    r"\bentre semana\b|\bpor la semana\b(?! que viene| proxima| pasada)|\bdias de semana\b"
)
# Taking a person to the visit is going with them: "soy la tía, ¿puedo llevarlo yo a la consulta?", "llevar a mi
# hija" (bringing papers is "traer").
_PERSON = (
    r"(?:hij[oa]s?|nin[oa]s?|muchach[oa]s?|bebes?|mama|papa|madre|padre|abuel[oa]|espos[oa]|marido|sobrin[oa]|"
    r"ti[oa]|prim[oa]|herman[oa]|niet[oa]|menores|paciente|senor|senora)"
)
_TAKES_SOMEONE = re.compile(
    rf"\bllev\w*(?: yo)? a (?:mi|su|un|una|el|la|los|las) {_PERSON}(?= a la (?:cita|consulta)\b)"
)
_TAKES_THEM = re.compile(r"\bllevarl[oae]s?(?: yo)?(?= a la (?:cita|consulta)\b)")  # ... when they are people
_SOMEONE = re.compile(rf"\b{_PERSON}\b")
# Where the car is left is the parking: "¿dónde uno deja el carro?"
_PARKS = re.compile(
    r"\b(?:dej\w*|pong\w*|poner|meto|mete|meter) (?:el|mi|su|la|los) (?:carro|carros|vehiculo|yipeta|auto|motor)\b"
)
_CAPITAL = re.compile(r"(?<=\bla )capital\b(?! de(?! aqui| santo domingo)\b)")


# Verbs a caller says without their final r, as many Dominicans do ("¿se puede llega sin cita?", "pa vacuna al
# niño", "que tengo que hace"): after a word that takes an infinitive, they are the infinitive.
_TAKES_INFINITIVE = (
    r"(?:puedo|puede|pueden|podria|podemos|tengo que|tiene que|tienen que|hay que|voy a|va a|vamos a|van a|debo|"
    r"debe|quiero|quisiera|necesito|pa|para)"
)
_DROPPED_R_VERBS = """llega saca hace paga busca maneja entra confirma cancela cambia reserva agenda separa aparta
    pregunta habla come toma trae lleva deja vacuna reprograma llama marca retira recoge estaciona parquea espera
    desayuna bebe usa pone quita manda envia conecta escoge ve""".split()  # noqa: SIM905
_DROPPED_R = re.compile(rf"\b({_TAKES_INFINITIVE}(?: me| te| se| le| nos)?) ({'|'.join(_DROPPED_R_VERBS)})\b")


def with_infinitives(plain_text: str) -> str:
    """``plain_text`` with the final r of the infinitives said without it put back."""
    return _DROPPED_R.sub(r"\1 \2r", plain_text)


def normalise(plain_text: str, also: bool = True) -> str:
    """The caller's words in the documents' words; with ``also``, the documents' words for everyday ones follow
    them (ALSO)."""
    text = _MINOR.sub(r"\1 menores", _MINOR_AGE.sub("menores", with_infinitives(plain_text)))
    text = _CAPITAL.sub("santo domingo", text)  # "la capital de Francia" is not Santo Domingo
    text = _WEEKDAYS.sub("entre semana lunes a viernes", text)
    text = _NO_SHOW.sub(r"\g<0> no se presenta ausencia", text)
    text = _PARKS.sub("parqueo", text)
    text = _TAKES_SOMEONE.sub("acompanar", text)
    if _SOMEONE.search(
        text
    ):  # "soy la tía de un muchacho, ¿puedo llevarlo yo?", not "los estudios, ¿llevarlos?"
        text = _TAKES_THEM.sub("acompanar", text)
    words = [SYNONYMS.get(word, word) for word in re.findall(r"[a-z0-9$@.:-]+", text)]
    return " ".join(
        f"{word} {' '.join(also_for(word))}" if also and also_for(word) else word for word in words
    )


_NOT_A_PLURAL = frozenset({"mama", "papa"})  # mamá and papá, not "mamas"


def also_for(word: str) -> tuple[str, ...]:
    """The documents' words for an everyday ``word``, singular or plural ("sonografías" as "sonografía"), its
    plural said without the s as Dominicans do ("lo rayo x")."""
    plural = f"{word}s" if word not in _NOT_A_PLURAL else ""
    for form in (
        word,
        word[:-1] if word.endswith("s") else "",
        word[:-2] if word.endswith("es") else "",
        plural,
    ):
        if form and form in ALSO:
            return ALSO[form]
    return ()


# A specialist and the specialty, as Spanish forms them: a page lists "urología", the caller asks for "un
# urólogo" (and the other way round); "pediatra", "pediatría"; "ortopeda", "ortopedia".
_SPECIALIST_FORMS = (
    (re.compile(r"^(\w+olog)(?:o|a|os|as)$"), r"\1ia"),
    (re.compile(r"^(\w+olog)ias?$"), r"\1o"),
    (re.compile(r"^(\w+iatr)(?:a|as)$"), r"\1ia"),
    (re.compile(r"^(\w+iatr)ias?$"), r"\1a"),
    (re.compile(r"^(\w+ped)(?:a|as)$"), r"\1ia"),
    (re.compile(r"^(\w+ped)ias?$"), r"\1a"),
)


def specialty_forms(word: str) -> list[str]:
    """The other form of a specialist's or specialty's name: "urologo" -> "urologia", "pediatria" ->
    "pediatra" (accent-free)."""
    return [pattern.sub(other, word) for pattern, other in _SPECIALIST_FORMS if pattern.match(word)]


# "el de Santiago, no el de la capital": what the caller sets aside is not what they ask about.
_NOT_THAT_ONE = re.compile(
    r"(?i)\bno (?:el|la|los|las) (?:de|del) (?:la |el |los |las )?\w+"
    r"(?: (?!cu[aá]nto|cu[aá]ndo|d[oó]nde|qu[eé]\b|c[oó]mo|cu[aá]l|qui[eé]n|a\b|ese\b|esa\b|y\b)\w+)?"
)


def without_the_other(text: str) -> str:
    """``text`` without what the caller sets aside ("no el de la capital")."""
    return _NOT_THAT_ONE.sub(" ", text)


def expanded(query: str) -> str:
    """``query`` with the documents' words for the caller's own added, for search."""
    query = without_the_other(query)
    decomposed = unicodedata.normalize("NFKD", query.lower())
    plain_query = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain_words = set(plain_query.split())
    words = normalise(plain_query).split()
    words += [form for word in words for form in specialty_forms(word)]
    extra = [word for word in dict.fromkeys(words) if word not in plain_words]
    return f"{query} {' '.join(extra)}" if extra else query
