"""The HTTP face of the engine: one module per area, each a module-level ``router`` whose handlers get what
they need through the dependencies in ``deps``; ``app.create_app`` puts the parts in the app's state once."""
