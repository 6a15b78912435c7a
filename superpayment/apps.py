from django.contrib.admin.apps import AdminConfig


class PlatformAdminConfig(AdminConfig):
    """django.contrib.admin, serving the platform console that requires two factors."""

    default_site = "superpayment.admin_site.PlatformAdminSite"
