"""Demo clinical records: note templates per service, and for completed visits SOAP notes,
phone-call notes, medical records (ICD-10, medications), one amendment, one retraction, a
pinned allergy note, a referral letter and a PDF result; radiology reports of past scans
in every status with their PDFs. Idempotent (skipped once an organization has any note or
report)."""

import random

from django.core.files.uploadedfile import SimpleUploadedFile

from caresync.accounts.models import Organization
from caresync.directory.models import Service
from caresync.records.models import ClinicalNote, NoteTemplate
from caresync.records.services import (
    attachment_upload,
    clinical_note_create,
    clinical_note_retract,
    medical_record_create,
    medical_record_update,
    note_template_save,
)
from caresync.scheduling.models import Appointment

TEMPLATES = {
    "GP consultation (15 min)": {
        "name": "Short GP consultation",
        "note_type": "soap",
        "subjective": "<p>Presenting complaint: </p><p>History: </p>",
        "objective": "<p>BP: &nbsp; HR: &nbsp; Temp: </p><p>Examination: </p>",
        "assessment": "<p>Impression: </p>",
        "plan": "<p>Management: </p><p>Follow-up: </p>",
    },
    "GP consultation (30 min)": {
        "name": "Long GP consultation",
        "note_type": "soap",
        "subjective": "<p>Presenting complaint: </p><p>History of presenting complaint: </p>"
        "<p>Medications and allergies reviewed: </p>",
        "objective": "<p>BP: &nbsp; HR: &nbsp; SpO2: &nbsp; Weight: </p><p>Examination: </p>",
        "assessment": "<p>Problems: </p>",
        "plan": "<ul><li>Investigations: </li><li>Treatment: </li><li>Follow-up: </li></ul>",
    },
    "Nurse phone call": {
        "name": "Nurse check-in call",
        "note_type": "phone_call",
        "body": "<p><strong>Reason for call:</strong> </p><p><strong>Readings reported:"
        "</strong> </p><p><strong>Advice given:</strong> </p><p><strong>Escalate to GP:"
        "</strong> no</p>",
    },
}

# (ICD-10 code, treatment, medications, SOAP: subjective, objective, assessment, plan)
CASES = [
    (
        "J45.9",
        "Step up to a preventer inhaler; asthma action plan given.",
        [("Budesonide/formoterol", "200/6 mcg, 1 puff", "inhaled", "twice daily")],
        "Night-time cough and wheeze 3 nights a week; reliever used daily.",
        "Chest: scattered expiratory wheeze. Peak flow 380 L/min (78% predicted).",
        "Asthma, not well controlled.",
        "Start preventer. Review inhaler technique with the nurse. Review in 4 weeks.",
    ),
    (
        "I10",
        "Lifestyle advice; start an ACE inhibitor.",
        [("Perindopril", "5 mg", "oral", "once daily")],
        "Home readings around 150/95 for a month. No chest pain or headaches.",
        "BP 152/96 (repeat 148/94). HR 76 regular. BMI 29.",
        "Essential hypertension.",
        "Start perindopril. Bloods for kidney function in 2 weeks. Home BP diary.",
    ),
    (
        "E11.9",
        "Metformin titration; dietitian referral.",
        [("Metformin", "500 mg", "oral", "twice daily with meals")],
        "Tired and thirsty for two months. Family history of diabetes.",
        "HbA1c 7.8%. Feet: sensation intact, pulses present.",
        "Type 2 diabetes, newly diagnosed.",
        "Start metformin. Diabetes education. Eye check booked. Review in 3 months.",
    ),
    (
        "M54.5",
        "Simple analgesia, stay active, physiotherapy.",
        [("Paracetamol", "1 g", "oral", "four times daily as needed")],
        "Lower back pain after lifting at work 5 days ago. No leg weakness or numbness.",
        "Paraspinal tenderness L4–L5. Straight-leg raise negative. Neuro intact.",
        "Mechanical low back pain; no red flags.",
        "Analgesia, keep moving, physio referral. Return if leg symptoms or fever.",
    ),
    (
        "J06.9",
        "Symptomatic treatment.",
        [],
        "Sore throat, runny nose and mild fever for 3 days.",
        "Temp 37.8 °C. Throat mildly red, no exudate. Chest clear.",
        "Viral upper respiratory tract infection.",
        "Fluids, rest, paracetamol. No antibiotics needed. Return if worse after 7 days.",
    ),
]


def demo_pdf(lines: list[str]) -> bytes:
    """A small, valid one-page PDF showing ``lines`` (a demo lab result)."""
    text = "BT /F1 12 Tf 72 760 Td 16 TL " + " ".join(
        "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
        for line in lines
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s ET\nendstream" % (len(text) + 3, text.encode("latin-1")),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _templates(organization: Organization) -> None:
    for service in Service.objects.filter(organization=organization, name__in=TEMPLATES):
        if NoteTemplate.objects.filter(organization=organization, service=service).exists():
            continue
        note_template_save(
            actor=None, organization=organization, service=service, **TEMPLATES[service.name]
        )


def _visits(organization: Organization):
    return (
        Appointment.objects.filter(
            organization=organization,
            status=Appointment.Status.COMPLETED,
            service__category__in=[
                Service.Category.IN_PERSON,
                Service.Category.VIDEO,
                Service.Category.PHONE,
                Service.Category.FOLLOW_UP,
            ],
        )
        .select_related("patient", "practitioner__user", "service")
        .order_by("start")
    )


def _document(visit: Appointment, case, rng: random.Random):
    author = visit.practitioner
    actor = author.user
    if visit.service.category == Service.Category.PHONE:
        clinical_note_create(
            actor=actor,
            patient=visit.patient,
            author=author,
            appointment=visit,
            note_type="phone_call",
            title="Nurse check-in call",
            body=f"<p><strong>Reason for call:</strong> routine check-in.</p>"
            f"<p><strong>Readings reported:</strong> BP {rng.randint(118, 146)}/"
            f"{rng.randint(72, 92)}, feeling well.</p><p><strong>Advice given:</strong> "
            "continue current medicines; call if dizzy or unwell.</p>",
        )
        return None
    code, treatment, medications, subjective, objective, assessment, plan = case
    clinical_note_create(
        actor=actor,
        patient=visit.patient,
        author=author,
        appointment=visit,
        note_type="soap",
        title=visit.service.name,
        subjective=subjective,
        objective=objective,
        assessment=assessment,
        plan=plan,
    )
    if author.kind != "doctor":
        return None
    start = visit.start.date()
    record = medical_record_create(
        actor=actor,
        patient=visit.patient,
        practitioner=author,
        appointment=visit,
        diagnosis_code=code,
        treatment=treatment,
        medications=[
            {"name": n, "dose": d, "route": r, "frequency": f, "start": start}
            for n, d, r, f in medications
        ],
        notes=plan,
        finalize=True,
    )
    return record


def _amend_and_attach(records) -> None:
    """The first record gets a PDF result; the second an amendment with a reason."""
    if records:
        record = records[0]
        patient = record.patient
        attachment_upload(
            actor=record.practitioner.user,
            patient=patient,
            record=record,
            description="Pathology result",
            upload=SimpleUploadedFile(
                "pathology-result.pdf",
                demo_pdf(
                    [
                        "Pathology result",
                        f"Patient: {patient.display_name} ({patient.mrn})",
                        "HbA1c: 7.8 % (reference < 6.5 %)",
                        "Fasting glucose: 8.9 mmol/L",
                    ]
                ),
            ),
        )
    if len(records) > 1:
        record = records[1]
        medical_record_update(
            actor=record.practitioner.user,
            record=record,
            reason="Treatment plan changed after the follow-up results",
            treatment=record.treatment + " Reviewed: continue and recheck in 6 weeks.",
        )


def seed(log) -> list:
    rng = random.Random(11)  # noqa: S311 - demo data, reproducible
    for organization in Organization.objects.filter(slug__in=["harbour-health", "himalaya-care"]):
        _templates(organization)
        if ClinicalNote.objects.filter(organization=organization).exists():
            continue
        visits = list(_visits(organization)[:24])
        records = [
            _document(visit, CASES[index % len(CASES)], rng) for index, visit in enumerate(visits)
        ]
        _amend_and_attach([record for record in records if record is not None])
        doctors_visits = [v for v in visits if v.practitioner.kind == "doctor"]
        if doctors_visits:
            first = doctors_visits[0]
            clinical_note_create(
                actor=first.practitioner.user,
                patient=first.patient,
                author=first.practitioner,
                note_type="admin",
                title="Allergy confirmed",
                body="<p><strong>Penicillin allergy</strong> (rash, 2019) confirmed with the "
                "patient. Avoid penicillins; cephalosporins tolerated.</p>",
                pinned=True,
            )
            clinical_note_create(
                actor=first.practitioner.user,
                patient=first.patient,
                author=first.practitioner,
                appointment=first,
                note_type="referral_letter",
                title="Referral to respiratory clinic",
                recipient="Respiratory Clinic, City Hospital",
                body="<p>Dear colleague,</p><p>Thank you for seeing "
                f"{first.patient.display_name}, who has asthma that remains poorly controlled "
                "despite a preventer inhaler. Spirometry and your advice on step-up therapy "
                "would be appreciated.</p><p>Kind regards,</p>",
            )
            mistaken = clinical_note_create(
                actor=first.practitioner.user,
                patient=first.patient,
                author=first.practitioner,
                body="<p>Blood results discussed.</p>",
            )
            clinical_note_retract(
                actor=first.practitioner.user,
                note=mistaken,
                reason="Written in the wrong patient's chart",
            )
        notes = ClinicalNote.objects.filter(organization=organization).count()
        log(f"{organization.name}: {notes} clinical notes and their records")
    for organization in Organization.objects.filter(slug__in=["harbour-health", "himalaya-care"]):
        seed_radiology(organization, log)
    return []


# (clinical indication, technique, findings, impression, recommendations)
RADIOLOGY_CASES = [
    (
        "Right knee pain after a twisting injury; locking.",
        "Sagittal, coronal and axial PD fat-saturated and T1 sequences, 3 T.",
        "Oblique tear of the posterior horn of the medial meniscus reaching the inferior "
        "articular surface. Cruciate and collateral ligaments intact. Small joint effusion.",
        "Medial meniscal tear.",
        "Orthopaedic referral.",
    ),
    (
        "Cough for 3 weeks, ex-smoker.",
        "PA and lateral chest radiographs.",
        "Lungs clear. No focal consolidation, effusion or pneumothorax. Heart size normal.",
        "No acute cardiopulmonary abnormality.",
        "",
    ),
    (
        "Right upper quadrant pain after meals.",
        "Transabdominal ultrasound, fasting.",
        "Several mobile gallstones up to 12 mm; gallbladder wall 2 mm; no pericholecystic "
        "fluid. Common bile duct 4 mm.",
        "Cholelithiasis without cholecystitis.",
        "Surgical review if symptoms continue.",
    ),
]


def demo_scan_png(seed: int, size: int = 256) -> bytes:
    """A made-up greyscale "scan" (soft-tissue ellipse, a brighter structure, noise), as a
    PNG key image for the demo reports."""
    import io

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)  # noqa: S311 (made-up pixels, not secrets)
    image = Image.new("L", (size, size), 12)
    draw = ImageDraw.Draw(image)
    draw.ellipse((24, 40, size - 24, size - 30), fill=70)
    x, y = rng.randint(80, 140), rng.randint(80, 140)
    draw.ellipse((x, y, x + 60, y + 40), fill=170)
    draw.rectangle((size // 2 - 6, 30, size // 2 + 6, size - 30), fill=210)
    for _ in range(600):
        px, py = rng.randrange(size), rng.randrange(size)
        image.putpixel((px, py), min(255, image.getpixel((px, py)) + rng.randint(0, 40)))
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(1.2)).save(buffer, format="PNG")
    return buffer.getvalue()


def seed_radiology(organization: Organization, log) -> None:
    """Radiology reports for past scans in every status (pending, in progress, completed,
    reviewed, one amended), each taken one with a key image (PNG), completed ones with their
    PDFs (the image embedded). Skipped once any exists."""
    from django.utils import timezone

    from caresync.directory.models import Practitioner
    from caresync.records.models import RadiologyReport
    from caresync.records.radiology import (
        radiology_report_amend,
        radiology_report_complete,
        radiology_report_create,
        radiology_report_review,
        radiology_report_save,
        radiology_report_start,
    )

    if RadiologyReport.objects.filter(organization=organization).exists():
        return
    radiologists = list(
        Practitioner.objects.filter(organization=organization, kind="radiologist", is_active=True)
    )
    doctors = list(Practitioner.objects.filter(organization=organization, kind="doctor"))
    scans = list(
        Appointment.objects.filter(
            organization=organization,
            service__category=Service.Category.RADIOLOGY,
            start__lt=timezone.now(),
        )
        .exclude(status__in=["cancelled", "rejected", "no_show"])
        .select_related("service", "patient")
        .order_by("start")[:10]
    )
    # Patients with a portal login first, so "My reports" has a signed report to show.
    scans.sort(key=lambda scan: scan.patient.user_id is None)
    if not radiologists or not scans:
        log(f"{organization.name}: no past radiology scans to report")
        return
    author = radiologists[0]
    reviewer = radiologists[1] if len(radiologists) > 1 else (doctors[0] if doctors else None)
    for index, scan in enumerate(scans):
        indication, technique, findings, impression, advice = RADIOLOGY_CASES[
            index % len(RADIOLOGY_CASES)
        ]
        report = radiology_report_create(
            actor=None,
            appointment=scan,
            referring_doctor=doctors[index % len(doctors)] if doctors else None,
            clinical_indication=indication,
        )
        stage = (index + 2) % 5  # 0 pending, 1 in progress, 2 completed, 3 reviewed, 4 amended
        if stage == 0:
            continue
        user = author.user
        report = radiology_report_start(actor=user, report=report, radiologist=author)
        attachment_upload(
            actor=user,
            patient=scan.patient,
            upload=SimpleUploadedFile(f"key-image-{report.pk}.png", demo_scan_png(index)),
            radiology_report=report,
            description=f"{scan.service.name}: key image",
        )
        if stage == 1:
            radiology_report_save(
                actor=user, report=report, radiologist=author, technique=technique
            )
            continue
        report = radiology_report_complete(
            actor=user,
            report=report,
            radiologist=author,
            technique=technique,
            findings=findings,
            impression=impression,
            recommendations=advice,
        )
        if stage == 3 and reviewer is not None:
            radiology_report_review(actor=reviewer.user, report=report, reviewer=reviewer)
        if stage == 4:
            radiology_report_amend(
                actor=user,
                report=report,
                radiologist=author,
                reason="Comparison with the previous study added",
                comparison="Previous study of 12 months ago: unchanged.",
            )
    log(f"{organization.name}: {len(scans)} radiology reports")
