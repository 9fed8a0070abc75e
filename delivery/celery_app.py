"""The Celery application of the distributed mode: Redis broker, tasks that carry ids.

Tasks are acknowledged late (after they ran) and are idempotent, so a message redelivered
after a worker died does no harm. Redis keeps one list per priority step; 0 is taken first.
"""

from __future__ import annotations

from celery import Celery

from config.settings import Settings

PLAN = "ewb.plan"  # plan every issued version waiting in the outbox, queue its batches
SEND_BATCH = "ewb.send_batch"  # (batch_id,)
SEND_DUE = "ewb.send_due"  # retries and fallbacks whose time has come

celery = Celery("ewb", set_as_current=False)


def configure(settings: Settings) -> Celery:
    """Point the app at the broker of these settings (once per process)."""
    celery.conf.update(
        broker_url=settings.broker_url,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.celery_visibility_timeout,
            "priority_steps": list(range(10)),
            "sep": ":",
            "queue_order_strategy": "priority",
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,  # a child killed mid-task: the message goes back
        task_ignore_result=True,
        task_default_priority=5,
        worker_prefetch_multiplier=1,  # take one batch at a time: priorities stay honoured
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return celery


def queue_priority(priority: int) -> int:
    """A batch's priority (grade rank × 10, +1 for relays) as a Redis priority step:
    red relays 1 … blue residents 8; 0 is kept for planning and due retries."""
    grade, relay = divmod(priority, 10)
    level = (min(max(grade, 1), 4) - 1) * 2 + min(relay, 1)  # 0 (blue residents) … 7
    return 8 - level
