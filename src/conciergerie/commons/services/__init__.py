"""Commons writes, one module per part of the app."""
