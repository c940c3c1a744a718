"""Django over ASGI with each request's sync work on one thread of a fixed pool (sync views).

Django's ASGIHandler runs the middleware chain on the event loop and leaves the loop for every sync
step: Django's own middleware (MiddlewareMixin) goes to a thread for each process_request and each
process_response, and every request gets a thread of its own (asgiref's ThreadSensitiveContext starts
one and joins it at the end). Under daphne on the 2-core bench machine, `ab -k -c 8` on /health/live
measured 278 requests/s, p95 38 ms: the event loop starting threads and passing a dozen hand-offs per
request.

PooledASGIHandler loads the middleware chain sync (as under WSGI). A request borrows one thread from a
fixed pool for everything sync it does: request_started, the middleware chain and the view, and
response.close() (request_finished: the database connection goes back to its pool, in the thread that
used it, as Django requires) -- right after the view for a response whose body is in memory, after
sending for a streaming one (a second hop to the thread: ~0.25 ms of the process' CPU a request).
The event loop reads the body and sends the response; nothing else. The pool's size bounds the
requests running at once, as a WSGI server's threads do; the others wait for a thread in arrival order.

A request holds its thread until its response is sent, so views that stream for long (the SSE
decisions feed) are async views and go to Django's own handler: `asgi_http_application` picks the
handler by the view the path resolves to.
"""

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import Resolver404, get_resolver, set_script_prefix

_in_flight = 0  # requests of the pooled handlers and /mcp between their first byte and their last (the shutdown drain)


def requests_in_flight() -> int:
    """Requests to ordinary views and MCP calls being served now (finobs.daphne waits for them before the
    process stops)."""
    return _in_flight


@contextlib.contextmanager
def counted_in_flight():
    """Count the request served inside among those in flight."""
    global _in_flight
    _in_flight += 1
    try:
        yield
    finally:
        _in_flight -= 1


class PooledASGIHandler(ASGIHandler):
    """ASGIHandler whose requests run their sync work on one borrowed thread each (see the module)."""

    def __init__(self, threads: int):
        BaseHandler.__init__(self)  # not ASGIHandler.__init__: it loads the middleware chain async
        self.load_middleware(is_async=False)
        self._idle: asyncio.Queue[ThreadPoolExecutor] = asyncio.Queue()
        for number in range(threads):
            self._idle.put_nowait(ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-{number}"))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"PooledASGIHandler serves HTTP only, not {scope['type']}.")
        with counted_in_flight():
            await self._call(scope, receive, send)

    async def _call(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        executor = await self._idle.get()
        serving = asyncio.ensure_future(self._serve(scope, body_file, send, executor))

        def done(_future) -> None:
            body_file.close()
            self._idle.put_nowait(executor)

        serving.add_done_callback(done)
        # If daphne cancels us (the client went away), the thread still finishes the request and closes
        # the response in its own thread; only then is the thread free again.
        await asyncio.shield(serving)

    async def _serve(self, scope, body_file, send, executor: ThreadPoolExecutor) -> None:
        def in_thread(function, *args):
            return sync_to_async(function, thread_sensitive=False, executor=executor)(*args)

        response = await in_thread(self._respond, scope, body_file)
        try:
            await self.send_response(response, send)
        except asyncio.CancelledError:
            pass  # the client disconnected while we sent: the response is closed all the same
        finally:
            if response.streaming:  # the others were closed in their thread already (_respond)
                await in_thread(response.close)

    def _respond(self, scope, body_file):
        response = self._response(scope, body_file)
        if not response.streaming:
            response.close()  # request_finished, in this thread: the database connection goes back now
        return response

    def _response(self, scope, body_file):
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            return error_response
        response = self.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response


def asgi_http_application(*, threads: int):
    """The HTTP application: PooledASGIHandler for sync views, Django's ASGIHandler for async views."""
    pooled = PooledASGIHandler(threads=threads)
    stock = ASGIHandler()

    async def application(scope, receive, send):
        handler = stock if _is_async_view(application_path(scope)) else pooled
        await handler(scope, receive, send)

    return application


def application_path(scope) -> str:
    """The request's path within the application (without the root path it is mounted under)."""
    path = scope["path"]
    root_path = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path


def _is_async_view(path: str) -> bool:
    try:
        match = get_resolver().resolve(path)
    except Resolver404:
        return False
    return iscoroutinefunction(match.func)
