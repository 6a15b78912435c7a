from __future__ import annotations

import pytest

from tests.helpers import committed
from tests.webhooks.support import Dispatcher, Receiver


def _wipe() -> None:
    from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    Event.objects.all().delete()
    WebhookEndpoint.objects.all().delete()


@pytest.fixture
def private_urls(settings) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def committed_webhooks(merchant_a):
    """Webhook rows of merchant A committed by the test are removed afterwards."""
    yield merchant_a
    from webhooks.queue.models import DueDelivery

    committed(_wipe, merchant_a.schema_name)
    committed(lambda: DueDelivery.objects.filter(schema_name=merchant_a.schema_name).delete())


@pytest.fixture
def start_worker(test_database_url, private_urls):
    """Start a webhooks dispatcher process (stopped after the test)."""
    workers: list[Dispatcher] = []

    def start(threads: int = 2) -> Dispatcher:
        worker = Dispatcher(database_url=test_database_url, threads=threads)
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running
