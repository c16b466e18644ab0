"""Hand-off of a phone caller to staff through LiveKit SIP: ``SIP.TransferSIPParticipant`` (a SIP REFER of the
caller's leg to the staff number), called through livekit-api with a token carrying the SIP call grant and room
admin for the caller's room.

A transfer that LiveKit refuses, or that fails (busy, no answer, the server unreachable), raises TransferRefused
with a reason fit for the log; the caller stays in the room, and is told.
"""

from __future__ import annotations

import re

import aiohttp
import structlog
from livekit import api

from adapters.livekit_transport import LiveKitSettings, server_api

log = structlog.get_logger("taina.livekit")

_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{5,30}$")


class TransferRefused(RuntimeError):
    """LiveKit did not transfer the caller (its reason in the message)."""


def transfer_target(number: str) -> str:
    """``tel:+1809...`` or ``sip:...`` as LiveKit wants it; a bare phone number becomes ``tel:`` with its digits
    (and a leading +). ValueError for anything else."""
    number = number.strip()
    if number.startswith(("tel:", "sip:", "sips:")) and len(number) > 4:
        return number
    if _PHONE.match(number):
        digits = "".join(c for c in number if c.isdigit())
        return f"tel:{'+' if number.startswith('+') else ''}{digits}"
    raise ValueError(f"not a phone number or SIP address: {number!r}")


async def transfer_to_staff(
    settings: LiveKitSettings, room: str, identity: str, timeout_s: float = 30.0
) -> str:
    """Transfer the SIP participant ``identity`` of ``room`` to ``settings.transfer_number``; returns the
    target it was sent to. TransferRefused when LiveKit says no or the transfer failed."""
    target = transfer_target(settings.transfer_number)
    lk = server_api(settings)
    try:
        response = await lk.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name=room, participant_identity=identity, transfer_to=target, play_dialtone=False
            ),
            timeout=timeout_s,
        )
    except api.ServerError as exc:
        raise TransferRefused(
            f"LiveKit refused the transfer ({exc.status} {exc.code}): {exc.message}"
        ) from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise TransferRefused(f"LiveKit could not be reached: {exc.__class__.__name__}: {exc}") from exc
    finally:
        await lk.aclose()
    if response.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
        raise TransferRefused(f"the transfer failed: {api.SIPTransferReason.Name(response.reason)}")
    log.info("livekit.transferred", room=room, identity=identity, to=target)
    return target
