"""Commons reads, one module per part of the app."""
