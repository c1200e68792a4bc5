"""The end of a working life (Art. 25, 26, 27): dismissals, public notices, equipment checklists,
lapsed terms and misconduct records."""
