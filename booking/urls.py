from django.urls import path

from . import views

app_name = "booking"

urlpatterns = [
    path("", views.treatment_list, name="treatments"),
    path("book/<slug:slug>/", views.treatment_times, name="times"),
    path("book/<slug:slug>/next/", views.next_day_with_times, name="next_day"),
    path("book/<slug:slug>/details/", views.booking_details, name="details"),
    path("booking/<str:token>/confirmed/", views.booking_confirmed, name="confirmed"),
    path("booking/<str:token>/", views.manage, name="manage"),
    path("booking/<str:token>/cancel/", views.manage_cancel, name="cancel"),
    path("booking/<str:token>/reschedule/", views.manage_reschedule, name="reschedule"),
    path("api/availability/<slug:slug>/", views.availability_api, name="availability_api"),
]
