"""The operator's view (admins only; anyone else gets 404): queues with live counts, live workers, pausing and
resuming queues, and a job search across users. Acting on jobs goes through the owner's own API (an admin may
act on anyone's job there, and the history records the admin as the actor)."""
