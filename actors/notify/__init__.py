"""Notifications to users when their jobs finish: email, signed webhook, UltraMsg, WhatsApp Cloud API."""
