"""Who made a change to an account, a membership or an API token.

The ledger records privilege changes through model signals (`periop.audit.receivers`), because
`accounts` sits below `audit` and must not import it. A signal does not know who acted, so the
services, the admin and the commands name the actor on the instance before saving or deleting
it, and the receivers read it back. An instance saved without one (from the shell, say) is
recorded as changed by the system.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

# A signed-in user (an administrator in the admin) or the name of a command. (An anonymous
# user never reaches the admin; if one were named, the change would count as the system's.)
ChangeActor = AbstractBaseUser | AnonymousUser | str

ACTOR_ATTRIBUTE = "_periop_change_actor"


def change_actor_set(instance: Any, actor: ChangeActor) -> None:
    """Names `actor` as the one changing `instance`, for the audit receivers."""
    setattr(instance, ACTOR_ATTRIBUTE, actor)


def change_actor_get(instance: Any) -> ChangeActor | None:
    """The actor named on `instance`, or None when nobody was named."""
    actor: ChangeActor | None = getattr(instance, ACTOR_ATTRIBUTE, None)
    return actor
