"""What every part of the app builds on and that knows nothing of contacts, carts or flows:
signed links, batching, database helpers, normalisation, what a request tells."""
