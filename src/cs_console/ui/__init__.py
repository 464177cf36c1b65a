"""The Textual interface. Imports nothing heavy at module scope: start-up speed."""
