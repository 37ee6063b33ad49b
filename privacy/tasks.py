"""Celery entry point for retention: erase screening answers that are past keeping."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def erase_expired_screening_answers() -> int:
    """Erase what is past keeping; return how many. Beat runs it every few minutes; running it twice is harmless."""
    return services.screening_answers_erase_expired(now=timezone.now())
