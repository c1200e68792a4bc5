"""Every personnel endpoint, in the one list `create_app` registers: each sub-package's controllers
name their own, this module only joins them."""

from __future__ import annotations

from typing import Any

from backend.personnel.appointments.controllers import ROUTES as appointments
from backend.personnel.dismissal.controllers import ROUTES as dismissal
from backend.personnel.dispatch.controllers import ROUTES as dispatch
from backend.personnel.people.controllers import ROUTES as people
from backend.personnel.recruitment.controllers import ROUTES as recruitment
from backend.personnel.training.controllers import ROUTES as training

ROUTES: list[Any] = [*people, *appointments, *training, *recruitment, *dismissal, *dispatch]
