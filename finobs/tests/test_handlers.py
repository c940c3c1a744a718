"""finobs.handlers: sync views run on one borrowed thread per request; async views on Django's handler."""

import json
import threading

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model
from django.core import signals
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path

from finobs import handlers
from finobs.handlers import asgi_http_application

pytestmark = pytest.mark.django_db(transaction=True)

release_slow = threading.Event()
slow_started = threading.Event()


def thread_view(request):
    return JsonResponse({"thread": threading.current_thread().name, "users": get_user_model().objects.count()})


def slow_view(request):
    slow_started.set()
    release_slow.wait(10)
    return HttpResponse("slow")


async def async_view(request):
    return JsonResponse({"thread": threading.current_thread().name})


def streaming_view(request):
    return StreamingHttpResponse(iter([b"a", b"b"]))


urlpatterns = [
    path("thread", thread_view),
    path("stream", streaming_view),
    path("slow", slow_view),
    path("async", async_view),
]


@pytest.fixture(autouse=True)
def handler_urls(settings):
    settings.ROOT_URLCONF = __name__
    release_slow.clear()
    slow_started.clear()


def scope_for(url_path: str) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": url_path,
        "raw_path": url_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def start(application, url_path: str) -> ApplicationCommunicator:
    communicator = ApplicationCommunicator(application, scope_for(url_path))
    await communicator.send_input({"type": "http.request", "body": b""})
    return communicator


async def response_of(communicator: ApplicationCommunicator, timeout: float = 10) -> tuple[int, bytes]:
    start_message = await communicator.receive_output(timeout)
    body = b""
    while True:
        message = await communicator.receive_output(timeout)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout)
    return start_message["status"], body


async def get(application, url_path: str) -> tuple[int, bytes]:
    return await response_of(await start(application, url_path))


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_a_sync_view_runs_on_a_pool_thread_and_its_connection_is_closed_in_that_thread():
    application = asgi_http_application(threads=2)
    seen = []

    def on_finished(**kwargs):
        # request_finished closes the request's database connection: Django refuses to do that from
        # another thread than the one that opened it, so this must be the view's thread.
        seen.append(threading.current_thread().name)

    signals.request_finished.connect(on_finished)
    try:
        status, body = await get(application, "/thread")
    finally:
        signals.request_finished.disconnect(on_finished)
    assert status == 200
    view_thread = json.loads(body)["thread"]
    assert view_thread.startswith("request-")
    assert seen == [view_thread]


@override_settings(ALLOWED_HOSTS=["testserver"])
@pytest.mark.parametrize(("url_path", "closed_before_sending"), [("/thread", True), ("/stream", False)])
async def test_a_response_in_memory_is_closed_before_it_is_sent_a_streaming_one_after(url_path, closed_before_sending):
    application = asgi_http_application(threads=1)
    finished = threading.Event()

    def on_finished(**kwargs):
        finished.set()

    signals.request_finished.connect(on_finished)
    try:
        communicator = await start(application, url_path)
        start_message = await communicator.receive_output(10)
        finished_when_sent = finished.is_set()
        body = b""
        while True:
            message = await communicator.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await communicator.wait(10)
    finally:
        signals.request_finished.disconnect(on_finished)
    assert start_message["status"] == 200 and body
    assert finished_when_sent is closed_before_sending
    assert finished.is_set()


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_requests_beyond_the_pool_wait_for_a_thread_in_order():
    application = asgi_http_application(threads=1)
    slow = await start(application, "/slow")
    assert await sync_to_async(slow_started.wait, thread_sensitive=False)(10)
    waiting = await start(application, "/thread")
    assert await waiting.receive_nothing(0.3)  # the only thread is busy
    release_slow.set()
    assert await response_of(slow) == (200, b"slow")
    status, _ = await response_of(waiting)
    assert status == 200


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_a_cancelled_request_still_finishes_and_gives_its_thread_back():
    application = asgi_http_application(threads=1)
    slow = await start(application, "/slow")
    assert await sync_to_async(slow_started.wait, thread_sensitive=False)(10)
    slow.future.cancel()  # daphne cancels the application when the client has gone
    release_slow.set()
    status, _ = await get(application, "/thread")
    assert status == 200


@override_settings(ALLOWED_HOSTS=["testserver"])
async def test_async_views_go_to_djangos_handler_and_unknown_paths_to_the_pool():
    application = asgi_http_application(threads=1)
    status, body = await get(application, "/async")
    assert status == 200
    assert not json.loads(body)["thread"].startswith("request-")
    assert handlers._is_async_view("/async") is True
    assert handlers._is_async_view("/thread") is False
    status, _ = await get(application, "/nowhere")
    assert status == 404


def test_the_deployed_application_sends_the_decisions_feed_to_djangos_handler(settings):
    settings.ROOT_URLCONF = "finobs.urls"
    assert handlers._is_async_view("/api/v1/stream/decisions") is True
    assert handlers._is_async_view("/api/v1/transactions/ingest") is False
