from django.urls import path

from conciergerie.billing import views

app_name = "billing"

P = "lieux/<slug:place_slug>/"
G = P + "facturation/"
F = G + "factures/<uuid:uuid>/"

urlpatterns = [
    path(G + "factures/", views.invoice_list, name="invoices"),
    path(G + "factures/nouvelle/", views.invoice_create, name="invoice_create"),
    path(F, views.invoice_page, name="invoice"),
    path(F + "lignes/", views.invoice_line_add, name="invoice_line_add"),
    path(F + "lignes/retirer/", views.invoice_line_remove, name="invoice_line_remove"),
    path(F + "destinataire/", views.invoice_buyer, name="invoice_buyer"),
    path(F + "apercu.pdf", views.invoice_preview, name="invoice_preview"),
    path(F + "pdf/", views.invoice_pdf, name="invoice_pdf"),
    path(F + "emettre/", views.invoice_issue, name="invoice_issue"),
    path(F + "supprimer/", views.invoice_delete, name="invoice_delete"),
    path(F + "paiement/", views.invoice_payment, name="invoice_payment"),
    path(F + "avoir/", views.credit_note_create, name="credit_note_create"),
    path(G + "paiements/", views.payment_list, name="payments"),
    path(G + "financements/", views.funding_list, name="fundings"),
    path(G + "produits/", views.product_list, name="products"),
    path(G + "produits/nouveau/", views.product_form, name="product_create"),
    path(G + "produits/<uuid:uuid>/", views.product_form, name="product"),
    path(G + "abonnements/", views.subscription_list, name="subscriptions"),
    path(G + "abonnements/nouveau/", views.subscription_create, name="subscription_create"),
    path(G + "abonnements/<uuid:uuid>/", views.subscription_page, name="subscription"),
    path(
        G + "abonnements/<uuid:uuid>/action/",
        views.subscription_action,
        name="subscription_action",
    ),
    path(G + "reglages/", views.billing_settings, name="settings"),
    path(P + "mes-factures/", views.my_invoices, name="my_invoices"),
    path(P + "mes-factures/<uuid:uuid>/pdf/", views.my_invoice_pdf, name="my_invoice_pdf"),
]
