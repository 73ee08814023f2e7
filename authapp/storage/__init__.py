"""The enrollment store's parts, one concern a module.

``authapp.store`` puts them together as ``EnrollmentStore`` and is what the rest of AirAuth
imports; these modules exist so that each part (schema history, file layout, transactions,
garbage collection, ...) can be read and changed on its own.
"""
