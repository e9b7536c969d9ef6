from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "conciergerie.demo"
    label = "demo"
    verbose_name = "Démo"
