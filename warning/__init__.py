"""The warning domain: hazards, grades, the release workflow, permissions, audit and CAP.

Pure logic: nothing here does I/O. Clock values and sequence numbers are passed in.
"""
