"""The field app (phone entry, offline): its screens and view-models."""
