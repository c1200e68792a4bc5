"""Qualifications and appointments, with the eligibility rules (Art. 7, 9, 11, 17, 18, 22) checked
by backend/guards/eligibility before an appointment is stored."""
