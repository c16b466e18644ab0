"""How the booking dialogue names what it offers and confirms, in Spanish: a doctor with the article their title
takes, a site without its neighbourhood, a service, a slot, and the final touches on a spoken line."""

from __future__ import annotations

from typing import Any

from engine.ports.language import TextDelta, ToolCall


def doctor_words(item: dict[str, Any]) -> str:
    """'la Dra. Carolina Tavárez', 'el Dr. Rafael Almonte Peña': a title takes its article in Spanish."""
    name = str(item["doctor"])
    if name.startswith("Dra."):
        return f"la {name}"
    return f"el {name}" if name.startswith(("Dr.", "Lic.")) else name


def site_words(item: dict[str, Any]) -> str:
    """'la sede de Santiago': the site's name without its neighbourhood in brackets."""
    return "la sede de " + str(item["site"]).split(" (")[0]


def service_words(item: dict[str, Any]) -> str:
    return str(item["service"]).lower()


def slot_words(slot: dict[str, Any]) -> str:
    """'el lunes 30 de noviembre a las 9:00 a. m. con la Dra. Yokasta Rosario, en la sede de Santo Domingo'."""
    return f"{slot['when']} con {doctor_words(slot)}, en {site_words(slot)}"


def say(text: str) -> list[TextDelta | ToolCall]:
    text = text.replace("m..", "m.").replace(" de el ", " del ").replace(" a el ", " al ")
    return [TextDelta(text)]
