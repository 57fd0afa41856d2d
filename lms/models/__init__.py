"""All tables, one module per area. Importing this package registers them on Base.metadata."""
from lms.models.people import Invite, Membership, Organisation, Role, Team, User

__all__ = ["Invite", "Membership", "Organisation", "Role", "Team", "User"]
