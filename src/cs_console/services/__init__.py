"""What an agent can do (send a reply, claim, flag an order), on top of store and sync."""
