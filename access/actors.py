"""Who a write or a read is done for when no person is: the named system actors.

Every service, import and report takes the actor explicitly. A person is a Django user; the
server's own code (a management command run without --user, the demo seeder) passes one of
the named actors below, which sees every scope. Nothing means "everything" by being left out:
a forgotten actor is a TypeError (the argument is required) or, for a user that is None or
anonymous, an empty scope.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class SystemActor:
    """The server's own code acting on the whole ledger (never a request's user)."""

    name: str

    # Read by code that names whoever acted (import batches, messages); never a login name.
    @property
    def username(self) -> str:
        return self.name

    is_active = True
    is_authenticated = False
    pk = None

    def has_perm(self, perm: str, obj=None) -> bool:
        # The operator of the server holds every permission: the commands and the demo run with
        # the database's own rights.
        return True

    def __str__(self) -> str:
        return self.name


# A management command run without --user (the operator at the server's console).
SYSTEM = SystemActor("system")
# The demo seeder (synthetic data; it writes no audit history).
DEMO = SystemActor("demo")


def is_system(actor) -> bool:
    """True for the server's own code, which sees every scope and is not access-logged."""
    return isinstance(actor, SystemActor)


def history_user(actor):
    """The user to name in audit history: the person, or nobody for a system actor."""
    return None if is_system(actor) else actor
