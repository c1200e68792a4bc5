"""Exam recruitments (Art. 6): candidates, scores, the ranking and back-filled withdrawals."""
