"""Many nodes, one deployment: media nodes hold leases in a registry; each live Space is placed
on one of them. See ``protocol.py`` for the seams and docs/architecture.md "Placement"."""
