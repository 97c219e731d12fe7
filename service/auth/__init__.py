"""Users, API keys, browser sessions and the authentication middleware."""
