"""The records the store returns, under their old import path: they are the domain's entities
now (``majlis.domain.model``), which the store builds from rows."""

from majlis.domain.model import (
    Account,
    Credentials,
    Notification,
    Page,
    Space,
    SpaceRef,
    SpeakRequest,
    StageMember,
    Teaser,
)

__all__ = [
    "Account",
    "Credentials",
    "Notification",
    "Page",
    "Space",
    "SpaceRef",
    "SpeakRequest",
    "StageMember",
    "Teaser",
]
