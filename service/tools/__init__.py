"""The tool API for LLM agents: OpenAI function-calling definitions and a call endpoint that starts jobs."""
