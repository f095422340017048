"""Printable documents of the office: inspection records, rectification notices, closure records (PDF)."""
