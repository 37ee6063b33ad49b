from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_safe


@require_safe
def healthz(request):
    """Touch nothing: the floor that benchmarks compare every page against."""
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "Clinic diary"
admin.site.site_title = "Clinic diary"
admin.site.index_title = "Diary, reviews and settings"

# A database outage outside a view is a 503 page too (see clinic/errors.py).
handler500 = "clinic.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("booking.urls")),
    path("", include("screening.urls")),
]
