"""English names of Chinese places; the function lives with the areas (`subscribers.names`),
which give the area tree its English names."""

from __future__ import annotations

from subscribers.names import english_name

__all__ = ["english_name"]
