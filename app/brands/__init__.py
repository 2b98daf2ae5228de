"""Regional brands of a network: rules, licences, brand SKUs, suppliers, price tiers."""
