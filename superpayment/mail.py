"""Development email: every message is printed to the console and kept as a file in .var/mail/,
where `make run` tells the developer to look for verification and invitation links."""

from __future__ import annotations

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend


class DevelopmentEmailBackend(FileBackend):
    def send_messages(self, email_messages):
        ConsoleBackend(fail_silently=self.fail_silently).send_messages(email_messages)
        return super().send_messages(email_messages)
