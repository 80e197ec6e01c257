"""Patients register: filters, server-side paging and sorting, links to each patient."""

from dash import Input, Output, State

from dashboard import patients
from dashboard.auth import current_user, guarded_callback
from dashboard.patients import PatientQuery

READERS = ["admin", "doctor", "staff"]
PAGE_SIZE, MAX_PAGE_SIZE = 25, 200  # what the page asks for; what a crafted request may get
SORT_COLUMNS = {
    "link": "patient_id",
    "name": "name",
    "age": "age",
    "gender": "gender",
    "doctor": "doctor",
    "created_at": "created_at",
    "risk": "risk",
}


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def register(app, services) -> None:
    @guarded_callback(
        app,
        Output("patients-doctor", "options"),
        Output("patients-scope-col", "style"),
        Output("patients-register", "style"),
        Input("patients-table", "id"),
        roles=READERS,
    )
    def prepare(_):
        role = current_user().role
        with services.database.transaction() as db:
            names = patients.doctor_names(db)
        options = [
            {"label": name, "value": doctor_id}
            for doctor_id, name in sorted(names.items(), key=lambda x: x[1])
        ]
        scope_style = {} if role == "doctor" else {"display": "none"}
        register_style = {} if role in ("staff", "admin") else {"display": "none"}
        return options, scope_style, register_style

    @guarded_callback(
        app,
        Output("patients-table", "data"),
        Output("patients-table", "page_count"),
        Output("patients-total", "children"),
        Input("patients-scope", "value"),
        Input("patients-search", "value"),
        Input("patients-doctor", "value"),
        Input("patients-age-min", "value"),
        Input("patients-age-max", "value"),
        Input("patients-risk", "value"),
        Input("patients-table", "page_current"),
        Input("patients-table", "sort_by"),
        State("patients-table", "page_size"),
        roles=READERS,
    )
    def show_page(scope, search, doctor_id, age_min, age_max, risk, page, sort_by, page_size):
        sort = (sort_by or [{"column_id": "created_at", "direction": "desc"}])[0]
        page_size = min(max(_int_or_none(page_size) or PAGE_SIZE, 1), MAX_PAGE_SIZE)
        page = max(_int_or_none(page) or 0, 0)
        query = PatientQuery(
            scope="all" if scope == "all" else "mine",
            search=(search or "")[:45],
            doctor_id=doctor_id or None,
            age_min=_int_or_none(age_min),
            age_max=_int_or_none(age_max),
            risk_level=risk or None,
            sort_by=SORT_COLUMNS.get(sort.get("column_id"), "created_at"),
            descending=sort.get("direction") == "desc",
            offset=page * page_size,
            limit=page_size,
        )
        actor = current_user().actor()
        with services.database.transaction() as db:
            result = patients.list_patients(db, actor, query)
        suffix = "?via=all" if actor.role == "doctor" and query.scope == "all" else ""
        for row in result.rows:
            row["link"] = f"[{row['patient_id']}](/patient/{row['patient_id']}{suffix})"
        pages = max(1, -(-result.total // page_size))
        return result.rows, pages, f"{result.total} patients"
