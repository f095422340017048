"""What opening a store can fail with, whatever the engine (re-exported by ``sync_server.store``)."""


class StoreMissing(LookupError):
    """``open_store(..., create=False)``: there is no database there."""


class StoreUnavailable(Exception):
    """The database cannot be opened: the message says why."""


class RestoreError(Exception):
    """A backup cannot be restored here: the message says why; nothing was replaced."""
