"""Many nodes, one deployment: media nodes hold leases in a registry; each live Space is placed
on one of them. The seams are in ``majlis.seams.nodes`` and ``majlis.seams.placement``; this
package holds what a node does with them (heartbeat, load, ownership). See docs/architecture.md
"Placement"."""
