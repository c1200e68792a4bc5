"""Agencies, people and login: the tree of agencies, the people registered in it, tokens."""
