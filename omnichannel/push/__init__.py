"""Web push: browsers' subscriptions and the VAPID key they are signed with.

The model (``models/push.py``), the channel backend (``channels/webpush.py``), the API
(``api/push.py``), the service worker view and the key command stay with their kind and
call into this package.
"""
