"""What the user reads when a website generation does not succeed, in the job's locale."""

from __future__ import annotations

from typing import Any

_MESSAGES: dict[str, dict[str, str]] = {
    "not_configured": {
        "en": "Website generation is not available on this server right now. Please try again later.",
        "es": "La generación de sitios web no está disponible en este servidor ahora. Inténtalo más tarde.",
    },
    "prompt_rejected": {
        "en": "The website generator could not accept your request: {reason}. Please change the description "
        "and try again.",
        "es": "El generador de sitios web no pudo aceptar tu solicitud: {reason}. Cambia la descripción e "
        "inténtalo de nuevo.",
    },
    "refused": {
        "en": "The website generator refused the request ({reason}). This is a problem on our side, not with "
        "your description; please contact support.",
        "es": "El generador de sitios web rechazó la solicitud ({reason}). Es un problema de nuestro lado, no "
        "de tu descripción; ponte en contacto con soporte.",
    },
    "generation_failed": {
        "en": "The website could not be generated: {reason}. You can retry the job or change the description.",
        "es": "No se pudo generar el sitio web: {reason}. Puedes reintentar el trabajo o cambiar la descripción.",
    },
    "timed_out": {
        "en": "The website was not ready within {duration}, so we stopped waiting. You can follow the "
        "generator's progress at {tracking_url} or retry the job.",
        "es": "El sitio web no estuvo listo en {duration}, así que dejamos de esperar. Puedes seguir el "
        "progreso del generador en {tracking_url} o reintentar el trabajo.",
    },
    "no_reason": {"en": "no reason was given", "es": "no se indicó el motivo"},
    "no_tracking": {"en": "the generator's site", "es": "el sitio del generador"},
}


def user_message(key: str, locale: str, **values: Any) -> str:
    """The message ``key`` in ``locale`` (English when the locale is unknown), filled with ``values``."""
    texts = _MESSAGES[key]
    return texts.get(locale, texts["en"]).format(**values)


def duration(seconds: float, locale: str) -> str:
    """``20 minutes`` / ``20 minutos``; whole seconds below two minutes (test deployments use short ones)."""
    if seconds >= 120:
        return f"{seconds / 60:g} minutos" if locale == "es" else f"{seconds / 60:g} minutes"
    whole = max(1, round(seconds))
    return f"{whole} segundos" if locale == "es" else f"{whole} seconds"
