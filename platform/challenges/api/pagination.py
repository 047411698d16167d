"""Page-number pagination for every list in the API.

Unbounded lists let one request fetch (and serialise) every row: an organiser of a busy
challenge listed thousands of submissions at once. Pages hold PAGE_SIZE items by default;
`?page_size=` asks for up to MAX_PAGE_SIZE; the answer is DRF's
`{"count", "next", "previous", "results"}`, and the `fetalbench` client follows `next`.
"""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
