"""Delivery to large audiences: the nginx caching edge that makes audience size cost the origin
O(1) (``edge``), running one (``nginx``), and a lean LL-HLS listener to prove it (``listener``).
"""
