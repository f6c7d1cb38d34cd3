"""The service's prefetch templates, and how each key's data is obtained for a call.

A key the client sent is used as sent; `null` means the client has nothing recorded. A key the
client left out (or sent as an OperationOutcome, or as a search Bundle with more pages) is
fetched from `fhirServer` with `fhirAuthorization`, with timeouts. Data that can be neither
found nor fetched stops the call with 412: an answer without it would read as "nothing
recorded". The access token is sent to the FHIR server only, never logged or stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin

import httpx
from django.conf import settings

from periop.parsers import fhir_json_body

logger = logging.getLogger("periop.interop.cds_hooks")

# Only the spec's context tokens, no date windows: the service applies the knowledge base's
# aftermath windows itself. Conditions and medications of every status are asked for, so a
# resolved burn or a stopped drug inside its window is still seen. The Observation keys (one per
# measure, by LOINC) come from the knowledge base: see observations.py.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
}
# The keys whose template is a read (one resource or null); the others are searches.
READ_KEYS = frozenset({"patient"})
MAX_PAGES = 20


class PreconditionFailed(Exception):
    """Data the service needs could be neither found in prefetch nor fetched (412)."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


class _Unusable(Exception):
    pass


def _is_outcome(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("resourceType") == "OperationOutcome"


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, Mapping) and link.get("relation") == "next" and link.get("url"):
            return str(link["url"])
    return None


def _bundle_resources(bundle: Any, resource_type: str) -> list[Mapping[str, Any]]:
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise _Unusable
    resources = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        # A search may carry OperationOutcomes (search mode "outcome") beside its matches.
        if isinstance(resource, Mapping) and resource.get("resourceType") == resource_type:
            resources.append(resource)
    return resources


class PrefetchReader:
    """Reads every prefetch key of one call, fetching what the client did not send."""

    def __init__(self, body: Mapping[str, Any], templates: Mapping[str, str]) -> None:
        self.templates = templates
        self.prefetch: Mapping[str, Any] = body.get("prefetch") or {}
        self.context: Mapping[str, Any] = body["context"]
        self.fhir_server: str | None = body.get("fhirServer")
        authorization = body.get("fhirAuthorization") or {}
        self._token: str | None = authorization.get("access_token")
        self._client: httpx.Client | None = None
        self.fetched: list[str] = []

    def __enter__(self) -> PrefetchReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()

    def read_all(self, keys: Iterable[str]) -> dict[str, Any]:
        """Each key's data: a list of resources for a search, a resource or None for a read.
        Raises PreconditionFailed naming every key that could be neither found nor fetched."""
        results: dict[str, Any] = {}
        missing = []
        for key in keys:
            try:
                results[key] = self._read(key)
            except _Unusable:
                missing.append(key)
        if missing:
            raise PreconditionFailed(missing)
        return results

    def _read(self, key: str) -> Any:
        resource_type = self.templates[key].split("/")[0].split("?")[0]
        if key in self.prefetch and not _is_outcome(self.prefetch[key]):
            try:
                return self._from_prefetch(key, resource_type)
            except _Unusable:
                # A value of the wrong shape, or pages that cannot be fetched: ask the server
                # for the whole key instead (or fail with 412 when there is none).
                pass
        return self._fetch(key, resource_type)

    def _from_prefetch(self, key: str, resource_type: str) -> Any:
        value = self.prefetch[key]
        if value is None:
            return None if key in READ_KEYS else []
        if key in READ_KEYS:
            if not isinstance(value, Mapping) or value.get("resourceType") != resource_type:
                raise _Unusable
            return value
        resources = _bundle_resources(value, resource_type)
        following = _next_link(value)
        if following is not None:
            # The client sent the first pages only: the rest come from the FHIR server.
            resources += self._search_pages(following, resource_type)
        return resources

    def _query(self, key: str) -> str:
        patient_id = self.context.get("patientId")
        if not isinstance(patient_id, str) or not patient_id:
            raise _Unusable
        return self.templates[key].replace("{{context.patientId}}", quote(patient_id, safe=""))

    def _http(self) -> httpx.Client:
        if not self.fhir_server:
            raise _Unusable
        if self._client is None:
            seconds = float(getattr(settings, "CDS_HOOKS_HTTP_TIMEOUT_SECONDS", 3.0))
            headers = {"Accept": "application/fhir+json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            self._client = httpx.Client(
                timeout=httpx.Timeout(seconds, connect=min(seconds, 2.0)),
                headers=headers,
                follow_redirects=False,
            )
        return self._client

    def _get(self, url: str) -> httpx.Response:
        # The access token goes to the client's FHIR server only, never to a page link that
        # points elsewhere.
        if not url.startswith(self._base()):
            raise _Unusable
        try:
            response = self._http().get(url)
        except httpx.HTTPError as error:
            logger.warning("FHIR server unreachable: %s", type(error).__name__)
            raise _Unusable from error
        return response

    def _fetch(self, key: str, resource_type: str) -> Any:
        url = urljoin(self._base(), self._query(key))
        if key in READ_KEYS:
            response = self._get(url)
            self.fetched.append(key)
            if response.status_code in (404, 410):
                return None
            if response.status_code != 200:
                logger.warning("FHIR read answered %s", response.status_code)
                raise _Unusable
            value = _json(response)
            if not isinstance(value, Mapping) or value.get("resourceType") != resource_type:
                raise _Unusable
            return value
        resources = self._search_pages(url, resource_type)
        self.fetched.append(key)
        return resources

    def _base(self) -> str:
        base = self.fhir_server or ""
        return base if base.endswith("/") else base + "/"

    def _search_pages(self, url: str, resource_type: str) -> list[Mapping[str, Any]]:
        resources: list[Mapping[str, Any]] = []
        for page in self._pages(url):
            resources += _bundle_resources(page, resource_type)
        return resources

    def _pages(self, url: str) -> Iterator[Mapping[str, Any]]:
        following: str | None = url
        for _ in range(MAX_PAGES):
            if following is None:
                return
            response = self._get(following)
            if response.status_code != 200:
                logger.warning("FHIR search answered %s", response.status_code)
                raise _Unusable
            page = _json(response)
            if not isinstance(page, Mapping):
                raise _Unusable
            yield page
            following = _next_link(page)
        # More pages than a patient's record should hold: an incomplete list is unusable.
        raise _Unusable


def _json(response: httpx.Response) -> Any:
    """The FHIR server's JSON, by the rules a request's own body follows: an answer that is
    not JSON, holds lone surrogates or nests too deep is unusable, as a missing one is."""
    try:
        return fhir_json_body(response.content)
    except ValueError as error:
        raise _Unusable from error
