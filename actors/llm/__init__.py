"""Language-model clients shared by the kinds: one HTTP call with its failure causes, and chat clients for
Ollama (``/api/chat``), Gemini (``generateContent``) and any OpenAI-compatible chat-completions API.

The caller owns the ``httpx.AsyncClient``; every base URL is configurable so tests use local servers.
"""
