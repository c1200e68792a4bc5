"""Personnel: agencies and people (people/), appointments and their eligibility (appointments/),
training (training/), recruitment (recruitment/), dismissal and misconduct (dismissal/) and Art. 16
dispatch (dispatch/). Each sub-package has the standard file names; `models.py` holds the tables
they share; `routes.py` joins their endpoints for `create_app`."""
