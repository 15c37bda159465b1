"""Outbound event webhooks: what happened in a workspace (messages, journeys, goals), POSTed and
signed to the URLs its owners registered, at least once, from the outbound queue."""
