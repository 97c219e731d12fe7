"""Payment follow-up run by workers and the scheduler: refunds of paid jobs that did not deliver."""
