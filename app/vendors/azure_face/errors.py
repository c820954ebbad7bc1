"""Azure AI Face's error table: vendor code (or status) → error class and message (§7).

Azure names the failure in `error.code` (or the `x-ms-error-code` header); a 401, a 429 and any
5xx are decided by their status whatever code they carry. A 403 on a liveness operation has its
own words (Limited Access gates face ids, verify and identify; liveness has its own rules).
"""

from __future__ import annotations

from typing import Any

import httpx

from app.errors import (
    AppError,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from app.http.errors import ErrorTable, Rule, error_body, map_error
from app.vendors.azure_face import NAME

# --- the one error table: vendor code (or status) → error class and operator message ------------

_BY_CODE: dict[str, Rule] = {
    "401": (
        AuthenticationFailed,
        "Azure rejected the subscription key or token, or the endpoint is not this key's "
        "resource. Check the endpoint and the credentials (Open credentials).",
    ),
    "UnsupportedFeature": (
        PermissionDenied,
        "This Azure Face resource is not approved for Limited Access features (face ids, "
        "verify, identify). Apply at https://aka.ms/facerecognition or use an approved resource.",
    ),
    "QuotaExceeded": (
        PermissionDenied,
        "The Azure resource has reached a quota (groups, persons or faces per person). Delete "
        "unused items or raise the quota.",
    ),
    "SessionNotFound": (
        NotFound,
        "Azure does not know this session: it was deleted, it expired, or it belongs to the "
        "other API version family. Check the id and the connection's API version.",
    ),
    "SessionImageNotFound": (
        NotFound,
        "Azure has no session image with this id. Get the session result again and use the "
        "session image id it reports.",
    ),
    "FaceNotFound": (
        NotFound,
        "The detected face has expired or is unknown to Azure. Run the detection again.",
    ),
    "LargePersonGroupNotFound": (
        NotFound,
        "This person group does not exist (any more). Refresh the list of groups.",
    ),
    "PersonNotFound": (
        NotFound,
        "This person does not exist in the group (any more). Refresh the list of persons.",
    ),
    "PersistedFaceNotFound": (
        NotFound,
        "This face does not exist on the person (any more). Refresh the list of persons.",
    ),
    "LargePersonGroupNotTrained": (
        RequestRejected,
        "The person group has not been trained yet. Train it, wait for “succeeded”, then "
        "identify again.",
    ),
    "LargePersonGroupExists": (
        RequestRejected,
        "A person group with this id already exists. Choose another id.",
    ),
    "LargePersonGroupTrainingNotFinished": (
        RequestRejected,
        "The group is still training. Wait until training has finished.",
    ),
    "InvalidImage": (
        RequestRejected,
        "Azure could not use the image: it could not be decoded, has no face, or has several "
        "faces where exactly one is needed. Use a clear photo of one face.",
    ),
    "InvalidImageSize": (
        RequestRejected,
        "Azure accepts images from 1 KB to 6 MB. Use another photo.",
    ),
    "InvalidLivenessOperationMode": (
        RequestRejected,
        "Azure rejected the liveness operation mode. Choose Passive or PassiveActive.",
    ),
    "InvalidTokenLifetime": (
        RequestRejected,
        "Azure rejected the token lifetime. Choose between 60 and 86400 seconds.",
    ),
    "InvalidDeviceCorrelationId": (
        RequestRejected,
        "Azure rejected the device correlation id. Give one of at most 64 characters, or "
        "choose “Device sets its own correlation id”.",
    ),
    "InvalidRequestBody": (
        RequestRejected,
        "Azure rejected the request body as invalid. Check the session settings and try again.",
    ),
    "BadArgument": (
        RequestRejected,
        "Azure rejected an argument of the request. Correct the value it names and try again.",
    ),
    "InvalidURL": (
        RequestRejected,
        "Azure could not use the image reference. Load the photo into its slot and try again.",
    ),
}

_LIVENESS_FORBIDDEN = (
    "Azure did not allow this liveness operation for these credentials. Check that the "
    "resource offers Face liveness in its region and that the key or token has the role for "
    "liveness sessions (for a token: Cognitive Services Face Session Creator)."
)

_BY_STATUS: dict[int, Rule] = {
    401: _BY_CODE["401"],
    403: (
        PermissionDenied,
        "Azure refused the operation for these credentials. Check the role assignments of the "
        "token, or the features enabled for this resource.",
    ),
    404: (
        NotFound,
        "Azure found nothing at this address. Check the endpoint, the API version and the id.",
    ),
    409: (
        RequestRejected,
        "Azure refused the operation because another operation on the same item is still "
        "running. Wait a moment and try again.",
    ),
}

ERRORS = ErrorTable(
    provider=NAME,
    rules={
        **{("*", code): rule for code, rule in _BY_CODE.items()},
        **{("*", status): rule for status, rule in _BY_STATUS.items()},
        ("liveness", 403): (PermissionDenied, _LIVENESS_FORBIDDEN),
        ("*", 429): (RateLimited, "Azure is rate-limiting this resource. {retry}"),
        ("*", 500): (
            ProviderUnavailable,
            "Azure AI Face had a server problem. Try again in a moment.",
        ),
    },
    fallback=(RequestRejected, "Azure rejected the request. Check the inputs, try again."),
    status_first=frozenset({401, 429, 500}),
    # Azure's messages name the offending field; they carry no personal data (§7).
    vendor_said=" Azure said: {said}",
)


def _vendor_error(body: Any, response: httpx.Response) -> tuple[str | None, str | None]:
    code = response.headers.get("x-ms-error-code")
    message = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code")) if error.get("code") is not None else code
        message = str(error["message"]) if error.get("message") is not None else None
    return code, message


def error_for(response: httpx.Response, operation: str) -> AppError:
    """Map a failed response through the table above."""
    code, vendor_message = _vendor_error(error_body(response), response)
    return map_error(
        ERRORS,
        response,
        operation=operation,
        kind="liveness" if "liveness" in operation else "*",
        code=code,
        vendor_message=(vendor_message or "")[:200],
    )
