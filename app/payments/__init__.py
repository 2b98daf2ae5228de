"""Payment providers: Stripe card, invoice on terms, cash on delivery."""
