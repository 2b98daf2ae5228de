"""Pure allocation, pricing and cost-sharing algorithms, and the services that run them."""
