"""The office console (劳保所 and leaders, at a desk, online): its own Flet
entry (``office-console``), login and typed client of the office API. It
shares the kit with the field app and imports nothing of it."""
