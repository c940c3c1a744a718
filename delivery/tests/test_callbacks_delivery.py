"""Sending one delivery: retry schedule, circuit breaker, SSRF at send time, idempotent sends, secret rotation.

These call the services directly (no Celery in between) against a real local receiver, so each step's
outcome is checked as it happens.
"""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from audit.models import AuditEvent
from conftest import thread_in_this_context
from delivery.models import CallbackEndpoint, Delivery, OutboxEvent
from delivery.services import (
    callback_endpoint_create,
    callback_endpoint_rotate_secret,
    deliveries_fan_out,
    delivery_send,
    outbox_append,
)
from delivery.services.callbacks import retry_delay_s
from delivery.tasks import delivery_send_task
from delivery.tests import callback_receiver

allow_private = callback_receiver.allow_private  # fixture
receiver = callback_receiver.receiver  # fixture
pytestmark = pytest.mark.django_db


def endpoint_for(url, event_types=("*",), **extra):
    endpoint, secret = callback_endpoint_create(
        name="hooks", url=url, event_types=list(event_types), actor="tests", **extra
    )
    return endpoint, secret


def one_delivery(endpoint, payload=None) -> Delivery:
    outbox_append(events=[("decision.created", payload or {"external_id": "tx-1", "flagged": True})])
    deliveries_fan_out()
    return Delivery.objects.filter(endpoint=endpoint).latest("id")


def make_due(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


class TestRetrySchedule:
    def test_backoff_grows_exponentially_with_full_jitter_and_a_cap(self, settings):
        settings.CALLBACK_RETRY_BASE_S, settings.CALLBACK_RETRY_MAX_S = 10, 300
        samples = {n: [retry_delay_s(n) for _ in range(300)] for n in (1, 2, 3, 10)}
        for n, ceiling in ((1, 10), (2, 20), (3, 40), (10, 300)):
            assert all(0 <= s <= ceiling for s in samples[n])
            assert max(samples[n]) > ceiling / 2  # reaches the upper half of its own (doubled) range
            assert len(set(samples[n])) > 250  # jitter: not one fixed delay
        assert max(samples[3]) > 20  # beyond what the second retry can wait

    def test_a_failure_schedules_the_next_attempt_within_the_backoff(self, receiver, allow_private, settings):
        settings.CALLBACK_RETRY_BASE_S = 60
        endpoint, _ = endpoint_for(receiver.url)
        delivery = one_delivery(endpoint)
        receiver.fail_next(2)
        before = timezone.now()
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert delivery.status == "retrying" and delivery.attempts == 1 and delivery.last_status_code == 500
        assert before <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=60)
        assert delivery_send(delivery_id=delivery.pk) == "skipped"  # not due yet: nothing sent
        assert receiver.count() == 1
        make_due(delivery)
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=120)
        make_due(delivery)
        assert delivery_send(delivery_id=delivery.pk) == "delivered"
        delivery.refresh_from_db()
        assert delivery.attempts == 3 and delivery.next_attempt_at is None and delivery.delivered_at
        assert [a.status_code for a in delivery.attempt_log.all()] == [500, 500, 200]

    def test_redirects_are_not_followed(self, receiver, allow_private):
        endpoint, _ = endpoint_for(receiver.url)
        delivery = one_delivery(endpoint)
        receiver.fail_next(1, status=302)
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        assert receiver.count() == 1
        delivery.refresh_from_db()
        assert "redirects are not followed" in delivery.last_error

    def test_an_unreachable_receiver_is_a_failed_attempt_with_its_reason(self, allow_private):
        endpoint, _ = endpoint_for("http://127.0.0.1:9/hooks")  # discard port: nothing listens
        delivery = one_delivery(endpoint)
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert delivery.last_status_code is None and "ConnectError" in delivery.last_error


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures_and_postpones_without_spending_attempts(
        self, receiver, allow_private, settings
    ):
        settings.CALLBACK_BREAKER_THRESHOLD, settings.CALLBACK_BREAKER_COOLDOWN_S = 2, 120
        endpoint, _ = endpoint_for(receiver.url)
        first, second, third = (one_delivery(endpoint, {"n": n}) for n in range(3))
        receiver.fail_next(10)
        assert delivery_send(delivery_id=first.pk) == "retrying"
        assert delivery_send(delivery_id=second.pk) == "retrying"
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == 2 and endpoint.breaker_state == "open"
        assert endpoint.breaker_open_until > timezone.now() + timedelta(seconds=100)

        assert delivery_send(delivery_id=third.pk) == "postponed"
        third.refresh_from_db()
        assert third.attempts == 0 and third.status == "pending"
        assert third.next_attempt_at >= endpoint.breaker_open_until
        assert receiver.count() == 2  # the open breaker sent nothing
        assert endpoint.history.count() == 1  # the breaker is state, not an edit
        assert AuditEvent.objects.filter(action="callback.breaker_opened", object_id=str(endpoint.pk)).count() == 1

    def test_half_open_sends_one_trial_and_closes_on_success(self, receiver, allow_private, settings):
        settings.CALLBACK_BREAKER_THRESHOLD, settings.CALLBACK_BREAKER_COOLDOWN_S = 1, 120
        endpoint, _ = endpoint_for(receiver.url)
        first, second = (one_delivery(endpoint, {"n": n}) for n in range(2))
        receiver.fail_next(2)
        assert delivery_send(delivery_id=first.pk) == "retrying"
        # the cooldown is over: half-open
        CallbackEndpoint.objects.filter(pk=endpoint.pk).update(breaker_open_until=timezone.now() - timedelta(seconds=1))
        assert delivery_send(delivery_id=second.pk) == "retrying"  # the trial fails: open again for a full cooldown
        endpoint.refresh_from_db()
        assert endpoint.breaker_state == "open" and endpoint.consecutive_failures == 2
        make_due(first)
        assert delivery_send(delivery_id=first.pk) == "postponed"
        assert receiver.count() == 2

        CallbackEndpoint.objects.filter(pk=endpoint.pk).update(breaker_open_until=timezone.now() - timedelta(seconds=1))
        make_due(first)
        assert delivery_send(delivery_id=first.pk) == "delivered"  # the trial succeeds: closed
        endpoint.refresh_from_db()
        assert endpoint.breaker_state == "closed" and endpoint.consecutive_failures == 0
        make_due(second)
        assert delivery_send(delivery_id=second.pk) == "delivered"


class TestSsrf:
    def test_a_send_to_a_private_address_is_refused_at_send_time(self, receiver, settings):
        settings.CALLBACK_ALLOW_PRIVATE = True
        endpoint, _ = endpoint_for(receiver.url)
        delivery = one_delivery(endpoint)
        settings.CALLBACK_ALLOW_PRIVATE = False  # e.g. the host now resolves to a private address
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert "Refused by the SSRF guard" in delivery.last_error and "non-public" in delivery.last_error
        assert receiver.count() == 0


@pytest.mark.django_db(transaction=True)
class TestIdempotentSends:
    def make_delivery(self, url) -> Delivery:
        endpoint, _ = endpoint_for(url)
        event = OutboxEvent.objects.create(event_type="decision.created", payload={"external_id": "tx-1"})
        return Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            event_type=event.event_type,
            webhook_id="msg_once",
            next_attempt_at=timezone.now(),
        )

    def test_the_same_send_task_run_twice_posts_once(self, receiver, allow_private):
        delivery = self.make_delivery(receiver.url)
        assert delivery_send_task.apply(args=(delivery.pk,)).get() == "delivered"
        assert delivery_send_task.apply(args=(delivery.pk,)).get() == "skipped"  # Celery redelivered the message
        assert receiver.count() == 1

    def test_a_redelivered_task_does_not_post_while_the_first_is_in_flight(self, receiver, allow_private):
        delivery = self.make_delivery(receiver.url)
        receiver.gate = threading.Event()  # the receiver holds the first POST
        outcomes = []
        first = thread_in_this_context(lambda: outcomes.append(delivery_send_task.apply(args=(delivery.pk,)).get()))
        first.start()
        try:
            while receiver.count() == 0 and first.is_alive():
                first.join(0.02)
            assert delivery_send_task.apply(args=(delivery.pk,)).get() == "skipped"  # held by the first worker
        finally:
            receiver.gate.set()
            first.join(10)
        assert outcomes == ["delivered"]
        assert receiver.count() == 1


class TestSecretRotation:
    def test_during_the_grace_period_both_secrets_sign(self, receiver, allow_private):
        endpoint, old_secret = endpoint_for(receiver.url)
        endpoint, new_secret = callback_endpoint_rotate_secret(endpoint=endpoint, actor="tests")
        assert new_secret != old_secret and new_secret.startswith("whsec_")
        delivery = one_delivery(endpoint)
        assert delivery_send(delivery_id=delivery.pk) == "delivered"
        headers, raw = receiver.requests[0]
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert Webhook(new_secret).verify(raw, headers)["type"] == "decision.created"
        assert Webhook(old_secret).verify(raw, headers)["type"] == "decision.created"

    def test_after_the_grace_period_only_the_new_secret_signs(self, receiver, allow_private, settings):
        settings.CALLBACK_SECRET_GRACE_S = 0
        endpoint, old_secret = endpoint_for(receiver.url)
        endpoint, new_secret = callback_endpoint_rotate_secret(endpoint=endpoint, actor="tests")
        assert delivery_send(delivery_id=one_delivery(endpoint).pk) == "delivered"
        headers, raw = receiver.requests[0]
        Webhook(new_secret).verify(raw, headers)
        with pytest.raises(Exception, match="signature"):
            Webhook(old_secret).verify(raw, headers)


class TestDnsRebinding:
    """The host resolves to a public address when a send connects, then to an internal one (DNS rebinding)."""

    @pytest.fixture
    def internal(self, receiver):
        from kernel.tests.internet import Server

        with Server("127.0.0.2", receiver.port, name="internal") as internal:  # what rebinding aims at
            yield internal

    def test_the_send_goes_to_the_address_checked_and_never_to_the_later_one(
        self, receiver, internal, settings, monkeypatch
    ):
        from delivery.services import callbacks
        from kernel.tests.internet import Internet

        settings.CALLBACK_ALLOW_PRIVATE = False
        internet = Internet(monkeypatch)  # the outside: DNS answers, and where the public address leads
        internet.answer("hooks.rebind.example", ["93.184.216.34"])
        internet.route("93.184.216.34", to="127.0.0.1")
        endpoint, secret = endpoint_for(f"http://hooks.rebind.example:{receiver.port}/hook")
        internet.answer("hooks.rebind.example", ["93.184.216.34"], ["127.0.0.2"])  # public, then internal
        internet.lookups.clear()
        assert delivery_send(delivery_id=one_delivery(endpoint).pk) == "delivered"
        second = one_delivery(endpoint, {"external_id": "tx-2"})
        delivery_send(delivery_id=second.pk)
        second.refresh_from_db()
        assert second.status == "delivered", second.last_error
        assert internet.lookups_of("hooks.rebind.example") == 1  # one lookup, checked and connected to
        assert receiver.count() == 2 and internal.requests == []
        headers, raw = receiver.requests[0]
        assert headers["host"] == f"hooks.rebind.example:{receiver.port}"
        Webhook(secret).verify(raw, headers)

        # A client per send (FINOBS_NO_CALLBACK_CLIENT): a new connection, a new lookup, the internal answer.
        monkeypatch.setattr(callbacks, "_CLIENT_PER_SEND", True)
        delivery = one_delivery(endpoint, {"external_id": "tx-3"})
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert delivery.last_error.startswith("Refused by the SSRF guard")
        assert "non-public address (127.0.0.2)" in delivery.last_error
        assert internet.dials == ["93.184.216.34"] and internal.requests == []

    def test_a_kept_alive_connection_is_never_taken_over_by_a_new_answer(
        self, receiver, internal, settings, monkeypatch
    ):
        """The pooled client keeps a connection per host to the address it was opened to; once that is gone
        the next connection is looked up and checked afresh, and the internal answer is refused."""
        from delivery.services import callbacks
        from kernel.tests.internet import Internet

        settings.CALLBACK_ALLOW_PRIVATE = False
        internet = Internet(monkeypatch)
        internet.answer("hooks.rebind.example", ["93.184.216.34"])
        internet.route("93.184.216.34", to="127.0.0.1")
        endpoint, _ = endpoint_for(f"http://hooks.rebind.example:{receiver.port}/hook")
        assert delivery_send(delivery_id=one_delivery(endpoint).pk) == "delivered"
        internet.answer("hooks.rebind.example", ["127.0.0.2"])  # rebound while the connection is kept alive
        assert delivery_send(delivery_id=one_delivery(endpoint, {"external_id": "tx-2"}).pk) == "delivered"
        with callbacks._http_client() as client:
            client._transport._pool.close()  # the keep-alive expired
        delivery = one_delivery(endpoint, {"external_id": "tx-3"})
        assert delivery_send(delivery_id=delivery.pk) == "retrying"
        delivery.refresh_from_db()
        assert "non-public address (127.0.0.2)" in delivery.last_error
        assert receiver.count() == 2 and internal.requests == []


class TestWholeSendDeadline:
    def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_timeout(self, allow_private, settings):
        """Each byte comes well inside the timeout, so only a deadline for the whole send stops it."""
        import socket
        import time

        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def drip():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)  # the POST
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n":  # a byte every 0.2 s: 13 s
                    if stop.wait(0.2):
                        return
                    connection.sendall(bytes([byte]))

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        settings.CALLBACK_TIMEOUT_S = 1
        endpoint, _ = endpoint_for(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
        delivery = one_delivery(endpoint)
        started = time.monotonic()
        try:
            assert delivery_send(delivery_id=delivery.pk) == "retrying"
        finally:
            stop.set()
            listener.close()
        delivery.refresh_from_db()
        assert delivery.last_error == "Timed out after 1 s"
        assert time.monotonic() - started < 10  # cut off at the deadline, not when the receiver finished
