"""The stateful services behind the assistant, opened from settings: the knowledge base (database, object
store, embedder) and the appointments system (built-in on the same database, or external over HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from adapters.accounts_db import Accounts
from adapters.appointments_db import BuiltInAppointments
from adapters.appointments_http import HttpAppointments
from adapters.postgres import Database
from engine.ports.appointments import Appointments, Catalogue
from engine.ports.knowledge import Embedder
from engine.ports.storage import ObjectStore
from taina.clinic.clock import ClinicClock
from taina.clinic.sample import SAMPLE_CENTRE
from taina.knowledge.ingest import Library
from taina.knowledge.open import KnowledgeParts, ingest_sample_if_empty

if TYPE_CHECKING:
    from taina.settings import Settings

log = structlog.get_logger("taina.backend")


@dataclass
class Backend:
    settings: Settings
    knowledge_parts: KnowledgeParts
    appointments: Appointments
    catalogue: Catalogue
    _http: HttpAppointments | None = None

    @property
    def database(self) -> Database:
        return self.knowledge_parts.database

    @property
    def objects(self) -> ObjectStore:
        return self.knowledge_parts.objects

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.database)

    @property
    def library(self) -> Library:
        return self.knowledge_parts.library

    @classmethod
    async def open(cls, settings: Settings, embedder: Embedder | None = None) -> Backend:
        """Everything checked now: an unreachable database, store or booking system fails here, with its reason."""
        knowledge = await KnowledgeParts.open(settings, embedder)
        http: HttpAppointments | None = None
        try:
            appointments: Appointments
            if settings.appointments.url:
                appointments = http = HttpAppointments(settings.appointments)
            else:
                clock = ClinicClock(settings.dialogue.now)
                built = BuiltInAppointments(knowledge.database, clock, clock.timezone)
                if settings.appointments.seed_sample and await built.seed(SAMPLE_CENTRE):
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
        await ingest_sample_if_empty(self.library, self.settings)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        await self.knowledge_parts.aclose()
