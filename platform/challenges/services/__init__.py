"""Domain operations shared by the admin, the API, the web pages and the Celery tasks."""
