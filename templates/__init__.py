"""The words of a warning on each channel: Jinja2 templates per channel, hazard and locale.

Rendering is pure and happens once per (version, channel, locale, group set), never per
person. Template files live in templates/text/<channel>/<locale>/<hazard or default>.j2.
"""
