"""Reusable UI builders: they return Dash components or Plotly figures and do no I/O."""
