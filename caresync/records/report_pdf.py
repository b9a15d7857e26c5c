"""The radiology report as a PDF, drawn by CareSync with reportlab: the organization's
letterhead, the patient's identifiers, the report's sections, who reported and reviewed it
and when, its version, and "Page x of y" on every page."""

import io
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from PIL import Image as PILImage
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as pdf_canvas
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

SECTIONS = (
    ("clinical_indication", "Clinical indication"),
    ("technique", "Technique"),
    ("comparison", "Comparison"),
    ("findings", "Findings"),
    ("impression", "Impression"),
    ("recommendations", "Recommendations"),
)


class _NumberedCanvas(pdf_canvas.Canvas):
    """Holds pages back until the end so each footer can say "Page x of y"."""

    footer = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = []

    def showPage(self):  # noqa: N802 (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(colors.grey)
            self.drawString(18 * mm, 10 * mm, self.footer)
            self.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {self._pageNumber} of {total}")
            super().showPage()
        super().save()


def _text(value: str) -> str:
    """Plain text as a reportlab paragraph (escaped, line breaks kept)."""
    return escape(value or "").replace("\n", "<br/>")


def _when(value, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%d %b %Y %H:%M %Z") if value else "—"


IMAGE_BOX = (150 * mm, 110 * mm)
EMBEDDED_KINDS = ("png", "jpeg")


def _image_flowable(attachment) -> Image | None:
    """A PNG or JPEG attachment scaled to fit the image box, or None if it cannot be read."""
    try:
        with attachment.file.open("rb") as stored:
            data = stored.read()
        with PILImage.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except (OSError, PILImage.DecompressionBombError):
        return None
    if not width or not height:
        return None
    # At most one point per pixel (72 dpi): small images are not blown up.
    scale = min(IMAGE_BOX[0] / width, IMAGE_BOX[1] / height, 1.0)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale)


def _images_section(report, heading, small) -> list:
    """The report's images embedded (PNG, JPEG) and its other files listed by name."""
    files = list(report.attachments.filter(retracted_at__isnull=True).order_by("uploaded_at", "id"))
    if not files:
        return []
    story = [Paragraph("Images and attachments", heading)]
    for number, attachment in enumerate(files, start=1):
        label = f"{number}. {attachment.original_name} ({attachment.get_kind_display()})"
        if attachment.description:
            label += f" — {attachment.description}"
        caption = Paragraph(_text(label), small)
        image = _image_flowable(attachment) if attachment.kind in EMBEDDED_KINDS else None
        if image is not None:
            story.append(KeepTogether([image, Spacer(1, 1 * mm), caption, Spacer(1, 3 * mm)]))
        else:
            story.append(caption)
    return story


def report_pdf_bytes(report) -> bytes:
    """The report's PDF (uncompressed pages, so its text can be searched)."""
    organization = report.organization
    patient = report.patient
    zone = ZoneInfo(organization.time_zone or "UTC")
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8.5, leading=11)
    heading = ParagraphStyle("section", parent=styles["Heading3"], spaceBefore=8, spaceAfter=2)
    story = []

    contact = " · ".join(
        part for part in (organization.phone, organization.email, organization.website) if part
    )
    story.append(Paragraph(_text(organization.name), styles["Title"]))
    if organization.address:
        story.append(Paragraph(_text(organization.address), small))
    if contact:
        story.append(Paragraph(_text(contact), small))
    story.append(Spacer(1, 4 * mm))
    title = f"{report.get_modality_display() or 'Radiology'} report · Version {report.version}"
    story.append(Paragraph(_text(title), styles["Heading2"]))

    appointment = report.appointment
    referrer = str(report.referring_doctor) if report.referring_doctor else ""
    rows = [
        ["Patient", patient.display_name, "MRN", patient.mrn],
        [
            "Date of birth",
            patient.date_of_birth.strftime("%d %b %Y"),
            "Sex",
            patient.get_sex_display(),
        ],
        ["Examination", appointment.service.name, "Scan date", _when(appointment.start, zone)],
        [
            "Referring doctor",
            referrer or report.referring_doctor_name or "—",
            "Status",
            report.get_status_display(),
        ],
    ]
    table = Table(rows, colWidths=[32 * mm, 58 * mm, 25 * mm, 55 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 9),
                ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
                ("INNERGRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)

    for field, label in SECTIONS:
        value = getattr(report, field)
        if value:
            story.append(Paragraph(label, heading))
            story.append(Paragraph(_text(value), styles["Normal"]))

    story.extend(_images_section(report, heading, small))

    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph("Signatures", heading))
    if report.radiologist_id:
        story.append(
            Paragraph(
                _text(f"Reported by {report.radiologist} — {_when(report.completed_at, zone)}"),
                styles["Normal"],
            )
        )
    if report.reviewer_id:
        story.append(
            Paragraph(
                _text(f"Reviewed by {report.reviewer} — {_when(report.reviewed_at, zone)}"),
                styles["Normal"],
            )
        )
    if report.amended_at:
        story.append(
            Paragraph(
                _text(f"Amended (version {report.version}) — {_when(report.amended_at, zone)}"),
                styles["Normal"],
            )
        )

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=organization.name,
        pageCompression=0,
    )

    class Canvas(_NumberedCanvas):
        footer = f"{organization.name} · {patient.display_name} ({patient.mrn}) · " + (
            f"Version {report.version}"
        )

    document.build(story, canvasmaker=Canvas)
    return buffer.getvalue()
