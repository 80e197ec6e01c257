"""One module per page: `dash.register_page(..., roles=[...])` and `layout()`. Layout only.

Every page names the roles that may open it; the server refuses everyone else.
"""
