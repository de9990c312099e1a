"""Unit tests: no servers, no gunicorn; the Redis broker's use the test Redis as a client."""
