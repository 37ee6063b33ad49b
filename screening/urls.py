from django.urls import path

from . import reminder_views, views

app_name = "screening"

urlpatterns = [
    path("book/<slug:slug>/screening/", views.screening_start, name="start"),
    path("book/<slug:slug>/screening/<str:token>/", views.screening_result, name="result"),
    path("book/<slug:slug>/screening/<str:token>/reminder/", views.screening_reminder, name="reminder"),
    path("reminders/unsubscribe/<uuid:token>/", reminder_views.unsubscribe, name="unsubscribe"),
]
