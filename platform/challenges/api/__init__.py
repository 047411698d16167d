"""REST API (Django REST framework): serializers and views; routes in challenges.api_urls."""
