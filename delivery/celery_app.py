"""The Celery application of the distributed mode: Redis broker, tasks that carry ids.

Tasks are acknowledged late (after they ran) and are idempotent, so a message redelivered
after a worker died does no harm. Each urgency lane has its own queue (delivery/lanes.py);
Redis keeps one list per queue and priority step, and a worker takes step 0 of every queue
it consumes before step 1 (`queue_order_strategy` "priority": then in the order of -Q).
"""

from __future__ import annotations

from celery import Celery

from config.settings import Settings
from delivery import lanes

PLAN = "ewb.plan"  # plan every issued version waiting in the outbox, queue its batches
SEND_BATCH = "ewb.send_batch"  # (batch_id,)
SEND_DUE = "ewb.send_due"  # (lane,): that lane's retries and fallbacks whose time has come
PLAN_QUEUE = lanes.queue_name(lanes.BROADCAST)  # planning makes the loudspeakers' work
# A version's first planning step (officers, loudspeakers) goes at priority step 0; its
# residents' step at 2: after the loudspeakers' and officers' batches it made (0 and 1),
# before any resident batch (step 2 of the resident queue comes after this queue's).
PLAN_RELAYS_PRIORITY, PLAN_RESIDENTS_PRIORITY = 0, 2

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
        task_default_queue=PLAN_QUEUE,
        worker_prefetch_multiplier=1,  # take one batch at a time: priorities stay honoured
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return celery
