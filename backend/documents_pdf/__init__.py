"""Printed inspection documents: the A4 PDF form, its PAdES seal by the issuing agency, the
deployment's seal certificate authority, and the public page's tokens."""
