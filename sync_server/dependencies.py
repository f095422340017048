"""What handlers are given (``Provide``): the caller, the store, the settings, the blobs."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation

from sync_server.domain.principal import Principal
from sync_server.blobs import BlobStore
from sync_server.guards import current_principal
from sync_server.settings import Settings
from sync_server.store.base import SyncStore


def provide_principal(request: Request) -> Principal:
    return current_principal(request)


def provide_store(state: State) -> SyncStore:
    return state.store


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_blobs(state: State) -> BlobStore:
    return state.blobs


#: How a handler asks for each: by its name, with its type.
CurrentPrincipal = NamedDependency[Principal]
#: A Protocol, which the signature model cannot check an instance against.
Store = NamedDependency[SkipValidation[SyncStore]]
AppSettings = NamedDependency[Settings]
Blobs = NamedDependency[SkipValidation[BlobStore]]  # a Protocol too

DEPENDENCIES = {
    "principal": Provide(provide_principal, sync_to_thread=False),
    "store": Provide(provide_store, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "blobs": Provide(provide_blobs, sync_to_thread=False),
}
