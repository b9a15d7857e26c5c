from django.urls import path

from caresync.records import radiology_views, settings_views, views

urlpatterns = [
    path("patients/<int:pk>/notes/new/", views.note_new, name="note-create"),
    path("patients/<int:pk>/records/new/", views.record_new, name="medical-record-create"),
    path("patients/<int:pk>/break-glass/", views.break_glass_page, name="patient-break-glass-open"),
    path("notes/<int:pk>/edit/", views.note_edit, name="note-edit"),
    path("notes/<int:pk>/history/", views.note_history, name="note-history"),
    path("notes/<int:pk>/retract/", views.note_retract, name="note-retract"),
    path("notes/<int:pk>/pin/", views.note_pin, name="note-pin-page"),
    path("notes/<int:pk>/sign/", views.note_sign, name="note-sign-page"),
    path("records/<int:pk>/edit/", views.record_edit, name="medical-record-edit"),
    path("records/<int:pk>/history/", views.record_history, name="medical-record-history"),
    path("records/<int:pk>/retract/", views.record_retract, name="medical-record-retract"),
    path("records/<int:pk>/sign/", views.record_sign, name="medical-record-sign"),
    path("files/<int:pk>/download/", views.attachment_download, name="attachment-download-page"),
    path("radiology/", radiology_views.worklist, name="radiology-worklist"),
    path(
        "radiology/scans/<int:appointment_pk>/report/",
        radiology_views.report_open,
        name="radiology-report-open",
    ),
    path("radiology/reports/<int:pk>/", radiology_views.report_editor, name="radiology-report"),
    path(
        "radiology/reports/<int:pk>/pdf/", radiology_views.report_pdf, name="radiology-report-pdf"
    ),
    path(
        "radiology/reports/<int:pk>/files/",
        radiology_views.report_attach,
        name="radiology-report-attach",
    ),
    path("my-reports/", radiology_views.my_reports, name="my-reports"),
    path("settings/note-templates/", settings_views.note_templates, name="note-template-settings"),
    path(
        "settings/note-templates/new/",
        settings_views.note_template_edit,
        name="note-template-create",
    ),
    path(
        "settings/note-templates/<int:pk>/",
        settings_views.note_template_edit,
        name="note-template-edit",
    ),
    path(
        "settings/note-templates/<int:pk>/deactivate/",
        settings_views.note_template_deactivate_page,
        name="note-template-deactivate",
    ),
    path(
        "settings/clinical-access/",
        settings_views.clinical_access,
        name="clinical-access-settings",
    ),
    path(
        "settings/clinical-access/<int:pk>/revoke/",
        settings_views.clinical_access_revoke_page,
        name="clinical-access-revoke",
    ),
]
