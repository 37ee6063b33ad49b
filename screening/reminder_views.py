"""Unsubscribing from eligibility reminders: a page with a button, and RFC 8058 one-click POSTs from mail clients."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import reminders


# The unguessable token in the URL is the credential. Mail clients' one-click POST carries no cookie or CSRF token,
# so the check is off here; GET only asks, because link scanners fetch every link in an email.
@never_cache
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    reminder = reminders.eligibility_reminder_by_token(token)
    if reminder is None:
        raise Http404("This unsubscribe link is not valid.")
    if request.method == "POST":
        reminders.eligibility_reminder_unsubscribe(reminder=reminder, now=timezone.now())
        return render(request, "screening/unsubscribe_done.html", {"treatment": reminder.treatment})
    already = reminder.state == reminder.State.UNSUBSCRIBED
    return render(request, "screening/unsubscribe.html", {"treatment": reminder.treatment, "already": already})
