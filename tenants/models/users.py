from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class EmailUserManager(UserManager):
    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        return self._create_user_by_email(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user_by_email(email, password, **extra)

    def _create_user_by_email(self, email: str, password: str | None, **extra):
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractUser):
    """A person: merchant staff or platform staff. Signs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = EmailUserManager()

    class Meta:
        db_table = "tenants_user"

    def __str__(self) -> str:
        return self.email


class StaffUser(User):
    """Users as the admin console's Staff users page shows them (staff flag, console groups)."""

    class Meta:
        proxy = True
        verbose_name = "staff user"
        verbose_name_plural = "staff users"
