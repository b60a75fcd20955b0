"""Example of a seventh source: a helpdesk ("TicketDesk") whose customers become canonical contacts.

Copy this file to ``plugins/ticketdesk.py`` (or ``plugins/crmhub/connectors/ticketdesk.py``), add an entry
to ``include/config/sources.yaml`` and a Connection; the ingest DAG ``crmhub_ingest_ticketdesk`` appears
by itself. The wire format here is made up: ``GET /api/v1/customers?updated_since=&page=`` answering
``{"customers": [...], "next_page": 2 | null}``, with a bearer token (the Connection's password).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from crmhub.connectors.base import CanonicalBatch, Connector, Option, Page, RawRecord, RecordError, Window
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS, conform

PATH = "/api/v1/customers"


class TicketDeskConnector(Connector):
    objects = ("customers",)  # what sources.yaml may list under `objects`
    options_spec = {"page_size": Option(int, 100)}  # what sources.yaml may set under `options` (checked on load)

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        page = 1
        while page:
            params = {"page": page, "per_page": int(self.options.get("page_size", 100))}
            if window.since is not None:  # incremental: the run's data interval minus the overlap
                params["updated_since"] = window.since.isoformat()
            _, body = self.http.request_json("GET", PATH, page=page, params=params)  # retries 429/5xx per page
            if not isinstance(body, dict) or not isinstance(body.get("customers"), list):
                raise SourceDataError(f"{self.source_name}: GET {PATH} page {page}: no 'customers' list")
            # each record is read on its own: one without an id is quarantined, the rest of the page lands
            yield self.read_page(page, PATH, "customers", body["customers"], self._raw, "id")
            page = body.get("next_page")

    @staticmethod
    def _raw(customer: Any) -> RawRecord:
        if not isinstance(customer, dict) or not customer.get("id"):
            raise RecordError("id", "customer without 'id'")
        try:
            updated = parse_timestamp(customer.get("updated_at"))
        except ValueError as exc:
            raise RecordError("updated_at", "is not a timestamp", str(customer["id"])) from exc
        return RawRecord("customers", str(customer["id"]), updated, customer)

    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        rows = [
            {
                "source": self.source_name,
                "source_id": str(c["id"]),
                "source_created_at": parse_timestamp(c.get("created_at")),
                "source_updated_at": parse_timestamp(c.get("updated_at")),
                "first_name": c.get("first_name"),
                "last_name": c.get("last_name"),
                "email": c.get("email"),
                "phone": c.get("phone"),
                "city": c.get("city"),
                "country": c.get("country"),
                "is_deleted": bool(c.get("deleted")),
            }
            for c in raw.get("customers", [])
        ]
        return CanonicalBatch(contacts=conform(pd.DataFrame(rows, columns=CONTACT_COLUMNS), CONTACT_COLUMNS))


CONNECTOR = TicketDeskConnector
