"""Files sent with a job: the multipart body streamed to disk, checked, and kept for its worker."""
