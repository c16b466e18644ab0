"""The stateful services behind the assistant, opened from settings: the knowledge base (database, object
store, embedder) and the appointments system (built-in on the same database, or external over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from adapters.accounts_db import Accounts
from adapters.appointments_db import BuiltInAppointments
from adapters.appointments_http import HttpAppointments
from adapters.policy.when import now_in_clinic
from engine.ports.appointments import Appointments, Catalogue
from engine.ports.knowledge import Embedder
from taina.knowledge.ingest import KnowledgeService
from taina.knowledge.open import Knowledge, ingest_sample_if_empty

if TYPE_CHECKING:
    from taina.settings import Settings

log = structlog.get_logger("taina.backend")


@dataclass
class Backend:
    settings: Settings
    knowledge_parts: Knowledge
    appointments: Appointments
    catalogue: Catalogue
    _http: HttpAppointments | None = None

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.knowledge_parts.database)

    @property
    def knowledge(self) -> KnowledgeService:
        return self.knowledge_parts.service

    @classmethod
    async def open(cls, settings: Settings, embedder: Embedder | None = None) -> Backend:
        """Everything checked now: an unreachable database, store or booking system fails here, with its reason."""
        knowledge = await Knowledge.open(settings, embedder)
        http: HttpAppointments | None = None
        try:
            appointments: Appointments
            if settings.appointments.url:
                appointments = http = HttpAppointments(settings.appointments)
            else:
                built = BuiltInAppointments(knowledge.database, lambda: now_in_clinic(settings.dialogue.now))
                if settings.appointments.seed_sample and await built.seed_sample_centre():
                    log.info("appointments.sample_seeded")
                appointments = built
            catalogue = await appointments.catalogue()
        except BaseException:
            if http is not None:
                await http.aclose()
            await knowledge.aclose()
            raise
        log.info(
            "backend.ready",
            appointments=settings.appointments.url or "built-in",
            services=len(catalogue.services),
            doctors=len(catalogue.doctors),
        )
        return cls(settings, knowledge, appointments, catalogue, http)

    async def load_samples(self) -> None:
        """On a first start with no documents, the sample centre's documents (TAINA_INGEST_SAMPLE_KB)."""
        await ingest_sample_if_empty(self.knowledge, self.settings)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self.knowledge_parts.aclose()
