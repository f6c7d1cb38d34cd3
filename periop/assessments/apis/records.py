"""What the endpoints for a patient's recorded conditions and medications share: listing,
recording and removal.

Each endpoint class names its serializers, audit resource and the selector and service it
calls; the steps, their order (who may call, which row, what input) and the audit event are
the same for both kinds of record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from django.db.models import Model
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from periop.accounts.permissions import CLINICAL_ROLES
from periop.assessments.apis.common import (
    READ_ROLES,
    IncludeInactiveFilter,
    PeriopApi,
    ReasonInput,
    writable_patient,
)
from periop.assessments.apis.idempotency import idempotent_create, patient_in_url
from periop.assessments.models import Patient
from periop.assessments.selectors import patient_get
from periop.assessments.services import patient_data_read
from periop.audit.services import Actor

RecordT = TypeVar("RecordT", bound=Model)


class RecordApi(PeriopApi):
    """An endpoint for one kind of record: `output` renders a row of that kind, audited as
    `resource_type` in `data_category`."""

    output: ClassVar[type[serializers.Serializer[Any]]]
    resource_type: ClassVar[str]
    data_category: ClassVar[str]


class RecordListApi(RecordApi, Generic[RecordT]):
    """GET: the patient's current records of one kind (or every version), audited as a read."""

    roles_by_method = {"GET": READ_ROLES}
    ids_key: ClassVar[str]  # names the listed ids in the audit payload

    def records(self, *, patient: Patient, include_inactive: bool) -> Iterable[RecordT]:
        raise NotImplementedError

    def get(self, request: Request, patient_id: int) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        filters = IncludeInactiveFilter(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        records = list(
            self.records(
                patient=patient, include_inactive=filters.validated_data["include_inactive"]
            )
        )
        body = self.output(records, many=True).data
        patient_data_read(
            actor=Actor.from_request(request),
            patient=patient,
            resource_type=self.resource_type,
            data_category=self.data_category,
            payload={self.ids_key: [row.pk for row in records]},
        )
        return Response(body)


class RecordCreateApi(RecordApi, Generic[RecordT]):
    """POST: records a new row for the patient from the validated input; 201 with the row."""

    roles_by_method = {"POST": CLINICAL_ROLES}
    input: ClassVar[type[serializers.Serializer[Any]]]

    def record(self, *, actor: Actor, patient: Patient, data: Mapping[str, Any]) -> RecordT:
        raise NotImplementedError

    @idempotent_create(patient_of=patient_in_url)
    def post(self, request: Request, patient_id: int) -> Response:
        patient = writable_patient(request, patient_id)
        serializer = self.input(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = self.record(
            actor=Actor.from_request(request), patient=patient, data=serializer.validated_data
        )
        return Response(self.output(created).data, status=status.HTTP_201_CREATED)


class RecordRemoveApi(RecordApi, Generic[RecordT]):
    """DELETE: removes a current record with an optional reason; 200 with the removed row."""

    roles_by_method = {"DELETE": CLINICAL_ROLES}
    record_id_kwarg: ClassVar[str]  # the URL's name for the record's id

    def record_get(self, *, patient: Patient, record_id: int) -> RecordT:
        raise NotImplementedError

    def record_remove(self, *, actor: Actor, record: RecordT, reason: str) -> RecordT:
        raise NotImplementedError

    def delete(self, request: Request, patient_id: int, **kwargs: int) -> Response:
        patient = writable_patient(request, patient_id)
        record = self.record_get(patient=patient, record_id=kwargs[self.record_id_kwarg])
        serializer = ReasonInput(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        removed = self.record_remove(
            actor=Actor.from_request(request),
            record=record,
            reason=serializer.validated_data["reason"],
        )
        return Response(self.output(removed).data)
