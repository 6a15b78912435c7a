from __future__ import annotations

import uuid

import pytest

from tests.helpers import committed
from tests.webhooks.support import QueueWorker, Receiver, queue_purge


def _wipe() -> None:
    from webhooks.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    Event.objects.all().delete()
    WebhookEndpoint.objects.all().delete()


@pytest.fixture
def webhook_queue(settings) -> str:
    """A Celery queue of this test's own: no other worker of the session takes its tasks."""
    queue = f"webhooks-test-{uuid.uuid4().hex[:8]}"
    settings.WEBHOOKS_TASK_QUEUE = queue
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    yield queue
    queue_purge(queue)


@pytest.fixture
def committed_webhooks(merchant_a):
    """Webhook rows of merchant A committed by the test are removed afterwards."""
    yield merchant_a
    from webhooks.queue.models import DueDelivery

    committed(_wipe, merchant_a.schema_name)
    committed(lambda: DueDelivery.objects.filter(schema_name=merchant_a.schema_name).delete())


@pytest.fixture
def start_worker(test_database_url, webhook_queue):
    workers: list[QueueWorker] = []

    def start(concurrency: int = 2) -> QueueWorker:
        worker = QueueWorker(
            database_url=test_database_url, queue=webhook_queue, concurrency=concurrency
        )
        workers.append(worker)
        return worker.start()

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running
