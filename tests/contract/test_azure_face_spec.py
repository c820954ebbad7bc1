"""The client's v1.2 requests and the sandbox's v1.2 responses, checked against Face.v1.2.json.

A recording transport captures every exchange of a full v1.2 run; each request must match an
operation of the official spec (method, path, parameters, content type, body schema) and each
response must validate against that operation's response schema.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from app.http import NO_RETRY, ProviderContext, make_client
from app.sandbox.app import IN_PROCESS_ORIGIN, SandboxTransport, create_sandbox_app
from app.sandbox.state import SandboxState
from app.store import Store
from app.vendors.azure_face import client as azure_face
from app.vendors.azure_face.types import SessionKind, SessionOptions
from tests.contract.test_azure_face import blank, photo
from tests.shared_specs import azure_face_specs

SPEC_FILE = azure_face_specs() / "Face.v1.2.json"
SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text())
PREFIX = "/azure/face/v1.2"


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve `#/definitions/...` refs against the spec's own definitions."""
    return {**schema, "definitions": SPEC["definitions"]}


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    # Draft4Validator without the meta-schema check each call: the spec's definitions are large.
    jsonschema.Draft4Validator(_schema(schema)).validate(instance)


def _param(param: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in param:
        name = param["$ref"].split("/")[-1]
        return dict(SPEC["parameters"][name])
    return param


def _operations(method: str, path: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    found = []
    for table in ("paths", "x-ms-paths"):
        for template, ops in SPEC[table].items():
            bare = template.split("?")[0]
            pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", bare) + "$"
            match = re.match(pattern, path)
            if match and method.lower() in ops:
                found.append((template, ops[method.lower()], match.groupdict()))
    return found


def _typed(value: str, param: dict[str, Any]) -> Any:
    kind = param.get("type")
    if kind == "boolean":
        assert value in ("true", "false"), (param["name"], value)
        return value == "true"
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "array":
        return [_typed(v, param["items"]) for v in value.split(",")]
    return value


def _check_value(value: Any, param: dict[str, Any]) -> None:
    schema = {k: param[k] for k in ("type", "enum", "minimum", "maximum", "items") if k in param}
    if param.get("type") == "file":
        return
    _validate(value, schema)


def _multipart(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    raw = b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw + request.content)
    parts = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = (part.get_filename(), part.get_payload(decode=True))
    return parts


def _request_matches(
    request: httpx.Request, op: dict[str, Any], path_values: dict[str, str]
) -> None:
    params = [_param(p) for p in op.get("parameters", [])]
    content_type = request.headers.get("content-type", "").split(";")[0]
    consumes = op.get("consumes", SPEC["consumes"])
    if request.content:
        assert content_type in consumes, (content_type, consumes)
    query = dict(request.url.params)
    declared_query = {p["name"] for p in params if p["in"] == "query"}
    assert set(query) <= declared_query, set(query) - declared_query
    form = _multipart(request) if content_type == "multipart/form-data" else {}
    declared_form = {p["name"] for p in params if p["in"] == "formData"}
    assert set(form) <= declared_form, set(form) - declared_form
    for param in params:
        where, name = param["in"], param["name"]
        if where == "path":
            _check_value(_typed(path_values[name], param), param)
        elif where == "query":
            if name in query:
                _check_value(_typed(query[name], param), param)
            else:
                assert not param.get("required"), name
        elif where == "formData":
            if name not in form:
                assert not param.get("required"), name
                continue
            filename, payload = form[name]
            if param["type"] == "file":
                assert filename, f"{name} must carry a filename"
            else:
                assert filename is None
                _check_value(_typed(payload.decode(), param), param)
        elif where == "body" and (param.get("required") or request.content):
            if "format" in param.get("schema", {}) and param["schema"]["format"] == "binary":
                assert request.content
            else:
                _validate(json.loads(request.content), param["schema"])


def _response_matches(response: httpx.Response, op: dict[str, Any]) -> None:
    spec = op["responses"].get(str(response.status_code)) or op["responses"]["default"]
    if response.status_code >= 400:
        assert "x-ms-error-code" in response.headers
    schema = spec.get("schema")
    if schema is None:
        assert response.content == b""
    elif schema.get("format") == "binary" or schema.get("type") == "file":
        assert response.content
    else:
        _validate(response.json(), schema)
    for header in spec.get("headers", {}):
        if header.lower() != "x-ms-error-code" or response.status_code >= 400:
            assert header.lower() in response.headers, header


class Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.exchanges.append((request, response))
        return response


@pytest.fixture
async def recorded(tmp_path: Path) -> Any:
    app, state = create_sandbox_app(SandboxState())
    state.settings["azure_face.training_seconds"] = 0.0
    recorder = Recorder(SandboxTransport(app))
    client = make_client(transport=recorder, allow_plain_http=True, retry=NO_RETRY)
    store = Store(tmp_path / "spec.sqlite3")

    async def credential(name: str) -> str:
        return azure_face.INFO.sandbox_credentials[name]

    ctx = ProviderContext(
        info=azure_face.INFO,
        connection="Sandbox",
        profile_key="azure_face.Sandbox",
        fields={"endpoint": f"{IN_PROCESS_ORIGIN}/azure", "api_version": "v1.2"},
        http=client,
        credential=credential,
        store=store,
        is_sandbox=True,
    )
    provider = azure_face.create(ctx)

    async def admin(path: str, payload: dict[str, Any]) -> None:
        async with httpx.AsyncClient(transport=SandboxTransport(app)) as raw:
            response = await raw.post(f"{IN_PROCESS_ORIGIN}/_sandbox{path}", json=payload)
            assert response.status_code == 200, response.text

    yield provider, recorder, admin
    await client.aclose()
    store.close()


async def _full_v12_run(provider: Any, admin: Any) -> None:
    full = SessionOptions(
        device_correlation_id="device-1",
        enable_session_image=True,
        verify_image=photo(1),
        verify_confidence_threshold=0.4,
        return_verify_image_hash=True,
        auth_token_ttl=120,
    )
    for kind in SessionKind:
        created = await provider.create_session(kind, full)
        await admin(
            f"/azure/sessions/{created.session_id}/simulate",
            {"outcome": "realface", "image_base64": base64.b64encode(photo(1).data).decode()},
        )
        result = await provider.get_session(kind, created.session_id)
        assert result.latest is not None
        if result.latest.session_image_id:
            await provider.session_image(result.latest.session_image_id)
        await provider.delete_session(kind, created.session_id)
        with pytest.raises(Exception):  # noqa: B017, PT011  (404 SessionNotFound, recorded)
            await provider.get_session(kind, created.session_id)
    await provider.create_session(
        SessionKind.LIVENESS, SessionOptions(set_in_client=True, auth_token_ttl=60)
    )
    await provider.match_faces(photo(1), photo(2))
    await provider.detect(blank())
    await provider.test_connection()
    await provider.create_group("spec-group", "Spec group", "data")
    person = await provider.create_person("spec-group", "Person", "user data")
    strip = await provider.detect(photo(3, size=(900, 300)))
    await provider.add_person_face(
        "spec-group", person.person_id, photo(3, size=(900, 300)), strip.faces[0].rect
    )
    await provider.training_status("spec-group")
    with pytest.raises(Exception):  # noqa: B017, PT011  (LargePersonGroupNotTrained)
        await provider.identify("spec-group", photo(4))
    async for _status in provider.follow_training("spec-group", interval=0.01):
        pass
    await provider.identify("spec-group", photo(3, size=(900, 300)))
    await provider.list_persons("spec-group")
    await provider.delete_person("spec-group", person.person_id)
    await provider.delete_group("spec-group")


async def test_v12_requests_and_responses_match_the_official_spec(recorded: Any) -> None:
    provider, recorder, admin = recorded
    await _full_v12_run(provider, admin)
    seen: set[str] = set()
    assert len(recorder.exchanges) > 25
    for request, response in recorder.exchanges:
        path = request.url.path
        assert path.startswith(PREFIX), path
        candidates = _operations(request.method, path[len(PREFIX) :])
        assert candidates, f"{request.method} {path} is not in the spec"
        failures = []
        for template, op, values in candidates:
            try:
                _request_matches(request, op, values)
                _response_matches(response, op)
            except (AssertionError, jsonschema.ValidationError, ValueError) as exc:
                failures.append(f"{template}: {str(exc)[:300]}")
                continue
            seen.add(op["operationId"])
            break
        else:
            pytest.fail(f"{request.method} {path}: " + " | ".join(failures))
    assert {
        "LivenessSessionOperations_CreateLivenessSession",
        "LivenessSessionOperations_CreateLivenessWithVerifySession",
        "LivenessSessionOperations_GetLivenessSessionResult",
        "LivenessSessionOperations_GetLivenessWithVerifySessionResult",
        "LivenessSessionOperations_DeleteLivenessSession",
        "LivenessSessionOperations_DeleteLivenessWithVerifySession",
        "LivenessSessionOperations_GetSessionImage",
        "FaceDetectionOperations_Detect",
        "FaceRecognitionOperations_VerifyFaceToFace",
        "FaceRecognitionOperations_IdentifyFromLargePersonGroup",
        "PersonGroupOperations_CreateLargePersonGroup",
        "PersonGroupOperations_GetLargePersonGroups",
        "PersonGroupOperations_CreateLargePersonGroupPerson",
        "PersonGroupOperations_AddLargePersonGroupPersonFace",
        "PersonGroupOperations_TrainLargePersonGroup",
        "PersonGroupOperations_GetLargePersonGroupTrainingStatus",
        "PersonGroupOperations_GetLargePersonGroupPerson",
        "PersonGroupOperations_GetLargePersonGroupPersons",
        "PersonGroupOperations_DeleteLargePersonGroupPerson",
        "PersonGroupOperations_DeleteLargePersonGroup",
    } <= seen


def test_the_checker_rejects_requests_outside_the_spec() -> None:
    (_template, op, values), *_ = _operations("POST", "/detectLiveness-sessions")
    bad = httpx.Request("POST", "http://x/azure/face/v1.2/detectLiveness-sessions", json={})
    with pytest.raises(jsonschema.ValidationError):
        _request_matches(bad, op, values)
    extra = httpx.Request(
        "POST",
        "http://x/azure/face/v1.2/detectLiveness-sessions?sneaky=1",
        json={"livenessOperationMode": "Passive"},
    )
    with pytest.raises(AssertionError):
        _request_matches(extra, op, values)
