"""What the caller wants, from one utterance of (Dominican) Spanish: ordered rules over accent-free text.

Order matters: asking for a person beats everything; cancelling and moving beat booking ("quiero cambiar la
cita" mentions a cita too); a question about price, hours or place is information even when it names a cita
("¿cuánto cuesta una cita?"); greetings, thanks, yes and no count only when nothing else was asked.
The whole utterance counts, not its first words: an action inside a condition is not asked for ("¿si cancelo
la cita me cobran algo?" asks about a fee), a "si" that opens a condition is not a yes ("si voy en el metro,
¿dónde me bajo?"), and needing a specialist is asking for an appointment ("klk, necesito un pediatra pa mi niña").
"""

from __future__ import annotations

import re
from typing import Literal

from adapters.lexicon import with_infinitives
from adapters.policy.answer_types import answer_type
from adapters.policy.names import masked
from adapters.policy.when import A_WEEKDAY, NUMBERS, plain

Intent = Literal[
    "human", "cancel", "reschedule", "book", "information", "goodbye", "thanks", "affirm", "deny", "greeting"
]

_HUMAN = re.compile(
    r"\b(hablar|comunicar\w*|pasar\w*|pase\w*|transferir\w*)\b.*\b(persona|alguien|agente|humano|operador\w*|"
    r"representante|recepcion\w*|secretari\w*)\b|\b(un|una) (humano|persona real|operador\w*|representante)\b"
)
# When a person can be reached ("¿a qué hora puedo llamar pa hablar con una persona?") is a question of hours.
_WHEN_TO_CALL = re.compile(
    r"\b(?:(?:a|hasta|desde) que hora|(?:en )?que horario)\b(?: \w+){0,3} "
    r"(?:llamar|llamo|hablar|hablo|comunicarme|contestan|atienden el telefono)\b"
)
_CANCEL = re.compile(
    r"\b(cancel\w*|anul\w*|desmarc\w*)\b|\bno (voy a|vo a|puedo|podre) (poder )?"
    r"(ir|asistir|llegar)\b|\bya no (necesito|quiero|voy)\b"
)
# Removing, deleting, taking off: cancelling only with the appointment as their object ("quítela", "borrar la
# cita", "me la quita"); "una tos que no se le quita" is a symptom.
_CANCEL_IT = re.compile(
    r"\b(?:quit|borr|elimin)(?:ar|e|a|en|emos)?(?:me|nos)?(?:la|lo)\b"
    r"|\b(?:quit|borr|elimin)\w* (?:la|mi|su|esa|esta|una|el|ese) (?:cita|turno|consulta)\b"
    r"|\b(?:me|nos) la (?:puede |pueden |podria )?(?:quit|borr|elimin)\w*"
)
_RESCHEDULE = re.compile(
    r"\b(cambi\w*|mover|muev\w*|mueva\w*|reprogram\w*|pospon\w*|posterg\w*|adelant\w*|"
    r"rod(?:ar|ad[ao]|e|en|emos|ando)|rued[ae]n?\w*|corr(?:er|a|e|an|en|amos|ido|ida|iendo))\b"
    r"|\botro (dia|horario|turno)\b|\bpasar (la|mi) cita\b"
)
_IT = (
    re.compile(  # "cambiarla", "moverle", "muévala", "me la puede mover": the cita (not "rodilla", "pasada")
        r"\b(?:cambi|mov|muev|pas|reprogram|rod|rued|corr|adelant|pospon)"
        r"(?:ar|er|a|e|al|el|en|an|ga|ando|iendo)(?:me|se|nos|te)?(?:la|lo|le)\b"
        r"|\bla (puede |podria |pueden |puedo |quiero |quisiera |necesito |tengo que |voy a )?"
        r"(mover|cambiar|pasar|correr|rodar)\b"
    )
)
_BOOK = re.compile(
    r"\b(cita|turno|agend\w*|reserv\w*|apart\w*|separ\w*|sacar|coger|cojer|chequear\w*|chequeo|consulta con|"
    r"ver (al|a la) (doctor\w*|medic\w*|especialista|pediatra|dermatolog\w*|cardiolog\w*|ginecolog\w*))\b"
    r"|\b(?:quiero|necesito|quisiera|deme|dame) otra (?:con|pa|para)\b"  # "tengo cita con el cardiólogo, quiero otra con ..."
    # "pa una consulta de pediatría", "quiero llevar a mi hija donde el doctor", "ir donde la pediatra"
    r"|^(?:\w+ )?(?:pa|para) (?:una|la) consulta\b"
    r"|\b(?:llevar\w*|ir|ven\w*|pasar\w*)(?: (?:a )?(?:mi|la|el|al|a la|a mi|su) \w+)? (?:donde|a donde|adonde) "
    r"(?:el|la|un|una) (?:doctor\w*|dra?|pediatra|medic[oa]|especialista|\w+log[oa])\b"
)
_QUESTION = re.compile(
    r"\b(cuanto|cuanta|precio|cuesta|cobran|cobra|vale|sale|donde|horario|hora abren|hora cierran|abren|cierran|"
    r"aceptan|cogen|coge|reciben|que necesito|que tengo que|como (me preparo|llego|hago)|tienen|hay|"
    r"atienden|queda|direccion|telefono|whatsapp|seguro|estacion|metro|parqueo|estacionamiento)\b"
    r"|\bcuale?s? (?:e|es|son|seria) (?:el|la|los|las)\b"  # "no es nada grave, pero ¿cuál es el número...?"
    r"|\bcomo se llama\b|\bquien(?:es)? (?:es|son|e|atiende\w*|ve|trata\w*)\b|\bcon quien\b"
    r"|\bcomo (?:e|es|funciona|se hace) (?:el|la|eso|esa|ese)\b"
)
# Facts about the clinic (not about free times): asked in the middle of a booking, they are answered first.
_FACT = re.compile(
    r"\b(cuanto|cuanta|precio|cuesta|cobran|cobra|pagar|pago|cargo|multa|donde|horario|abren|cierran|aceptan|"
    r"cogen|reciben|que necesito|que tengo que|llevar|traer|como (me preparo|llego|hago)|atienden|direccion|"
    r"telefono|whatsapp|seguro|ars|estacion|metro|parqueo|estacionamiento|ayunas|resultados)\b"
)
_INTERROGATIVE = re.compile(
    r"(?:^|[¿,] ?)(?:(?:y|pero|oiga|mire|ok|ah|entonces|hola|buenas|buenos dias|buenas tardes|buenas noches|klk|"
    r"saludos|disculpe|perdon|mi amor|manito|mano|una pregunta|e que|es que) )*"
    r"(?:que|cual|cuales|cuanto|cuanta|cuantos|cuantas|"
    r"donde|adonde|como|cuando|quien|quienes|a que|en que|de que|por que|hasta que|desde que|con que|para que)\b"
    # "como a las diez" is about ten; ", que a las dos yo trabajo" gives a reason: neither asks anything.
    r"(?! (?:a |pa |para )?las? (?:\d|" + "|".join(NUMBERS) + r")\b)"
)
# After a pause, "que" opening a clause about the speaker is "because" ("mejor a las tres, que a las dos yo
# trabajo"), not "what": unless a question mark says otherwise.
_REASON = re.compile(r", ?que (?=(?:yo|el|ella|ese|esa|no|ya|a las?|me|le|estoy|toy|tengo|trabajo)\b)")
# "si hay", "si se puede", "si tienen" closing a request is politeness, not a condition or a question.
_POLITE = re.compile(
    r"\bsi (?:hay|se puede|puede|pueden|tienen|tiene|es posible|hay espacio|hay chance|hay cupo)"
    r"(?: espacio| chance| cupo)?\s*(?=$|[,.;!])"
)
_AVAILABILITY = re.compile(
    r"\b(otr[oa] (dia|hora|horario|fecha|turno)|mas temprano|mas tarde|disponib\w*|libre|espacio|cupo|hueco)\b"
)
# "Si cancelo la cita...", "en caso de que no llegue...": an action the caller supposes, not one they ask for.
_SUPPOSED = re.compile(
    r"\b(?:y )?(?:si|en caso de que|en caso de|cuando)\s+(?:(?:yo|la|lo|le|me|no|ya|tengo que|quiero)\s+)*"
    r"(?:cancel|cambi|muev|mov|reprogram|pospon|anul|falt|lleg|pierd|agend|reserv|sac|desmarc)\w*"
    r"(?:\s+(?:\w+\s+){0,2}?(?:(?:a|de|para|pa)\s+)?(?:(?:la|el|mi|una|un|su|esa|esta)\s+)?"
    r"(?:cita|turno|consulta))?"
)
# Needing a specialist, or wanting to be seen, is asking for an appointment: "necesito un pediatra".
SPECIALIST = (
    r"(?:pediatra|doctor\w*|medic[oa]s?|especialista|ortoped\w*|internista|dentista|odontolog\w*|"
    r"\w+log[oa]s?|obstetra|ginecolog\w*)"
)
_WANTS_SPECIALIST = re.compile(
    r"\b(?:necesito|necesita|quiero|quisiera|queria|busco|buscando|ocupo|me hace falta|me gustaria)\s+"
    r"(?:(?:un|una|el|la|al|a la|a un|a una|ver (?:al|a la|a un|a una))\s+)(?:buen[oa]? )?"
    + SPECIALIST
    + r"\b"
    r"|\bque me (?:vea|viera|vean|vieran|chequee|chequeen|revise|revisen|atienda|atiendan)\b"
    r"(?:\s+(?:un|una|el|la))?\s+" + SPECIALIST + r"\b"
    r"|\b(?:sacarle|hacerle|conseguirle|buscarle)\w* (?:una|un) (?:cita|turno|consulta)\b"
)
_GOODBYE = re.compile(
    r"\b(adios|hasta luego|hasta pronto|chao|chau|bye|nos vemos|eso es todo|nada mas|es todo)\b"
)
_THANKS = re.compile(r"\b(gracias?|grasias?|agradezco|agradecid\w*|muy amables?|mil gracias|bendiciones)\b")
_AFFIRM = re.compile(
    r"^(si|sii+|aja|aha|ajam|sip|claro|correcto|exacto|dale|ok|okay|okey|perfecto|esta bien|de acuerdo|eso mismo|eso es|"
    r"asi es|confirmo|afirmativo|por supuesto|seguro que si|ta bien|ta to|excelente|genial|chevere|buenisimo|"
    r"muy bien|listo)\b"
)
_DENY = re.compile(r"^(no|nop|negativo|para nada|no es asi|no no|nah)\b")
_GREETING = re.compile(
    r"\b(hola|buenos dias|buenas tardes|buenas noches|buenas|saludos|klk|que lo que|que tal|como esta\w*|"
    r"buen dia)\b"
)
# A question about the clinic's rules for appointments (a fee, a deadline, what happens, what to bring, what it
# does): "¿hasta cuándo puedo cambiar la cita sin costo?", "¿pa la cita tengo que llevar algo?", "¿ustedes mandan
# recordatorio antes de la cita?", "¿hay que hacer cita pa los análisis?". Not a request, unless one is made.
_RULE_QUESTION = re.compile(
    r"\b(sin costo|sin cargo|costo|cargo|multa|penalidad|recargo|hasta cuando|con cuanto tiempo|"
    r"cuanto tiempo antes|que pasa|que sucede|(?:tengo|tiene|hay) que (?:llevar|traer|presentar|pagar)|"
    r"(?:que|algo) (?:\w+ ){0,2}(?:llevo|traigo|llevar|traer|presento|me van a pedir|me piden|piden)|"
    r"(?:me|le|nos) cobra\w*|cobran algo)\b"
    r"|^(?:y |oiga |mire |pero )?(?:ustedes?|uno tiene que|hay que|se (?:necesita|ocupa)|es necesario|"
    r"hace falta|(?:me |le )?(?:mandan|envian|dan))\b"
    r"|\b(?:me|le|nos|les) (?:van a |va a )?(?:cobr\w*|avis\w*|recuerd\w*)\b"
)
# Whether an appointment is needed, asked without a question mark (a recogniser writes none): "pa vacunar al
# bebé necesito cita", "la sonografía hay que sacar cita antes".
_NEEDS_APPOINTMENT = re.compile(
    r"^(?:y )?(?:pa|para) \w+(?:ar|er|ir)(?:me|le|la|lo|se|les|los|las)?\b.*\b(?:necesito|necesita|"
    r"tengo que (?:sacar|hacer|pedir))\s+"
    r"(?:una\s+|la\s+)?cita(?:\s+(?:antes|previa|primero))?$"
    r"|\b(?:hay que (?:sacar|hacer|tener|pedir)|se (?:necesita|ocupa)|lleva|requiere)\s+(?:una\s+|la\s+)?cita"
    r"(?:\s+(?:antes|previa|primero))?$"
    # "¿tengo que hacer cita pa sacarme sangre?": whether one is needed for something to do
    r"|\b(?:tengo que|hay que|se necesita)\s+(?:hacer\s+|sacar\s+|pedir\s+)?(?:una\s+)?cita\s+"
    r"(?:pa|para)\s+\w+(?:ar|er|ir)(?:me|le|lo|la|se)?\b"
    # "¿necesito cita para la mamografía o puedo llegar directo?": whether a study needs one
    r"|^(?:y )?(?:necesito|necesita|hay que|se necesita|tengo que|lleva|requiere)\s+(?:sacar\s+|hacer\s+|pedir\s+)?"
    r"(?:una\s+)?cita\s+(?:pa|para)\s+(?:el|la|los|las|un|una)\b.*"
    r"\b(?:o (?:puedo|se puede|llego|voy|paso|me la hacen)|sin cita|directo)\b"
)
# Whether an appointment can be made some way is a question about booking, not a booking: "¿se puede sacar la
# cita directo en la recepción?", "¿se puede hacer la cita por WhatsApp?"
_BOOKED_HOW = re.compile(
    r"\bse (?:puede|pueden) (?:sacar|hacer|pedir|agendar|reservar|coger) (?:la |una |las )?citas? "
    r"(?:directo |directamente |tambien )?(?:en (?:la )?(?:recepcion|pagina|web|app|aplicacion)|"
    r"por (?:whatsapp|telefono|internet|la pagina|la web|el asistente|correo))\b"
)
# What to bring to the visit is a question about it: "tengo unos análisis viejos, ¿los llevo a la cita?"
_TO_THE_VISIT = re.compile(
    r"\b(?:(?:los|las|lo|la) (?:llevo|traigo|tengo que llevar|tengo que traer)|(?:tengo|hay) que "
    r"(?:llevarl|traerl)[oa]s?) a la (?:cita|consulta)\b"
)
# Asking, said as a wish: "quiero saber cuánto...", "usted sabe si...", "me dice dónde...".
_ASKING = re.compile(
    r"\b(?:quiero|queria|quisiera|necesito|me gustaria) (?:saber|preguntar\w*|averiguar|informacion)\b"
    r"|\b(?:usted|tu) sabes?\b|\b(?:me|nos) (?:dice|puede decir|podria decir|informa)\b|\bdigame\b|\buna pregunta\b"
)
_REQUEST = re.compile(
    r"\b(quiero|quisiera|necesito|me gustaria|ocupo|deseo|queria|hagame|por favor)\b|\b(?:me|nos|le) "
    r"(?:pueden |puede |podrian |podria )?(?:dar|dan|da|hacer|hacen|hace|separ\w*|apart\w*|agend\w*|reserv\w*)\b"
)
# Asking for an appointment by name ("una cita", "sacar turno", "resérveme"): a price asked beside it does not
# make it a question only ("quiero una cita con el cardiólogo, ¿cuánto cuesta?"), while wanting to be seen does
# ("quiero que me vea el dermatólogo, ¿cuánto cobra?").
_ASKS_FOR_ONE = re.compile(r"\b(cita|turno|agend\w*|reserv\w*|apart\w*|separ\w*|sacar)\b")
# Which doctor: "¿qué doctora me puede ver?", "¿cuál médico atiende eso?" asks for a person, not a slot.
_WHICH_DOCTOR = re.compile(
    r"\b(?:que|cual|cuales) (?:doctor\w*|medic[oa]s?|especialista\w*|pediatra\w*)"
    r"(?: (?:me|le|lo|la|los|nos))? (?:puede|podria|pueden|podrian|sabe|atiende\w*|ve|ven|trata\w*)"
    r"(?: (?:ver|atender|tratar|chequear))?\b"
)
_DAY_WORDS = r"\b(?:manana|hoy|" + A_WEEKDAY + r"|el \d{1,2})\b"
_A_DAY = re.compile(r"\bpasado\b|" + _DAY_WORDS)
# A yes-or-no question, said without a question mark: "¿ella puede ir sola?", "¿se puede llegar sin cita?",
# "es gratis, ¿verdad?". Asking for an appointment ("¿me puede dar una cita?") is a request, not this.
_YES_NO_QUESTION = re.compile(
    r"\b(?:puedo|puede|podria|pueden|se puede)\s+(?:ir|llegar|venir|entrar|llevar\w*|traer\w*|pag\w*|tomar\w*|comer|"
    r"usar|hacer\w* (?:el|la|los|las|eso)|quedar\w*|esperar|estar)\b"
    r"|\b(?:lo|la|los|las) (?:puedo|puede|podria) (?:llevar|traer|mandar)\b"
)
_TAG_QUESTION = re.compile(r"\b(?:verdad|cierto|o no)\s*\??\s*$")
_REQUESTS_ONE = re.compile(
    r"\b(?:quiero|quisiera|queria|necesito|deme|dame|hagame|agendeme|reserveme|apartame|apartarme|separeme|"
    r"(?:me|nos|le) (?:puede|pueden|podria|podrian)? ?(?:dar|hacer|agendar|reservar|separar|apartar|conseguir|poner)|"
    r"sacar\w*|saque\w*|coger|cojer)\b(?: \w+){0,3} (?:cita|turno|consulta)\b"
)
# Asking on which days or when someone sees patients: "quiero ver al ortopeda, ¿qué días tiene consulta?" asks
# for the days, not for a slot (unless an appointment is asked for by name).
_WHICH_DAYS = re.compile(
    r"\bque dias?\b(?: \w+){0,2} (?:tiene|tienen|da|dan|atiende\w*|consulta\w*|trabaja\w*|viene\w*|esta|estan)\b"
    r"|\bcuando (?:atiende\w*|da consulta|tiene consulta|viene|trabaja)\b"
)
# Having an appointment already is not asking for one: "tengo cita hoy a las tres y me salió un compromiso".
_HAS_ONE = re.compile(r"\b(?:tengo|tenia|tiene|tenemos|ya tengo) (?:una |la |mi |su )?cita\b")
_BOOKING_VERB = re.compile(
    r"\b(quiero|quisiera|necesito|me gustaria|puedo|podria|ocupo|dame|deme|quier\w*)\b"
)


# Asking for a free time with someone or on a day is asking to book: "¿tienen espacio con el cardiólogo
# mañana?", "¿me pueden ver el lunes?" ("¿hay turnos los sábados?" asks about the clinic).
_FREE_TIME = re.compile(
    r"\b(?:tienen|tiene|hay|habra|queda|quedan)\b(?: \w+){0,2} (?:espacio|cupo|turno|cita|chance|hueco|"
    r"disponib\w*)\b|\b(?:me|nos|la|lo|le) (?:pueden|puede|podrian|podria) (?:ver|atender|chequear)\b"
)
_SOMEONE_OR_A_DAY = re.compile(SPECIALIST + "|" + _DAY_WORDS)


def _words(utterance: str, keep: str = "") -> str:
    """Lower case without accents, punctuation (but ``keep``) as spaces; the names of things (the words after
    the first of a capitalised "ARS Reservas", or after a kind of place or organisation: names.py) as "nombre"."""
    drop = "".join(c for c in "¿?¡!.,;:" if c not in keep)
    text = re.sub(f"[{re.escape(drop)}]", " ", with_infinitives(masked(utterance)))
    return re.sub(r"\s+", " ", text).strip()


def _clean(utterance: str) -> str:
    return _words(utterance)


def _asked(utterance: str, keep: str = "") -> str:
    """The utterance's words without the actions the caller only supposes ("si cancelo la cita"). A "sí" with
    its accent, or a "si" before a pause ("si, quiero cancelarla"), is a yes and opens no condition."""
    yes = re.sub(r"(?i)\bs(?:í\b|i(?=\s*[,.;:!]))", "si_", utterance)
    yes = _POLITE.sub(" ", plain(yes))
    # What follows the supposition opens a clause of its own: "si llego tarde a la cita, ¿qué pasa?"
    opens = " , " if "," in keep else " "
    return _SUPPOSED.sub(opens, _words(yes, keep)).replace("si_", "si")


# What may follow an unaccented "si" in a yes ("si, claro", "si me sirve", "si, a las cuatro"); anything else
# after it opens a condition ("si voy en el metro...", "si la cancelo hoy, ¿me cobran?").
_YES_GOES_ON = re.compile(
    r"^(si|claro|correcto|perfecto|exacto|de acuerdo|esta bien|ta bien|me sirve|me conviene|me parece|"
    r"me queda bien|por favor|senor\w*|mi amor|mi vida|mi reina|mi cielo|mi hij[oa]|mij[oa]|don|dona|joven|seguro|dale|ok|okey|okay|asi es|eso|esa|ese|como no|confirmo|gracias|"
    r"(?:cancel|reserv|agend|apart|separ|muev|cambi)(?:e|el[ao]|al[ao])|hag(?:a|al[ao])|a las?|pero|ahora|"
    r"todo|ya|mismo)\b"
)


_FILLER = re.compile(r"(?i)^\s*(?:(?:ah|oh|ay|bueno|pues|entonces|este|mire|a ver|ok|okey|okay|ya)[\s,.;]+)+")


def is_yes(utterance: str) -> bool:
    """Starts with a yes ("sí, cancélela", "claro que sí", "ok, sí, me sirve"), whatever else it asks for; a
    "si" that opens a condition is no yes."""
    text = _clean(utterance)
    if not _AFFIRM.search(text):
        # "ah ok, entonces sí", "bueno, pues claro": a yes after a filler
        filler = _FILLER.match(utterance)
        return filler is not None and filler.end() < len(utterance) and is_yes(utterance[filler.end() :])
    if not re.match(r"si\b", text):
        return True
    raw = utterance.strip().lstrip("¿¡\"' ").lower()
    if raw.startswith("sí") or re.match(r"si\s*([,.;:!]|$)", raw):
        return True
    return "?" not in utterance and bool(_YES_GOES_ON.match(text[2:].strip()))


_HOW_ARE_YOU = re.compile(
    r"\b(como (esta|estas|esta usted|le va|te va|anda|andas)|que tal|que lo que|que hay)\b"
)


def _interrogative(utterance: str) -> bool:
    """An interrogative opens a clause ("¿dónde me bajo?"); "¿cómo está?" is a greeting, not a question."""
    text = _asked(utterance, keep="¿,")
    if "?" not in utterance:
        text = _REASON.sub(", porque ", text)
    return bool(_INTERROGATIVE.search(_HOW_ARE_YOU.sub(" ", text)))


def is_question(utterance: str) -> bool:
    """Asks something: a question mark, or an interrogative opening ("cuánto cuesta", "dónde queda")."""
    return "?" in utterance or "¿" in utterance or _interrogative(utterance)


def asks_fact(utterance: str) -> bool:
    """A question about the clinic (price, fee, hours, place, insurance, how to get there), not about free
    times: in the middle of a booking it is answered, then the booking goes on."""
    text = _asked(utterance)
    if _AVAILABILITY.search(text):
        return False
    return is_question(utterance) and bool(_FACT.search(text) or _interrogative(utterance))


# A question said without a question mark (recognisers write none) in the middle of a booking: announced ("una
# pregunta, ..."), or about a fee, a coverage, what the clinic has or how to come ("y allá tienen parqueo", "me
# cobran algo por cambiarla", "y eso me lo cubre el seguro", "¿cómo tengo que ir?").
_UNMARKED_QUESTION = re.compile(
    r"\b(?:una|otra) pregunta\b|\bpregunt(?:o|arle)\b"
    r"|\b(?:cobran|cobra|cubre|cubren|aceptan|acepta|cogen|reciben)\b"
    r"|\b(?:tienen|hay) (?:parqueo|estacionamiento|farmacia|laboratorio|emergencia|ascensor|rampa|wifi)\b"
    r"|\bhay que (?:ir|llevar|traer|estar|venir|hacer|pagar|preparar\w*)\b|\bcomo (?:tengo|tiene|hay) que\b"
    r"|\ben ayunas\b|\bhasta cuando\b|\bcon cuanto tiempo\b|\b(?:es|e|sale) gratis\b|\bsin costo\b"
)


def asks_in_passing(utterance: str) -> bool:
    """A question about the clinic asked in the middle of a booking, with or without a question mark: it is
    answered from the documents, then the booking goes on where it was. Asking for free times is not one."""
    text = _asked(utterance)
    if _AVAILABILITY.search(text):
        return False
    return asks_fact(utterance) or bool(_UNMARKED_QUESTION.search(_words(plain(utterance))))


def classify(utterance: str) -> Intent:
    whole = _clean(utterance)
    if _HUMAN.search(whole) and not _WHEN_TO_CALL.search(whole):
        return "human"
    text = _asked(utterance)  # what the caller asks for, not what they suppose
    if text != whole and is_question(utterance) and _FACT.search(text):
        return "information"  # "¿y si cambio la cita para otro día, me cobran?"
    if _RULE_QUESTION.search(text) and not _REQUEST.search(text) and not _FREE_TIME.search(text):
        return "information"  # "¿hasta cuándo puedo cambiar la cita sin costo?"
    if (
        _TAG_QUESTION.search(text)
        and not _REQUESTS_ONE.search(text)
        and not _FREE_TIME.search(text)
        and not _A_DAY.search(text)
    ):
        return "information"  # "si la cancelo ahorita es gratis, ¿verdad?"
    if (
        _YES_NO_QUESTION.search(text)
        and not _REQUESTS_ONE.search(text)
        and not _FREE_TIME.search(text)
        and not _A_DAY.search(text)
        and not re.search(r"\ba las? (?:\d|" + "|".join(NUMBERS) + r")", text)
    ):
        return "information"  # "mi hija tiene 16 años, ¿ella puede ir sola a la cita?"
    if _WHICH_DOCTOR.search(text) and not _ASKS_FOR_ONE.search(text) and not _A_DAY.search(text):
        return "information"  # "tengo la tiroides alterada, ¿qué doctora me puede ver?"
    if _NEEDS_APPOINTMENT.search(text.strip()) or _TO_THE_VISIT.search(text) or _BOOKED_HOW.search(text):
        return "information"  # "pa vacunar al bebé necesito cita" (no question mark from a recogniser)
    mentions_appointment = bool(re.search(r"\b(cita|turno|consulta)\b", text))
    cancels = _CANCEL.search(text) or _CANCEL_IT.search(text)
    if cancels and (mentions_appointment or not _QUESTION.search(text)):
        return "cancel"
    moves_it = _IT.search(text)
    if (_RESCHEDULE.search(text) or moves_it) and (
        mentions_appointment
        or moves_it
        or (re.search(r"\b(dia|hora|fecha)\b", text) and not _WANTS_SPECIALIST.search(text))
    ):
        return "reschedule"
    if _FREE_TIME.search(text) and _SOMEONE_OR_A_DAY.search(text):
        return "book"
    if _WHICH_DAYS.search(text) and not _ASKS_FOR_ONE.search(text):
        return "information"
    if _BOOK.search(_HAS_ONE.sub(" ", text)) or _WANTS_SPECIALIST.search(text):
        wonders = _interrogative(utterance) and not _REQUEST.search(text) and not _FREE_TIME.search(text)
        asks = (_QUESTION.search(text) or wonders) and (
            not _BOOKING_VERB.search(text)
            or (_ASKING.search(text) and not _ASKS_FOR_ONE.search(text))
            or (not _ASKS_FOR_ONE.search(text) and answer_type(text) in ("price", "person"))
        )
        return "information" if asks else "book"
    if _QUESTION.search(text) or (text != whole and is_question(utterance)):
        return "information"
    if is_question(utterance) and _interrogative(utterance):
        return "information"
    if _GOODBYE.search(text):
        return "goodbye"
    if _THANKS.search(text):
        return "thanks"
    if is_yes(utterance):
        return "affirm"
    if _DENY.search(text):
        return "deny"
    if _GREETING.search(text) and len(text.split()) <= 6:
        return "greeting"
    return "information"
