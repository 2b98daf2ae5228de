"""Product sheets (fichas de producto), categories, certifications, images, versions."""
