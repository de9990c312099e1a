"""Streams of numbered events: the broker that holds them, SSE framing, the generation runner."""
