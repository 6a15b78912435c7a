"""Public (non-API, non-portal) routes of this app, mounted at the site root: the widget
script, the widget's session endpoint, the payment frame and the demo shop."""

from django.urls import path, re_path

from checkout import demo, demo_backend, frame_views, widget_views

FRAME = "checkout/pay/<slug:slug>/<str:session_id>/"

urlpatterns = [
    path("widget.js", widget_views.widget_loader, name="widget_loader"),
    path("widget.json", widget_views.widget_manifest, name="widget_manifest"),
    re_path(
        r"^widget\.(?P<version>[0-9a-f]{16})\.js$",
        widget_views.widget_versioned,
        name="widget_versioned",
    ),
    path("checkout/widget/sessions", widget_views.widget_session_open, name="widget_session_open"),
    path(FRAME, frame_views.checkout_frame, name="checkout_frame"),
    path(FRAME + "vouchers", frame_views.frame_voucher_add, name="checkout_frame_voucher_add"),
    path(
        FRAME + "vouchers/<str:voucher_id>/remove",
        frame_views.frame_voucher_remove,
        name="checkout_frame_voucher_remove",
    ),
    path(FRAME + "confirm", frame_views.frame_confirm, name="checkout_frame_confirm"),
    path(FRAME + "release", frame_views.frame_release, name="checkout_frame_release"),
    path(FRAME + "forget", frame_views.frame_forget, name="checkout_frame_forget"),
    path("demo/shop/", demo.demo_shop, name="demo_shop"),
    path("demo/shop/webhooks", demo_backend.demo_shop_webhook, name="demo_shop_webhook"),
    path("demo/shop/orders/<str:order_id>", demo_backend.demo_shop_order, name="demo_shop_order"),
]
