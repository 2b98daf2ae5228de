"""Work that spans domains or transactions (Netflix Dispatch's ``flows.py``): closing,
settling, planning routes, publishing. Routers call one flow; flows call domain services.

This is the only package that may import every domain.
"""
