"""Public pages, for anyone and without a login: the origin page behind every label's QR code."""
