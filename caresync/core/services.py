from django.db import transaction
from django.db.models import F
from django.utils import timezone

from caresync.core.models import Heartbeat


@transaction.atomic
def heartbeat_record(*, name: str = "beat") -> Heartbeat:
    """Record that the scheduler fired ``name`` now."""
    now = timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(beat_at=now, count=F("count") + 1)
    if not updated:
        Heartbeat.objects.create(name=name, beat_at=now, count=1)
    return Heartbeat.objects.get(name=name)
