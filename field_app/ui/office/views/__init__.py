"""The console's screens, one module per group (``frame`` draws what they share).
Views only bind: the logic is in ``field_app.ui.office.viewmodels``."""
