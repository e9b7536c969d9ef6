"""Endpoints for bench/bookings only: mounted when CONCIERGERIE_BENCH=1."""

from django.urls import path

from conciergerie.spaces import bench_views

urlpatterns = [
    path("insert", bench_views.insert, name="bench-insert"),
    path("book", bench_views.book, name="bench-book"),
]
