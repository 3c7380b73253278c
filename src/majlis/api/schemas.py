"""Request bodies: validated, unknown fields refused. The response shapes are declared once, in
``majlis.domain.shapes``, which the renderers return and the OpenAPI document shows."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    model_validator,
)

from majlis.domain.audience import EMOJI
from majlis.domain.shapes import Problem as Problem  # re-exported for api.app's error responses

#: Bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069), removed from names and
#: titles: they reorder the text around them (an override turns "gpj.exe" into "exe.jpg") and run
#: on into whatever a page shows after the name. The marks (LRM, RLM, ALM) only place neutral
#: characters, and Arabic text next to digits and Latin needs them: they are kept. The web client
#: isolates every name where it shows one, so nobody needs to send an isolate.
_BIDI_CONTROLS: dict[int, None] = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _printable(value: str) -> str:
    value = value.translate(_BIDI_CONTROLS).strip()
    if not value:
        raise ValueError("must not be empty or only spaces")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _iso_text(value: object) -> object:
    """Timestamps arrive as ISO 8601 text (API.md "Conventions"): pydantic alone would also take a
    number, or digits in a string, as Unix seconds and quietly schedule a Space from them."""
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError(
            "must be an ISO 8601 date-time with offset, like 2030-01-31T18:00:00+03:00"
        )
    return value


#: What ``_printable`` accepts, for the OpenAPI document (clients and schemathesis read it; the
#: validator above is what enforces it): no control characters (Cc), and at least one character
#: that is neither a space nor a removed bidi control. (Lone surrogates, also refused, cannot be
#: said in a pattern every JSON Schema reader accepts.)
_C = r"\x00-\x1f\x7f-\x9f"
PRINTABLE_PATTERN = rf"^[^{_C}]*[^\s{_C}\u202a-\u202e\u2066-\u2069][^{_C}]*$"
_PRINTABLE_SCHEMA = Field(json_schema_extra={"pattern": PRINTABLE_PATTERN})

HANDLE_PATTERN = r"^[A-Za-z0-9_]{1,32}$"
Handle = Annotated[str, StringConstraints(strict=True, pattern=HANDLE_PATTERN)]
DisplayName = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=64),
    AfterValidator(_printable),
    _PRINTABLE_SCHEMA,
]
Title = Annotated[
    str,
    StringConstraints(strict=True, min_length=1, max_length=140),
    AfterValidator(_printable),
    _PRINTABLE_SCHEMA,
]
Password = Annotated[str, StringConstraints(strict=True, min_length=8, max_length=256)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


def _whole_number(value: object) -> object:
    """JSON has one number type: 58.0 is the integer 58 (JSON Schema says so too). A fraction,
    a string of digits or a boolean is still refused by the strict field."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A BCP 47 language tag as people write them: a 2-3 letter language, then subtags ("ar",
#: "ar-EG", "en-GB", "zh-Hant-TW"); the language subtag is what captions use.
LanguageTag = Annotated[
    str,
    StringConstraints(strict=True, max_length=35, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"),
]
DoorsOpenMinutes = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=60,
        description="open the doors this many minutes before scheduled_start (0-60): listeners "
        "can join and hear a looping teaser on the same hls_url the show will use; 0 = no "
        "pre-show. Needs scheduled_start.",
    ),
    BeforeValidator(_whole_number),  # after Field, so Field's bounds stay in the schema
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAccount(Body):
    handle: Handle = Field(description="1-32 of A-Z a-z 0-9 _; unique ignoring case")
    password: Password
    display_name: DisplayName


class SignIn(Body):
    handle: Handle
    password: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)]


class NewSpace(Body):
    # Doors open only before a scheduled start: said in the schema too, for its readers.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {
                "properties": {"doors_open_minutes": {"minimum": 1}},
                "required": ["doors_open_minutes"],
            },
            "then": {
                "properties": {"scheduled_start": {"type": "string"}},
                "required": ["scheduled_start"],
            },
        },
    )

    title: Title = Field(description="1-140 characters, any script")
    scheduled_start: Timestamp | None = Field(
        default=None,
        description="ISO 8601 with offset, up to 14 days ahead; omitted means live now",
    )
    record: StrictBool = True
    doors_open_minutes: DoorsOpenMinutes = 0


#: What domain/links.py ``checked_url`` accepts, for the document's readers: http(s), a host
#: without user name or password, a port in range, no spaces or control characters.
_URL_CHAR = r"[^\s\x00-\x1f\x7f-\x9f]"
_D = "[0-9]"  # not \d, which also matches Arabic-Indic digits: a port is ASCII
_PORT = (
    rf"(?::(?:6553[0-5]|655[0-2]{_D}|65[0-4]{_D}{{2}}|6[0-4]{_D}{{3}}|[1-5]{_D}{{4}}|{_D}{{1,4}}))?"
)
LINK_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x1f\x7f-\x9f/?#@:\[\]%]+"
    rf"{_PORT}(?:[/?#]{_URL_CHAR}*)?$"
)


def _comment_text(value: str) -> str:
    """Like a title, but a comment may run over lines (a newline is its one control)."""
    value = value.translate(_BIDI_CONTROLS).strip()
    if not value:
        raise ValueError("must not be empty or only spaces")
    if any(ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters other than new lines")
    return value


_CC = r"\x00-\x09\x0b-\x1f\x7f-\x9f"
COMMENT_PATTERN = rf"^[^{_CC}]*[^\s{_C}\u202a-\u202e\u2066-\u2069][^{_CC}]*$"


class NewComment(Body):
    text: Annotated[
        str,
        StringConstraints(strict=True, min_length=1, max_length=280),
        AfterValidator(_comment_text),
        Field(
            description="1-280 characters, any script; new lines kept",
            json_schema_extra={"pattern": COMMENT_PATTERN},
        ),
    ]


class LinkPin(Body):
    url: Annotated[
        str,
        StringConstraints(strict=True, min_length=1, max_length=2048),
        Field(
            description="http or https; shown with its domain, never fetched by the server",
            json_schema_extra={"pattern": LINK_PATTERN},
        ),
    ]
    title: Annotated[
        str,
        StringConstraints(strict=True, min_length=1, max_length=100),
        AfterValidator(_printable),
        _PRINTABLE_SCHEMA,
    ]


class SpaceChange(Body):
    """What the host changes; a field left out (or null) stays as it is. An empty body is a
    client's mistake, said as one (422), not a silent 200."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    doors_open_minutes: DoorsOpenMinutes | None = Field(
        default=None, description="while scheduled and the doors are still closed"
    )
    clips_allowed: StrictBool | None = Field(
        default=None, description="whether listeners may clip the Space (existing clips stay)"
    )
    captions: StrictBool | None = Field(
        default=None, description="whether its speakers are captioned live (cues made stay)"
    )
    language: LanguageTag | None = Field(
        default=None, description='what is spoken in it, BCP 47 ("ar", "en-GB")'
    )

    @model_validator(mode="after")
    def _something(self) -> SpaceChange:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


#: Clip lengths: the last seconds of a live Space, or a range of its replay (domain/clips.py).
ClipSeconds = Annotated[float, Field(strict=True, ge=1, le=60, allow_inf_nan=False)]
ReplaySecond = Annotated[float, Field(strict=True, ge=0, le=86_400, allow_inf_nan=False)]


class NewClip(Body):
    """``{seconds}`` (default 30) while live, or ``{start, end}`` of the replay (at most 60 s
    apart) once ended."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "not": {
                "anyOf": [{"required": ["seconds", "start"]}, {"required": ["seconds", "end"]}]
            },
            "dependentRequired": {"start": ["end"], "end": ["start"]},
        },
    )

    seconds: ClipSeconds | None = Field(default=None, description="live: the last 1-60 seconds")
    start: ReplaySecond | None = Field(default=None, description="replay: seconds into it")
    end: ReplaySecond | None = Field(default=None, description="replay: after start, <= start + 60")

    @model_validator(mode="after")
    def _one_way(self) -> NewClip:
        if self.seconds is not None and (self.start is not None or self.end is not None):
            raise ValueError("send seconds (live) or start and end (replay), not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("a range needs both start and end")
        if self.start is not None and self.end is not None:
            if self.end <= self.start:
                raise ValueError("end must be after start")
            if self.end - self.start > 60:
                raise ValueError("a clip is at most 60 seconds")
        return self


class StageRole(Body):
    role: Literal["speaker", "cohost"]


class Reaction(Body):
    emoji: Literal[EMOJI]  # type: ignore[valid-type]


class NotificationsSeen(Body):
    up_to: Timestamp = Field(description="the created_at of the newest notice shown")
