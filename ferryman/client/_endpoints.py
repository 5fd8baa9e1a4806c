"""How a resource method is written once for both clients.

A method only describes its request (a `Call` or a `Flow` of calls, a paged `Call`, a
`Streamed`); the decorator turns it into a method that hands that description to the resource's
transport. On a `Client` the transport blocks and the method returns the answer; on an
`AsyncClient` it returns a coroutine (an async iterator for lists and streams). The typing
follows: `Runs[SyncTransport].get` is `(run_id: str) -> Run`,
`Runs[AsyncTransport].get` is `(run_id: str) -> Coroutine[..., Run]`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar, overload

from ferryman.client._transport import (
    AsyncStream,
    AsyncTransport,
    Call,
    Flow,
    Page,
    Stream,
    Streamed,
    SyncTransport,
)

P = ParamSpec("P")
T = TypeVar("T")
D = TypeVar("D")
TransportT = TypeVar("TransportT", SyncTransport, AsyncTransport)


class Resource(Generic[TransportT]):
    """A group of endpoints (`client.runs`, `client.jobs`, ...) on one transport."""

    def __init__(self, transport: TransportT) -> None:
        self._transport: TransportT = transport


class _Endpoint(Generic[P, D]):
    # The transport's method that carries out the description.
    carry_out: ClassVar[str]

    def __init__(self, describe: Callable[Concatenate[Any, P], D]) -> None:
        self.describe = describe
        self.__doc__ = describe.__doc__

    def __get__(self, resource: Resource[Any] | None, owner: Any) -> Any:
        return self if resource is None else self.bind(resource)

    def bind(self, resource: Resource[Any]) -> Callable[..., Any]:
        describe = self.describe
        carry_out = getattr(resource._transport, self.carry_out)

        @functools.wraps(describe)
        def method(*args: Any, **kwargs: Any) -> Any:
            return carry_out(describe(resource, *args, **kwargs))

        method.__wrapped__ = types.MethodType(describe, resource)  # help() shows no `self`
        return method


class request(_Endpoint[P, Call[T] | Flow[T]]):
    """A method of one request (a `Call`), or of several one after another (a `Flow`):
    `T`, or a coroutine of it."""

    carry_out = "drive"

    if TYPE_CHECKING:

        @overload
        def __get__(self, resource: None, owner: type[Any]) -> request[P, T]: ...
        @overload
        def __get__(
            self, resource: Resource[SyncTransport], owner: type[Any]
        ) -> Callable[P, T]: ...
        @overload
        def __get__(
            self, resource: Resource[AsyncTransport], owner: type[Any]
        ) -> Callable[P, Coroutine[Any, Any, T]]: ...
        def __get__(self, resource: Any, owner: type[Any]) -> Any: ...


class paged(_Endpoint[P, Call[Page[T]]]):
    """A list over pages: an iterator (or async iterator) of every item, each page asked for
    when the one before is used up."""

    carry_out = "pages"

    if TYPE_CHECKING:

        @overload
        def __get__(self, resource: None, owner: type[Any]) -> paged[P, T]: ...
        @overload
        def __get__(
            self, resource: Resource[SyncTransport], owner: type[Any]
        ) -> Callable[P, Iterator[T]]: ...
        @overload
        def __get__(
            self, resource: Resource[AsyncTransport], owner: type[Any]
        ) -> Callable[P, AsyncIterator[T]]: ...
        def __get__(self, resource: Any, owner: type[Any]) -> Any: ...


class streamed(_Endpoint[P, Streamed[T]]):
    """A Server-Sent Events stream: a `Stream` (or `AsyncStream`) of items that resumes
    after a dropped connection."""

    carry_out = "stream"

    if TYPE_CHECKING:

        @overload
        def __get__(self, resource: None, owner: type[Any]) -> streamed[P, T]: ...
        @overload
        def __get__(
            self, resource: Resource[SyncTransport], owner: type[Any]
        ) -> Callable[P, Stream[T]]: ...
        @overload
        def __get__(
            self, resource: Resource[AsyncTransport], owner: type[Any]
        ) -> Callable[P, AsyncStream[T]]: ...
        def __get__(self, resource: Any, owner: type[Any]) -> Any: ...
