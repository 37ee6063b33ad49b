"""The audit log's "from where": the client address our own proxies vouch for, not one the client wrote.

django-auditlog's middleware takes the first X-Forwarded-For entry, which any client can set to anything (even
text that is not an address). Audit entries use `clinic.throttle.client_ip` instead, the address throttling and
sign-in lockout already trust (TRUSTED_PROXY_COUNT).
"""

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings

from .throttle import client_ip


class TrustedProxyAuditlogMiddleware(AuditlogMiddleware):
    """AuditlogMiddleware with the address (and port) read as far as our trusted proxies allow."""

    @staticmethod
    def _get_remote_addr(request):
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request):
        # X-Forwarded-Port is as easy to forge as X-Forwarded-For: believe it only from proxies we run.
        if settings.TRUSTED_PROXY_COUNT <= 0:
            return None
        return AuditlogMiddleware._get_remote_port(request)
