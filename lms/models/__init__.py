"""All tables, one module per area. Importing this package registers them on Base.metadata."""
from lms.models.certificates import Certificate, CertificateBatch
from lms.models.learning import Completion, LessonProgress, QuizAttempt, TranslationReview
from lms.models.people import Invite, Membership, Organisation, Role, Team, User

__all__ = ["Certificate", "CertificateBatch", "Completion", "Invite", "LessonProgress", "Membership", "Organisation", "QuizAttempt", "Role", "Team", "TranslationReview", "User"]
