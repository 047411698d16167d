"""Web page routes (filled in by the views module)."""

urlpatterns: list = []
