from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_creation_fakes_migrations, schema_exists


class MerchantQuerySet(models.QuerySet):
    def merchants(self) -> MerchantQuerySet:
        """Real merchants: everything but the template schema's row."""
        return self.filter(is_template=False)


class PayButton(models.TextChoices):
    """The ways a checkout may be opened (the values of checkout's session `source`)."""

    UNSIGNED = "page", "Unsigned tag (the one-line snippet)"
    SIGNED = "signed", "Signed tag"
    SERVER = "server", "Session created by your server"


def pay_buttons_default() -> list[str]:
    # Every kind, so the one-line tag works from the first minute; the portal recommends signing.
    return [PayButton.UNSIGNED, PayButton.SIGNED, PayButton.SERVER]


def _pay_buttons_field() -> ArrayField:
    return ArrayField(
        models.CharField(max_length=8, choices=PayButton.choices),
        default=pay_buttons_default,
        # Also the column's default: the previous release's code (during a rollout) omits it.
        db_default=[PayButton.UNSIGNED.value, PayButton.SIGNED.value, PayButton.SERVER.value],
        help_text="The pay buttons that may open a checkout in this mode.",
    )


class Merchant(TenantMixin):
    """A business that takes voucher payments; a tenant with its own PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    default_currency = models.CharField(max_length=3, help_text="ISO 4217")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Empty: the country's (tenants.regional). Times in the portal show in this zone; amounts a
    # member types are parsed, and shown, in this locale.
    time_zone = models.CharField(max_length=64, blank=True, default="", help_text="IANA zone")
    locale = models.CharField(max_length=16, blank=True, default="", help_text="CLDR locale")
    # The template schema is registered as a tenant row so every `migrate_schemas` keeps it
    # current; new merchants are cloned from it.
    is_template = models.BooleanField(default=False, editable=False)
    # Live mode is refused (live keys, live sessions and payments) until an owner activates it
    # (tenants.activation); null = test mode only.
    live_activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Fingerprint of the tenant apps' leaf migrations this schema was last brought up to
    # (tenants.migrating): `setup_platform` finds the schemas that are behind with one query
    # instead of opening every schema. Written when the schema's migrations finish; a clone
    # inherits the template's.
    migrations_digest = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Which pay buttons may open a checkout, per mode (PayButton values).
    pay_buttons_test = _pay_buttons_field()
    pay_buttons_live = _pay_buttons_field()

    auto_create_schema = True
    auto_drop_schema = False

    objects = MerchantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]),
                name="merchant_status_valid",
            ),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{field}__contained_by": list(PayButton.values)})
                    & models.Q(**{f"{field}__len__gte": 1}),
                    name=f"merchant_{field}_valid",
                )
                for field in ("pay_buttons_test", "pay_buttons_live")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def live_activated(self) -> bool:
        return self.live_activated_at is not None

    def _check_schema_name_is_unique(self):
        """By the unique index: django-tenants compares ignoring case (`UPPER(schema_name)`),
        which reads every merchant's row; schema names here are lowercase by construction."""
        from django.core.exceptions import ValidationError

        if type(self).objects.filter(schema_name=self.schema_name).exists():
            raise ValidationError(f"A tenant with the schema name {self.schema_name!r} exists.")

    def pay_buttons(self, *, livemode: bool) -> list[str]:
        return self.pay_buttons_live if livemode else self.pay_buttons_test

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Clone the template schema, data included, so its `django_migrations` rows come along
        and the new schema is current without loading the migration graph (django-tenants would
        still run a faked `migrate_schemas` after the clone: most of the time it takes)."""
        base_schema = get_creation_fakes_migrations() and self.get_base_schema()
        if not (sync_schema and base_schema and schema_exists(base_schema)):
            return super().create_schema(check_if_exists, sync_schema, verbosity)
        if check_if_exists and schema_exists(self.schema_name):
            return False
        from tenants.cloning import schema_clone

        connection.set_schema_to_public()
        schema_clone(template=base_schema, schema=self.schema_name)
        return True


class Domain(DomainMixin):
    """Host names routed to a merchant (its platform subdomain; custom domains later)."""

    def __str__(self) -> str:
        return self.domain
