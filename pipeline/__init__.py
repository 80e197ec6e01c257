"""The core: a signal in, results out. No Dash, Flask or database imports, ever."""
