"""Paid jobs through Stripe Checkout: pricing, checkout, the webhook, reconciliation and admin actions."""
