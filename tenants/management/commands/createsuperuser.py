"""Django's createsuperuser, whose account can sign in at once: its email address is recorded
as verified (allauth asks every other account to confirm its address first)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.contrib.auth.management.commands.createsuperuser import Command as DjangoCommand

from tenants.models import User


class Command(DjangoCommand):
    help = DjangoCommand.help + " Its email address counts as verified."

    def handle(self, *args, **options) -> None:
        known = set(User.objects.filter(is_superuser=True).values_list("pk", flat=True))
        super().handle(*args, **options)
        for user in User.objects.filter(is_superuser=True).exclude(pk__in=known):
            EmailAddress.objects.update_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
