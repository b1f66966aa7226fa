"""The HTTP layer: thin routers over `Tokenward`, and the dependencies guarding routes."""
