"""API errors as `Status` objects, worded like the real apiserver so kubectl prints the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Cause:
    """One entry of `details.causes`: what is wrong, and where."""

    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
    message: str  # e.g. 'Invalid value: "x": must be ...' (without the field prefix)
    field: str  # e.g. spec.template.metadata.labels

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}

    def describe(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ApiError(Exception):
    """An error the API returns to its caller as a `Status`."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(name: str | None, group: str, kind: str) -> dict[str, str]:
    d = {"kind": kind}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    return d


def not_found(group_resource: str, name: str, group: str = "", kind: str = "") -> ApiError:
    return ApiError(404, "NotFound", f'{group_resource} "{name}" not found',
                    _details(name, group, kind or group_resource.split(".")[0]))


def already_exists(group_resource: str, name: str, group: str = "", kind: str = "") -> ApiError:
    return ApiError(409, "AlreadyExists", f'{group_resource} "{name}" already exists',
                    _details(name, group, kind or group_resource.split(".")[0]))


def conflict(group_resource: str, name: str, group: str = "", kind: str = "") -> ApiError:
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {group_resource} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(name, group, kind or group_resource.split(".")[0]))


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid: `Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: ...`.

    The message names the group-qualified kind, `details.kind` the plain one; repeated
    messages are reported once in the summary (but every cause is kept), as ToAggregate does.
    """
    described = list(dict.fromkeys(c.describe() for c in causes)) or ["unknown error"]
    summary = described[0] if len(described) == 1 else "[" + ", ".join(described) + "]"
    details = _details(name, group, kind)
    details["causes"] = [c.as_dict() for c in causes]
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(group_resource: str, name: str, message: str) -> ApiError:
    prefix = f'{group_resource} "{name}" is forbidden: ' if name else f"{group_resource} is forbidden: "
    return ApiError(403, "Forbidden", prefix + message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types "
                    f"include: application/json, application/yaml, "
                    f"application/vnd.kubernetes.protobuf (got {content_type!r})")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def internal(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}")


def service_unavailable(message: str) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")
