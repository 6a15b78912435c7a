"""Date and time formats for English pages (the admin console above all): the same "3 Dec 2026,
14:05 CET" as the portal's `when` filter, so every page shows a time with its zone."""

DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
