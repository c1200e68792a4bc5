"""inspections"""
