"""The signs of an emergency now, by kind, as a triage nurse would list them and as a recogniser writes them.

``classify_urgent`` runs on every turn before any model, so it is plain regular expressions over a normalised
text (well under a millisecond). The text is first put in one spelling: lower case, no accents, punctuation kept
only as clause breaks ("|"), and the Dominican forms a recogniser writes spelled out ("ta" -> "esta", "toy" ->
"estoy", "pa" -> "para", "enredao" -> "enredado"). Plurals are written with an optional final s where callers drop
it ("los ojo en blanco").

Each kind has signs that count alone ("no puedo coger aire") and pairs that count together (an arm numb + one
side; a headache + sudden; shaking all over + not responding; bleeding + pregnant). Kinds are tried in the order
of ``_SIGNS`` (self-harm first, so it is answered as such whatever else is said). A sign counts unless
- it is denied just before ("no tiene dolor de pecho", "ni le duele el pecho", "sin convulsiones"),
- it is told as a hypothesis ("en caso de que no pueda respirar", "¿qué hago si le da una convulsión?"),
- the utterance tells it as over or a habit ("ya se le pasó", "cuando subo escaleras me falta el aire"), or as long
  ago or a history ("hace dos meses tuve un desmayo", "tuvo un infarto"), and says nothing of now ("ahora",
  "todavía", "otra vez", "hace un rato"); a present pain, breath or unresponsiveness in a clause of its own still
  counts ("tuve un infarto hace dos años y me duele el pecho"); thoughts of self-harm count whatever the time,
- it is a figure of speech or a topic rather than a symptom ("me muero de la risa", "análisis de sangre",
  "¿tienen neurólogo para las convulsiones?", "síntomas de un infarto", "el WhatsApp no responde").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

UrgentKind = Literal["chest", "breathing", "stroke", "bleeding", "fainting", "self_harm", "seizure"]

# Recogniser spellings of Dominican speech, spelled out so one sign covers both.
_WORD_FORMS = {
    "ta": "esta",
    "toy": "estoy",
    "tamo": "estamos",
    "tamos": "estamos",
    "taba": "estaba",
    "pa": "para",
    "pal": "para el",
    "to": "todo",
    "toa": "toda",
    "toito": "todito",
    "na": "nada",
    "q": "que",
    "xq": "porque",
    "pq": "porque",
    "ete": "este",
    "do": "dos",
    "tre": "tres",
    "mese": "meses",
    "torcia": "torcida",
}
_PARTICIPLE_AO = re.compile(r"\b([a-z]{3,})ao\b")  # "enredao", "privao", "morao" -> "-ado"


# One pass of str.translate does what most turns need (Spanish accents, apostrophes, clause punctuation); the
# Unicode decomposition is only for the rare other accented letter.
_SPANISH = str.maketrans(
    {
        **dict(zip("áéíóúüñàèìòù", "aeiouunaeiou", strict=True)),
        **dict.fromkeys("'’`´", ""),
        **dict.fromkeys(".,;:!?¿¡()…\n", " | "),
    }
)
_CLAUSE_MARKS = re.compile(r"(?:\| )+\|")


def spoken_form(text: str) -> str:
    """``text`` in the one spelling the signs are written in (see the module's docstring)."""
    text = text.lower().translate(_SPANISH)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    text = _NOT_A_LETTER.sub(" ", text)
    words = [_WORD_FORMS.get(word, word) for word in text.split()]
    text = _PARTICIPLE_AO.sub(r"\1ado", " ".join(words))
    return _CLAUSE_MARKS.sub("|", text).strip(" |")


_NOT_A_LETTER = re.compile(r"[^a-z0-9| ]+")
_CAN = r"(?:puedo|puede|pueden|podemos|podia|pude|pudo|puedes)"
_CL = r"(?:me|le|se|nos|les|te)"
_FACE = (
    r"(?:la |media |un |el |medio )?(?:(?:mitad|lado|parte) (?:izquierd[oa] |derech[oa] )?(?:de |del )?(?:la )?)?"
    r"(?:cara|boca|cachete|labio)"
)
_LIMB_NUMB = (
    r"(?:dormid[oa]s?|durmio|dormio|adormec\w+|entumec\w+|paraliz\w+|sin fuerzas?|no (?:tengo|tiene) fuerzas?|"
    r"debil(?:es)?|flojo|floja|no (?:siento|siente|sentia)|pesad[oa]s?|no "
    + _CAN
    + r" (?:mover|levantar|apretar|"
    r"sostener|sentir))"
)
_ONE_SIDE = (
    r"(?:lado (?:izquierdo|derecho)|un lado|medio lado|mitad del cuerpo|(?:brazo|pierna|mano) (?:izquierd[oa]|"
    r"derech[oa])|brazo y (?:la )?pierna|pierna y (?:el )?brazo|(?:del|el) mismo lado)"
)
# Sight lost or doubled: with "de repente", or with a limb gone numb (a pair below), a stroke's sign.
_VISION = r"(?:no (?:veo|ve|vi|vio)|(?:deje|dejo|deja) de ver|vista|ciego|ciega|(?:veo|ve|veia|veo|vio) doble|vision doble)"
_HEADACHE = r"(?:dolor de cabeza|duele (?:mucho |muchisimo )?la cabeza|cabeza (?:me|le) (?:va a )?(?:explota|explotar|estalla|estallar))"  # fmt: skip
_SUDDEN = r"(?:de repente|de golpe|derrepente|como nunca|como un (?:trueno|rayo|martillazo|golpe)|el peor|peor dolor)"
_TREMBLE_ALL = (
    r"(?:temblando|temblar|tiembla|temblo|sacud\w+|brincando|brinca|estremec\w+) (?:todo|toda|todito|todita|entero|"
    r"entera|el cuerpo|de pies a cabeza)"
)
_UNRESPONSIVE = (
    r"(?:no (?:responde|reacciona|contesta|despierta|me (?:oye|mira|hace caso))|inconsciente|morad[oa])"
)
_PERSON = (
    r"(?:papa|mama|hijo|hija|hijos|abuelo|abuela|esposo|esposa|marido|mujer|tio|tia|hermano|hermana|nieto|nieta|"
    r"primo|prima|suegro|suegra|padre|madre|bebe|nino|nina|nene|nena|senor|senora|paciente|vecino|vecina|muchacho|"
    r"muchacha|ella|amigo|amiga|companero|companera)"
)
_PREGNANT = r"(?:embaraz\w*|en estado|prenada|en cinta|encinta)"

# Each kind's signs: one alone is enough. Kinds are tried in this order.
_SIGNS: dict[UrgentKind, list[str]] = {
    "self_harm": [
        r"\b(?:me|se|te) (?:quiero|quiere|quiera|quieres|queria|voy|va|iba) (?:a )?(?:matar|suicidar|morir|"
        r"quitar la vida|ahorcar|envenenar|cortar las venas|hacer dano|terminar con (?:mi|su) vida|tirar (?:de|por|al|del|a la|debajo))\b",
        r"\b(?:quiero|quiere|queria|voy a|va a|iba a|pienso(?: en)?|piensa(?: en)?|pense en|pensando en|penso en|pensado en|ganas de|habla de|hablando de|"
        r"dice que va a|intento|trato de|amenaza con|amenazando con) (?:suicid\w+|matar(?:me|se)|quitar(?:me|se) la "
        r"vida|(?:acabar|terminar) con (?:mi|su) vida|hacer(?:me|se) dano|cortar(?:me|se)|morir(?:me|se)|ahorcar(?:me|se)|"
        r"tirar(?:me|se) (?:de|por|al|del|a)|envenenar(?:me|se))\b",
        r"\bsuicid\w*",
        r"\bno (?:quiero|quiere|queria|aguanto|aguanta) (?:seguir )?(?:vivir|viviendo)(?: mas)?\b",
        r"\bno vale la pena (?:vivir|seguir viviendo)\b|\b(?:estaria|estariamos|estar|estarian) mejor muert[oa]s?\b",
        r"\b(?:tomarme|tomarse|me tome|se tomo|me voy a tomar|se va a tomar|se trago|me trague) (?:todas las|un pote de|"
        r"un frasco de|un monton de|muchas) pastillas\b",
        r"\b(?:se tomo|me tome|se bebio|me bebi|se trago) (?:el |un |una )?(?:veneno|cloro|raticida|gasolina|"
        r"insecticida|pote de pastillas)\b",
        r"\b(?:quitarse la vida|(?:me|se) corto las venas)\b|\b(?:quiero|voy a|va a|para) acabar con todo\b(?! el| lo)",
    ],
    "chest": [
        r"\b(?:dolor|dolo|presion|opresion|punzada|puntada|apreton|ardor|peso|molestia|dolencia)\b"
        r"[a-z ]{0,25}\b(?:pecho|corazon)\b",
        r"\b(?:pecho|corazon)\b[a-z ]{0,20}\b(?:duele|duelen|doliendo|aprieta|apretando|oprime|arde|quema|pesa)\b",
        r"\b(?:duele|doliendo|aprieta|apretando) (?:mucho |muchisimo )?(?:el|en el) pecho\b|\bpecho (?:apretado|oprimido)\b",
        r"\b(?:infarto|infartando|ataque (?:al|del) corazon|ataque cardiaco)\b",
    ],
    "breathing": [
        rf"\bno {_CAN} respirar\b(?! (?:bien )?por la nariz)|\bsin poder (?:respirar|coger aire|agarrar aire)\b",
        rf"\bno {_CAN} (?:coger|agarrar|tomar|jalar|halar|meter|sacar) (?:el |nada de |bien el |bien )?aire\b",
        r"\bno (?:respira|esta respirando|respiraba)\b(?! (?:bien )?por la nariz)",
        rf"\b{_CL} (?:falta|faltaba|esta faltando|falto) (?:el |mucho |bastante |la )?(?:aire|respiracion)\b|\bfalta de aire\b"
        rf"|\b{_CL} (?:esta |estoy |estamos )?(?:quedando|queda|quedo) sin (?:aire|respiracion)\b",
        r"\bno (?:me|le|nos) (?:entra|llega|pasa) (?:el )?aire\b",
        rf"\b{_CL} (?:cuesta|esta costando) (?:mucho |muchisimo )?(?:respirar|coger aire|agarrar aire)\b"
        r"|\bdificultad (?:para|al) respirar\b",
        r"\b(?:me estoy|se esta|me|se|estoy|esta) ahog(?:o|a|ando|ado|ada)\b|\basfixi\w*",
        r"\bse (?:me |le |nos )?(?:esta )?(?:cierra|cerrando|cerro|tranca|trancando|tranco) (?:el pecho|la garganta)\b"
        r"|\b(?:pecho|garganta) (?:cerrad[oa]|trancad[oa])\b",
        r"\bse (?:esta |puso |pusieron |esta poniendo |le puso |va poniendo )(?:morad|azul)\w*\b(?! (?:el|la|los|las) "
        r"(?:rodilla|pierna|brazo|ojos?|dedo|pie|mano|espalda|nalga))"
        r"|\b(?:labios|boca|unas|cara)\b[a-z ]{0,20}\b(?:morad|azul)\w*|\b(?:morad|azul)\w* (?:los labios|la boca)\b",
        r"\bse (?:me |le |les )?(?:hincho|hincharon|esta hinchando|estan hinchando|inflamo|inflamaron|cerro) (?:la |los |las )?"
        r"(?:garganta|lengua|labios?|boca)\b|\b(?:lengua|labios) (?:hinchad|inflamad)\w*",
        r"\breaccion alergica (?:fuerte|grave|severa|seria|muy fuerte)\b|\banafila\w*|\bshock alergico\b",
        r"\b(?:se (?:atraganto|atoro|esta atragantando|esta atorando|ahoga con))\b|\batragant\w*"
        r"|\bse (?:me|le) (?:atoro|pego|quedo|trabo) (?:algo|una \w+|un \w+) en la garganta\b",
        r"\b(?:ataque|crisis) (?:de asma|asmatic\w*)\b"
        r"|\b(?:la bomba|el inhalador|la nebulizacion) no (?:le|me) (?:hace|esta haciendo|hizo) (?:efecto|nada)\b",
        r"\brespir(?:a|o|ando) (?:muy )?(?:mal|con dificultad|raro|feo|rapidito|muy rapido|con mucho esfuerzo)\b"
        r"|\bse le hunden las costillas\b",
    ],
    "stroke": [
        r"\b(?:se me|se le|tengo|tiene|le quedo|me quedo)(?: ha| han)? ?(?:durmio|dormio|dormido|cayo|caido|caida|"
        r"torcio|torcido|torcida|paralizo|paralizado|paralizada|adormecio|entumecio|ladeo|ladeado|ladeada|jalo|desvio|dormida|bajo|"
        r"virado|virada|viro|fue|chueca|guindada|guindo) " + _FACE + r"\b",
        r"\b(?:cara|boca) (?:caida|torcida|dormida|paralizada|de lado|ladeada|virada|chueca|guindada|para un lado|"
        r"desviada)\b|\bse (?:me|le) fue (?:la boca|la cara) (?:de lado|para un lado)\b",
        r"\b(?:media|mitad de la) cara (?:dormida|caida|paralizada|torcida|muerta)\b",
        r"\b(?:se me|se le) (?:durmio|dormio|adormecio|entumecio|paralizo|cayo|acalambro) (?:toda |todo )?(?:la mitad|"
        r"medio lado|un lado|el lado|lado)(?: izquierdo| derecho)?(?: del cuerpo)?\b",
        rf"\bno {_CAN} (?:mover|levantar|sentir|apretar) (?:el|un|la|los|las|su|mi) (?:brazo|pierna|lado|mano)\w*",
        r"\bno (?:siento|siente) (?:el|la|un|mi|su) (?:brazo|pierna|lado|cara)\b"
        r"|\b(?:perdi\w*|se (?:me|le) fue) (?:la )?fuerza (?:del|de la|en el|en la|de un) (?:brazo|pierna|lado|mano)\b",
        r"\b(?:habla|hablo|hablando|habla muy|hablando muy)(?: como)? (?:raro|enredado|arrastrado|mocho|trabado|"
        r"torcido|sin sentido|borracho)\b|\bse (?:me|le) (?:traba|trabo|enreda|enredo) la lengua\b"
        r"|\blengua (?:pesada|trabada|enredada)\b|\b(?:arrastrando|arrastra) las palabras\b"
        r"|\bno (?:me|le) salen las palabras\b|\bno se le entienden? (?:lo que|cuando|nada|las palabras|al hablar)\b"
        r"|\bperdi\w* el habla\b",
        rf"\bno {_CAN} hablar\b(?! (?:con|ahora|mas|por|en|de|luego|hoy|manana))|\bdejo de hablar de repente\b",
        r"\b(?:derrame|ictus|accidente cerebro\w*|trombosis)\b",
        rf"\b(?:de repente|de golpe|derrepente)\b[a-z ]{{0,25}}\b{_VISION}"
        rf"|\b{_VISION}\b[a-z ]{{0,25}}\b(?:de repente|de golpe|derrepente)\b"
        r"|\b(?:no (?:veo|ve|vi|vio)|(?:deje|dejo|deja) de ver) (?:nada )?(?:de|por|con) (?:un|el|este|ese|mi|su|el otro) "
        r"ojos?\b"
        r"|\b(?:perdi|perdio|quede|quedo) (?:la vista|ciego|ciega|sin vista)\b|\bse (?:me|le) (?:fue|apago) la vista\b",
        r"\b(?:el )?peor dolor de cabeza\b",
    ],
    "bleeding": [
        r"\b(?:botando|boto|bota|bote|echando|echo|sale|saliendo|salio|perdiendo|pierdo|perdi|chorreando|brotando|"
        r"vomit\w*|tos\w*|escup\w*) (?:mucha |muchisima |demasiada |bastante |un chorro de |"
        r"full de |un monton de |tanta |toda esa |chorros de |un pocote de |como )?sangre\b",
        r"\b(?:vomit\w*|tos|flema|gargaj\w*) (?:con|de) sangre\b",
        r"\b(?:hemorragia|desangr\w*)\b",
        r"\bno(?: se)?(?: me| le| nos)? (?:para|paran|deja|detiene|quita|corta|paro|quiere parar|ha parado|ha dejado) "
        r"(?:de )?(?:sangrar|la sangre|el sangrado|la hemorragia)\b",
        r"\bsangre (?:no (?:se )?(?:para|paran|detiene|quita|corta|deja|ha parado)|a chorros?|a borbotones|"
        r"por todos lados|por todas partes)\b",
        r"\b(?:sangr(?:ando|a|o|e|ado)) (?:mucho|muchisimo|demasiado|sin parar|bastante|a chorros?|un monton|"
        r"horrible|abundante|fuerte|que no para|y no para)\b|\bsangr(?:a|ando) y sangr(?:a|ando)\b",
        r"\b(?:mucha|muchisima|demasiada|tanta|un charco de|un chorro de|chorros de|un monton de|un pocote de) sangre\b",
        r"\b(?:empap\w+|llen[oa]s?|banad[oa]s?|cubiert[oa]s?) (?:de|en) sangre\b"
        r"|\bempap\w* (?:\w+ ){0,3}(?:toallas?|gasas?|trapos?|compresas?|panales?|sabanas?)\b",
    ],
    "seizure": [
        r"\bconvuls\w*|\b(?:epileptic\w* (?:ataque|crisis)|(?:ataque|crisis) (?:epileptic\w*|de epilepsia|convulsiv\w*))",
        r"\bojos? en blanco\b|\bse (?:le|me) (?:viraron|viran|voltearon|volteo|fueron|pusieron) (?:para arriba )?"
        r"los ojos?\b|\bojos? (?:virados|volteados|para arriba|para atras)\b",
        r"\b(?:echando|echa|bota|botando|boto|saliendo|sale|salia|salio|tira|tirando) espuma\b|\bespuma por la boca\b",
        r"\bse (?:le |me )?(?:puso|quedo|pone|esta poniendo) (?:todo |toda |todito |todita )?(?:rigid|ties|engarrot)\w*",
        r"\ble (?:dio|esta dando|dan|da) (?:un )?ataque\b(?! de| al| del| cardiac)",
    ],
    "fainting": [
        r"\b(?:desmay\w*|se privo|me privo|(?:esta|quedo|cayo|sigue)(?: como)? privad[oa]|yeyo|inconsciente|"
        r"perdi\w* el (?:conocimiento|sentido)|se desplomo|se desvanecio|cayo redondo)\b",
        r"\b(?:y|pero|ya) no (?:responde|reacciona)\b|\bno (?:reacciona|(?:se )?despierta)\b"
        rf"|\b{_PERSON}\b(?: \w+){{0,3}} no (?:responde|reacciona)\b|\bno (?:me |nos |le )?responde (?:a nada|cuando)\b"
        r"|\bno (?:lo|la|le) (?:puedo|podemos|pude|pudimos) despertar\b",
        r"\bse cayo y no (?:se mueve|responde|se levanta|reacciona|habla)\b|\besta tirad[oa] en el (?:piso|suelo)\b"
        r"|\bno abre los ojos\b|\bquedo como muert[oa]\b|\bse (?:me|le) fue el (?:conocimiento|sentido)\b|\bpatatus\b"
        r"|\bsin (?:despertar|responder|reaccionar|conocimiento|sentido)\b",
    ],
}

# Pairs: a sign that counts only with a second one anywhere in the utterance.
_PAIRED: list[tuple[UrgentKind, str, str]] = [
    (
        "chest",
        r"\b(?:duele|dolor|doliendo)\b[a-z ]{0,30}\b(?:brazo izquierdo|quijada|mandibula)\b",
        r"\b(?:sud\w+ frio|sudor frio|sudando mucho|sudando|falta el aire|pecho|mare\w+)\b",
    ),
    ("chest", r"\b(?:sudando frio|sudor frio)\b", r"\b(?:dolor|duele|presion|opresion|apret\w+)\b"),
    (
        "breathing",
        r"\bse (?:me |le )?(?:hincho|hincharon|inflamo|inflamaron) (?:la |los )?(?:cara|ojos)\b",
        r"\b(?:alergi\w*|picada|picadura|ronchas|comio|medicamento|medicina|pastilla|inyeccion)\b",
    ),
    ("stroke", _LIMB_NUMB, _ONE_SIDE),
    ("stroke", _LIMB_NUMB, _VISION),
    ("stroke", _HEADACHE, _SUDDEN),
    (
        "bleeding",
        r"\b(?:sangr\w+|sangre|hemorragia|(?:me|le) (?:bajo|baja|esta bajando) (?:sangre|la regla))\b",
        _PREGNANT,
    ),
    ("seizure", _TREMBLE_ALL, _UNRESPONSIVE),
]

# Words that look like signs but are not symptoms: removed before the signs are looked for.
_NOT_A_SYMPTOM = re.compile(
    r"\b(?:muero|muriendo|morir|morirme|muerto|muerta|morimos) de (?:la |el )?(?:risa|hambre|sueno|calor|frio|"
    r"verguenza|ganas|aburrimiento|cansancio|pena|amor|nervios|ansias|sed|miedo|susto)\b"
    r"|\bmatar(?:me|se)? (?:trabajando|estudiando|corriendo|de la risa)\b"
    r"|\bahog\w* (?:en|de|con) (?:deudas|trabajo|problemas|calor|tanto|cuentas)\b"
    r"|\bse (?:me|le) (?:cayo|caia) la cara de (?:la )?verguenza\b"
    r"|\bataque de (?:risa|nervios|celos|hambre|tos|ansiedad|panico)\b|\bsin (?:aire|respiracion) de (?:tanto|la risa)\b"
    r"|\bmorad[oa]s? (?:del|por el|de un|por un) golpe\b"
    r"|\b(?:analisis|examen|examenes|prueba|pruebas|muestra|muestras|perfil|donar|donacion|donante|banco|tipo|grupo|"
    r"transfusion|sacar|sacarme|sacarle|sacan|saco|extraccion|conteo|cultivo|azucar en la|hemograma) (?:de )?(?:la )?"
    r"sangre\b"
    r"|\bderrame (?:en el ojos?|del ojos?|de ojos?|en los ojos|pleural|de liquido|de bilis)\b"
    r"|\b(?:telefono|whatsapp|numero|correo|mensaje|mensajes|linea|recepcion|pagina|app|aplicacion|sistema|agenda|"
    r"chat|portal|enlace|link|"
    r"celular|la clinica|el centro|llame|llamo|escribi|escribo|la computadora)\b[a-z ]{0,30}"
    r"\bno (?:responde|contesta|reacciona)\b"
    r"|\b(?:para|sobre|contra|especialista en|tratamiento de|medicamento de|medicina de|pastillas? de|pastillas? para|"
    r"control de|prevencion de|prevenir|riesgo de|estudio de|consulta por|chequeo por|sintomas? de|senales de|"
    r"causas? de|que causa|que es|murio de|murio por|fallecio de|fallecio por|despues de|despues del|secuelas? del?|"
    r"rehabilitacion del?|terapia del?|terapia para|recuperacion del?|antecedentes? del?|historial del?) "
    r"(?:un |una |el |la |los |las |su )?"
    r"(?:convuls\w+|epilepsia|derrames?|infartos?|desmayos?|hemorragias?|asma|ataques?|dolor de pecho|"
    r"dolor en el pecho|falta de aire)\b(?! que| ahora| ahorita)"
)
# A sign right after one of these is denied: "no tiene dolor de pecho", "sin convulsiones", "ni le duele el pecho".
_DENIED = re.compile(
    r"\b(?:no|ni|sin|nunca|jamas|tampoco|ningun|ninguna|nada de)(?: (?:me|te|le|les|se|lo|la|nos|ha|he|han|hemos|"
    r"habia|tiene|tengo|tienen|tenia|tuvo|tuve|hay|habido|esta|estoy|estan|estaba|siento|siente|sentia|es|era|fue|"
    r"son|parece|creo|da|dio|dado|ya|mas|ningun|ninguna|nada|un|una|el|tipo de|mucho|mucha|otro|otra|vuelto a))* ?$"
)
_HYPOTHESIS = re.compile(
    r"\b(?:en caso de(?: que)?|por si(?: acaso)?|que (?:hago|hacer|debo hacer|hacemos|se hace)(?: yo)? (?:si|cuando)|"
    r"que pasa si|si llegara a|y si)\b"
)
# Told as long ago: ruled out unless now is said, or the sign is a present pain or breath in a clause of its own
# ("tuve un infarto hace dos años y me duele el pecho"). Self-harm is never ruled out by time.
_PAST = re.compile(
    r"\b(?:el|la|los) (?:ano|mes|semana|verano|diciembre|lunes|martes|miercoles|jueves|viernes|sabado|domingo) "
    r"pasad[oa]\b|\bel otro ano\b|\bel otro dia\b|\bla otra vez\b|\bel ano antepasado\b"
    r"|(?<!desde )\bhace (?:un|una|unos|unas|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|varios|varias|muchos|"
    r"muchas|algunos|algunas|\d+) (?:ano|anos|mes|meses|semana|semanas|dias)\b(?! que)"
    r"|(?<!desde )\bhace (?:mucho|tiempo|mucho tiempo|rato largo)\b(?! que)|(?<!desde )\b(?:ayer|antier|anteayer|anoche)\b"
    r"|\bde (?:nino|nina|chiquito|chiquita|pequeno|pequena)\b"
    r"|\bcuando (?:era|estaba|estuve) (?:nino|nina|chiquito|chiquita|pequeno|pequena|embarazada|joven)\b"
    r"|\b(?:que|cuando) (?:tuve|tuvo|tuvimos|tuvieron|sufri|sufrio)\b"
    r"|\b(?:tuvo|tuve|ha tenido|he tenido|habia tenido|padece de|padezco de|sufre de|sufro de) (?:un |una |dos |varios |"
    r"varias )?(?:infartos?|derrames?|convulsion\w*|desmayos?|hemorragias?|ataques?)\b"
    r"|\b(?:despues|secuelas?|rehabilitacion|terapia|antecedentes?|historial|recuperacion) (?:de|del|por) "
    r"(?:un |una |el |la |su |los |las )?(?:derrame|infarto|convulsion|desmayo|hemorragia|ataque|accidente|ictus)"
)
# Told as over or as a habit ("ya se me pasó", "cuando subo escaleras"): ruled out unless now is said.
_OVER_OR_HABIT = re.compile(
    r"\bya (?:se me|se le|se) (?:paso|quito|fue|calmo|controlo|detuvo|paro)\b|\bya (?:estoy|esta|estamos|anda) "
    r"(?:bien|mejor)\b|\bya (?:paro|desperto|reacciono|volvio en si)\b"
    r"|\b(?:a veces|de vez en cuando|cada vez que|siempre que|cuando (?:subo|camino|corro|hago|me acuesto|me agacho|"
    r"como|trabajo|me levanto|hago ejercicio|toso|estornudo|me muevo|respiro hondo|me cepillo|orino|voy al bano)|"
    r"al (?:cepillarme|orinar|toser))\b"
)
_PRESENT_PAIN_OR_BREATH = re.compile(
    r"\b(?:duele|duelen|doliendo|puedo respirar|puede respirar|respira|respiro|falta el aire|sangrando|sangra|"
    r"convulsionando|ahogando|ahogo|responde|reacciona|despierta)\b"
)
_CLAUSE = re.compile(r"\||\by\b|\bpero\b")
# Now said anywhere in the turn ("ahora", "hace un rato", "otra vez"), though not the "ahora" of a booking
# ("hace dos meses tuve un desmayo y ahora quiero una cita").
_NOW = re.compile(
    r"\b(?:(?:ahora|ahorita)(?! (?:quiero|quisiera|queria|necesito|me gustaria|busco|deseo|llamo|vengo|para))(?: mismo)?|"
    r"en este momento|ya mismo|otra vez|de nuevo|como cuando|igual que cuando|desde (?:ayer|anoche|antier|esta|este|"
    r"hoy)|esta manana|esta noche|(?:desde )?hace (?:un rato|rato|poco|unos minutos|\d+ minutos|una hora|media hora|"
    r"\w+ horas))\b|\b(?:esta|estoy|estan) (?:convulsionando|sangrando|ahogando|botando|vomitando|temblando|doliendo|"
    r"dando|desmayando|poniendo)\b"
)
# "Still", said in the sign's own clause ("todavía me duele el pecho", "sigue sin despertar").
_STILL = re.compile(r"\b(?:todavia|aun|sigue|siguen|continua)\b")


@dataclass(frozen=True)
class _Kind:
    kind: UrgentKind
    signs: re.Pattern[str]
    paired: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]


_KINDS = tuple(
    _Kind(
        kind,
        re.compile("|".join(f"(?:{sign})" for sign in signs)),
        tuple((re.compile(a), re.compile(b)) for k, a, b in _PAIRED if k == kind),
    )
    for kind, signs in _SIGNS.items()
)


def _stands(text: str, match: re.Match[str]) -> bool:
    """Whether the sign ``match`` is asserted: not denied and not a hypothesis in its own clause. A sign that is
    itself a "no ..." is not denied by a "no" before it ("no, no puede respirar" without its comma)."""
    words = text[: match.start()].rsplit("|", 1)[-1].split()
    denied = not match.group().startswith("no ") and _DENIED.search(" ".join(words[-6:]))
    return not denied and not _HYPOTHESIS.search(" ".join(words[-10:]))


def _asserted(kind: _Kind, text: str) -> list[re.Match[str]]:
    found = [m for m in kind.signs.finditer(text) if _stands(text, m)]
    for sign, companion in kind.paired:
        match = sign.search(text)
        if match is not None and _stands(text, match) and companion.search(text):
            found.append(match)
    return found


def _not_now(text: str, match: re.Match[str]) -> bool:
    """Whether the utterance tells of the sign as over, a habit, long ago or a history (see ``_PAST``)."""
    # The clause the sign ends in: a sign may begin with its own "y" ("... y no responde").
    start = max((m.end() for m in _CLAUSE.finditer(text, 0, match.end())), default=0)
    ends = [m.start() for m in _CLAUSE.finditer(text, match.end())]
    clause = text[start : ends[0] if ends else len(text)]
    if _NOW.search(text) or _STILL.search(clause):
        return False
    if _OVER_OR_HABIT.search(text):
        return True
    if not _PAST.search(text):
        return False
    return not (_PRESENT_PAIN_OR_BREATH.search(clause) and not _PAST.search(clause))


# A test done in blood or urine ("la prueba de embarazo en sangre") is a test: its "en sangre" is no bleeding (the
# test's name stays, so "la prueba de embarazo salió positiva y estoy sangrando" still tells of both).
_TEST_IN = re.compile(
    r"\b((?:pruebas?|examen|examenes|test|analisis) de \w+) (?:en|de) (?:la )?(?:sangre|orina)\b"
)


def classify_urgent(utterance: str) -> UrgentKind | None:
    """The emergency ``utterance`` tells of now, or None. Thoughts of self-harm count whatever the time."""
    text = _NOT_A_SYMPTOM.sub(" ", _TEST_IN.sub(r"\1", spoken_form(utterance)))
    if not text.strip(" |"):
        return None
    for kind in _KINDS:
        for match in _asserted(kind, text):
            if kind.kind == "self_harm" or not _not_now(text, match):
                return kind.kind
    return None
