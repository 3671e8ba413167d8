"""The one job model: what a lead-sync job may contain, checked once for every producer.

The Python API, the CLI and the HTTP intake all build a `SyncLeadJob` through `validate_job`, so a
job that reaches the queue is known to be a well-formed Marketo `syncLead` request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

MAX_ATTRIBUTES = 500
MAX_NAME_CHARS = 255
MAX_VALUE_CHARS = 32_768
MAX_KEY_CHARS = 255
MAX_LEAD_ID = 2**31 - 1  # Marketo's lead Id is an xsd:int
FOREIGN_SYS_TYPES = ("CUSTOM", "SFDC", "NETSUITE")

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); anything else cannot be sent.
_XML_ILLEGAL = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Pragmatic address syntax: one @, a dotted domain, no spaces or control characters.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+"
    r"@(?:[A-Za-z0-9\u0080-\U0010ffff](?:[A-Za-z0-9\u0080-\U0010ffff-]{0,61}[A-Za-z0-9\u0080-\U0010ffff])?\.)+"
    r"[A-Za-z\u0080-\U0010ffff][A-Za-z0-9\u0080-\U0010ffff-]*$"
)


class InvalidJob(ValueError):
    """A job was refused; `errors` lists each field (dotted path) with the rule it broke."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {rule}" for field, rule in errors))


def _check_xml_text(value: str) -> str:
    match = _XML_ILLEGAL.search(value)
    if match:
        raise ValueError(f"contains U+{ord(match.group()):04X}, a character XML 1.0 cannot carry")
    return value


def _check_key_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return _check_xml_text(value)


KeyText = Annotated[str, Field(min_length=1, max_length=MAX_KEY_CHARS)]


class SyncLeadJob(BaseModel):
    """One `syncLead` request: lead keys, attributes and options, with Marketo's rules applied."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    lead_id: int | None = Field(default=None, ge=1, le=MAX_LEAD_ID)
    email: KeyText | None = None
    foreign_sys_person_id: KeyText | None = None
    foreign_sys_type: Literal["CUSTOM", "SFDC", "NETSUITE"] | None = None
    marketo_cookie: KeyText | None = None
    attributes: dict[str, str] = Field(default_factory=dict)
    return_lead: bool = False
    workspace: KeyText | None = None

    @field_validator("lead_id", mode="before")
    @classmethod
    def _lead_id_is_integer(cls, value: Any) -> Any:
        # bool is an int in Python and "1.0" is not a lead id: accept ints and digit strings only.
        if isinstance(value, (bool, float)):
            raise ValueError("must be a positive whole number")
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError("must be a positive whole number")
        return value

    @field_validator("email")
    @classmethod
    def _email_syntax(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _EMAIL.match(value) or ".." in value or len(value) > 254:
            raise ValueError("must be an email address such as name@example.com")
        return value

    @field_validator("foreign_sys_person_id", "marketo_cookie", "workspace")
    @classmethod
    def _key_text(cls, value: str | None) -> str | None:
        return None if value is None else _check_key_text(value)

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes_as_unique_pairs(cls, value: Any) -> Any:
        # Accept a mapping or a list of [name, value] pairs; pairs are how duplicates show up.
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, Iterable) and not isinstance(value, str | bytes):
            result: dict[str, Any] = {}
            for pair in value:
                if not isinstance(pair, list | tuple) or len(pair) != 2:
                    raise ValueError("must be a mapping of name to value or a list of pairs")
                name, item = pair
                if not isinstance(name, str):
                    raise ValueError("attribute names must be strings")
                if name in result:
                    raise ValueError(f"attribute name {name!r} is given more than once")
                result[name] = item
            return result
        return value

    @field_validator("attributes")
    @classmethod
    def _attribute_rules(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_ATTRIBUTES:
            raise ValueError(f"at most {MAX_ATTRIBUTES} attributes, got {len(value)}")
        for name, item in value.items():
            if not name.strip():
                raise ValueError("attribute names must not be empty or blank")
            if len(name) > MAX_NAME_CHARS:
                raise ValueError(f"attribute name {name[:40]!r}... is over {MAX_NAME_CHARS} chars")
            if len(item) > MAX_VALUE_CHARS:
                raise ValueError(f"value of {name!r} is over {MAX_VALUE_CHARS} characters")
            try:
                _check_xml_text(name)
                _check_xml_text(item)
            except ValueError as error:
                raise ValueError(f"attribute {name!r} {error}") from None
        return value

    @model_validator(mode="after")
    def _marketo_key_rules(self) -> SyncLeadJob:
        if self.lead_id is None and self.email is None and self.foreign_sys_person_id is None:
            raise ValueError(
                "lead_id, email or foreign_sys_person_id: at least one lead key is required"
            )
        if self.foreign_sys_person_id is not None and self.foreign_sys_type is None:
            raise ValueError("foreign_sys_type: required when foreign_sys_person_id is given")
        if self.foreign_sys_type is not None and self.foreign_sys_person_id is None:
            raise ValueError("foreign_sys_type: only allowed with foreign_sys_person_id")
        return self

    def lead_keys(self) -> dict[str, str]:
        """The lead's identifying keys as strings, for logs and per-lead ordering."""
        keys: dict[str, str] = {}
        if self.lead_id is not None:
            keys["id"] = str(self.lead_id)
        if self.foreign_sys_person_id is not None:
            keys["fsp"] = f"{self.foreign_sys_type}:{self.foreign_sys_person_id}"
        if self.marketo_cookie is not None:
            keys["cookie"] = self.marketo_cookie
        if self.email is not None:
            keys["email"] = self.email.lower()
        return keys

    def to_message(self) -> dict[str, Any]:
        """The JSON-safe form carried in queue messages and dead letters (defaults left out)."""
        return self.model_dump(mode="json", exclude_defaults=True)


_FIELD_TYPES = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "greater_than_equal": "must be a positive whole number",
    "less_than_equal": f"must be at most {MAX_LEAD_ID} (Marketo ids are 32-bit)",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": f"must be at most {MAX_KEY_CHARS} characters",
    "literal_error": "must be one of " + ", ".join(FOREIGN_SYS_TYPES),
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "extra_forbidden": "is not a known field",
    "dict_type": "must be a mapping of attribute name to string value",
}


def validate_job(data: Mapping[str, Any] | None = None, /, **fields: Any) -> SyncLeadJob:
    """Build a job from a mapping or keyword fields, raising `InvalidJob` that names each field."""
    payload = dict(data or {}) | fields
    try:
        return SyncLeadJob.model_validate(payload)
    except ValidationError as error:
        raise InvalidJob([_describe(item) for item in error.errors()]) from None


# The workspace field's rules (its type and `_key_text`), for a default added to a checked job.
_WORKSPACE: TypeAdapter[str] = TypeAdapter(Annotated[KeyText, AfterValidator(_check_key_text)])


def in_workspace(job: SyncLeadJob, workspace: str | None) -> SyncLeadJob:
    """`job` with `workspace` (a producer's MARKETO_WORKSPACE) unless it names its own.

    Only the added name is checked, by the model's rules for the field, so a validated job is not
    validated again; a bad name raises `InvalidJob` for the workspace field.
    """
    if workspace is None or job.workspace is not None:
        return job
    try:
        name = _WORKSPACE.validate_python(workspace)
    except ValidationError as error:
        raise InvalidJob([("workspace", _describe(item)[1]) for item in error.errors()]) from None
    return job.model_copy(update={"workspace": name})


def _describe(item: Any) -> tuple[str, str]:
    location = ".".join(str(part) for part in item["loc"]) or "job"
    kind = item["type"]
    if kind == "value_error":
        message = str(item["ctx"]["error"])
        # Model-level rules name their own field in the message: "field: rule".
        if location == "job" and ": " in message:
            field, _, rule = message.partition(": ")
            return field, rule
        return location, message
    return location, _FIELD_TYPES.get(kind, item["msg"])
