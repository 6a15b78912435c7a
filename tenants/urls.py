from django.urls import include, path

from tenants import activation_views, key_views, views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("new/", views.business_create, name="business_create"),
    path("<slug:slug>/", views.overview, name="overview"),
    path("<slug:slug>/pay-buttons/", views.pay_buttons_update, name="pay_buttons"),
    path("<slug:slug>/team/", views.team_page, name="team"),
    path("<slug:slug>/team/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("<slug:slug>/team/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "<slug:slug>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("<slug:slug>/audit/", views.audit_page, name="audit"),
    path("<slug:slug>/settings/", views.settings_page, name="settings"),
    path("<slug:slug>/keys/", key_views.keys_page, name="keys"),
    path("<slug:slug>/activate/", activation_views.live_activation, name="live_activation"),
    path("<slug:slug>/", include("vouchers.portal_urls")),
    path("<slug:slug>/", include("checkout.portal_urls")),
    path("<slug:slug>/", include("webhooks.portal_urls")),
    path("<slug:slug>/", include("billing.portal_urls")),
    path("<slug:slug>/keys/<int:key_id>/roll/", key_views.key_roll, name="key_roll"),
    path("<slug:slug>/keys/<int:key_id>/revoke/", key_views.key_revoke, name="key_revoke"),
    path("<slug:slug>/keys/<int:key_id>/origins/", key_views.key_origins, name="key_origins"),
]
