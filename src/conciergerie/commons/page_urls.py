"""Documentation pages, under /lieux/<slug>/communs/documentation/."""

from django.urls import URLPattern, path

from conciergerie.commons import page_views as views

P = "lieux/<slug:place_slug>/communs/documentation/"

urlpatterns: list[URLPattern] = [
    path(P, views.page_list, name="pages"),
    # "nouvelle" is never a page's slug (see services.pages.RESERVED_SLUGS).
    path(P + "nouvelle/", views.page_new, name="page_new"),
    path(P + "<slug:slug>/", views.page_detail, name="page"),
    path(P + "<slug:slug>/modifier/", views.page_edit, name="page_edit"),
    path(P + "<slug:slug>/historique/", views.page_history, name="page_history"),
    path(P + "<slug:slug>/historique/<int:number>/", views.page_diff, name="page_diff"),
    path(
        P + "<slug:slug>/historique/<int:number>/restaurer/",
        views.page_revert,
        name="page_revert",
    ),
]
