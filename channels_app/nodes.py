"""The message and webhook node types (registered into journeys.nodes.base.REGISTRY)."""
