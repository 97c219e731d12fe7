"""One module per notification channel; ``send(outgoing, ...)`` delivers one message or raises a DeliveryError."""
