"""All tables, one module per area. Importing this package registers them on Base.metadata."""
from lms.models.audit import AuditEvent
from lms.models.certificates import Certificate
from lms.models.interop import LtiAccount, LtiGradeLink, LtiLaunchValue, LtiPlatform, LtiScore, LtiToolKey, XapiStatement
from lms.models.jobs import Job
from lms.models.learning import Completion, GuestLearner, LessonProgress, QuizAttempt, TranslationReview
from lms.models.people import ChampionedTeam, Invite, Membership, Organisation, Role, Team, User
from lms.models.training import CourseOffering, Reminder, TrainingRequirement
from lms.models.workshops import Attendance, EvaluationResponse, Workshop

__all__ = ["Attendance", "AuditEvent", "Certificate", "ChampionedTeam", "Completion", "CourseOffering", "EvaluationResponse", "GuestLearner", "Invite", "Job", "LessonProgress", "LtiAccount", "LtiGradeLink", "LtiLaunchValue", "LtiPlatform", "LtiScore", "LtiToolKey", "Membership", "Organisation", "QuizAttempt", "Reminder", "Role", "Team", "TrainingRequirement", "TranslationReview", "User", "Workshop", "XapiStatement"]
