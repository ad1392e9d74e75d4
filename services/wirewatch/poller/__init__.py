"""The feed poller: fetch feeds politely, normalise items, publish raw stories."""
