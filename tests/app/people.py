"""A project with people in it, for page tests: made in one metadata session."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import accounts
from models.access import Principal
from models.tables import Organisation, Project, ProjectMember, Role


def project_with(session: Session, name: str, roles: dict[str, Role]) -> dict[str, Principal]:
    """Project ``name`` with an account ``<person>@plant.example`` per person of ``roles``,
    each with their role in it; committed. Returns each person as a principal."""
    project = Project(organisation=Organisation(name="Plant"), name=name)
    session.add(project)
    people = {}
    for person, role in roles.items():
        user = accounts.create_user(session=session, email=f"{person}@plant.example", password=None)
        session.add(ProjectMember(project=project, user=user, role=role))
        session.flush()
        people[person] = Principal(user.email, user.id)
    session.commit()
    return people
