"""The shop window: the published catalogue as buyers (and, where a network allows it, anyone)
read it, cached per worker under the catalogue's change stamp (``app/core/stamps.py``)."""
