"""Endpoints for bench/bookings and bench/events only: mounted when CONCIERGERIE_BENCH=1."""

from django.urls import path

from conciergerie.events import bench_views as events_bench
from conciergerie.spaces import bench_views

urlpatterns = [
    path("insert", bench_views.insert, name="bench-insert"),
    path("book", bench_views.book, name="bench-book"),
    path("register", events_bench.register, name="bench-register"),
]
