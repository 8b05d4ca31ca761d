"""Feature caching for frozen backbones: run the frozen part once, then train only the rest.

``vc.features.cache(model, train_loader, val_loader)`` is the one call a lesson makes; the
package keeps the parts it is built from, one job each:

- ``caching``: the cached pass itself and the loaders over its stored tensors;
- ``cacheable``: where a model splits into a frozen prefix and the rest, or why it cannot;
- ``segment``: frozen layers with dropout after the prefix, run once an epoch;
- ``quantize``: int8 copies of the prefix, for a faster one-time pass on a CPU.
"""

from __future__ import annotations

from vgg_course.features.caching import Cached, CachedLoader, cache, extract

__all__ = ["Cached", "CachedLoader", "cache", "extract"]
