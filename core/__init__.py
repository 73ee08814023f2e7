"""What every layer shares and none owns: the product's error types and its atomic file write.

It sits below ``capture`` (data flows core -> capture -> models -> authapp) and imports
nothing from the project, so that recordings, models, the store and reports all use one
definition of an error a user can cause and one all-or-nothing write.
"""
