from django.db import models


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    CONFIRMED = "confirmed", "Confirmed"
    ACCOUNT_CLOSED = "account_closed", "Account closed"
    APPEAL_REVIEW = "appeal_review", "Appeal review"
    REINSTATED = "reinstated", "Reinstated"
    REFERRAL_PENDING = "referral_pending", "Referral pending"
    REFERRED = "referred", "Referred"


# The transitions of DESIGN.md, by the name the API takes.
TRANSITIONS = (
    "confirm",
    "dismiss",
    "close_account",
    "file_appeal",
    "grant_appeal",
    "deny_appeal",
    "expire_appeal_window",
    "refer",
    "reinstate_after_referral",
)


class ReportReason(models.TextChoices):
    COUNTERFEIT = "counterfeit", "Counterfeit goods"
    TRADEMARK_MISUSE = "trademark_misuse", "Trademark misuse"
    UNAUTHORISED_SELLER = "unauthorised_seller", "Unauthorised seller of genuine goods"
    LINKED_TO_CLOSED_SELLER = "linked_to_closed_seller", "Linked to a closed seller"


class ReportStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    IN_REVIEW = "in_review", "In review"
    CASE_OPENED = "case_opened", "Case opened"
    ACTION_TAKEN = "action_taken", "Action taken"
    REJECTED = "rejected", "Rejected as unfounded"


class EvidenceKind(models.TextChoices):
    TEST_BUY = "test_buy", "Test-buy receipt"
    PHOTO = "photo", "Photo of the fake next to the genuine"
    LAB_REPORT = "lab_report", "Lab report"
    SCREENSHOT = "screenshot", "Listing screenshot"
    DOCUMENT = "document", "Other document"


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class ActorRole(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    REVIEWER = "reviewer", "Appeal reviewer"
    SYSTEM = "system", "System"
    SELLER = "seller", "Seller"
    BRAND_OWNER = "brand_owner", "Brand owner"


class NoticeKind(models.TextChoices):
    STATEMENT_OF_REASONS = "statement_of_reasons", "Statement of reasons"
    APPEAL_OUTCOME = "appeal_outcome", "Appeal outcome"
    REPORT_STATUS = "report_status", "Report status"
    INTAKE_WARNING = "intake_warning", "Intake warning"
    INTAKE_SUSPENSION = "intake_suspension", "Intake suspension"


class IntakeMeasureKind(models.TextChoices):
    WARNING = "warning", "Warning"
    SUSPENSION = "suspension", "Intake suspended"


class TrademarkOffice(models.TextChoices):
    USPTO = "USPTO", "USPTO (United States)"
    EUIPO = "EUIPO", "EUIPO (European Union)"
    UKIPO = "UKIPO", "UKIPO (United Kingdom)"
    WIPO = "WIPO", "WIPO (international registration)"
    DPMA = "DPMA", "DPMA (Germany)"
    INPI = "INPI", "INPI (France)"
    JPO = "JPO", "JPO (Japan)"
    CNIPA = "CNIPA", "CNIPA (China)"
    OTHER = "OTHER", "Other office"
