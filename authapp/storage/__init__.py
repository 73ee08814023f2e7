"""The enrollment store's parts, one concern a module.

``database.Database`` is the one database object (connection, transactions, locks, the key
of the keyed checksums), handed to repositories with one concern each: ``users`` and
``loading`` (users and their artifacts), ``history`` (attempts, fingerprints, audit log),
``settings``, ``garbage``; ``seals`` are their checksums over sets of rows. ``authapp.store``
puts them together as ``EnrollmentStore``, the thin front the rest of AirAuth imports, so
that each part (schema history, file layout, transactions, garbage collection, ...) can be
read and changed on its own. Rows are read by column name (``sqlite3.Row``).
"""
