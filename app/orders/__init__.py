"""Order cycles, offers, buyer orders, standing orders."""
