"""The ``gradkit`` command; nothing else imports this package."""
