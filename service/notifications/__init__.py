"""Per-user notification settings (``/api/me/notifications``) and the notification pieces the processes wire up."""
