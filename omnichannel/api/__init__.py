"""The public JSON API the popup script calls (Django REST framework)."""
