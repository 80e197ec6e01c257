"""The behaviour of each page, one module per page (same names as pages/).

Each module has `register(app, services)`, which adds its callbacks with
`dashboard.auth.guarded_callback` and the roles allowed to call them.
"""

from callbacks import (
    account,
    admin_audit,
    admin_monitoring,
    admin_users,
    analysis,
    ecg_viewer,
    home,
    monitor_bed,
    monitor_wall,
    patient,
    patient_edit,
    patient_register,
    patient_risk,
    patients,
    report,
    report_compare,
    reports,
)

PAGE_CALLBACKS = (
    home,
    account,
    admin_users,
    admin_audit,
    patients,
    patient,
    patient_register,
    patient_edit,
    patient_risk,
    ecg_viewer,
    analysis,
    reports,
    report,
    report_compare,
    monitor_wall,
    monitor_bed,
    admin_monitoring,
)


def register_all(app, services) -> None:
    for module in PAGE_CALLBACKS:
        module.register(app, services)
