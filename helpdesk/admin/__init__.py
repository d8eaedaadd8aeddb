"""Admin pages: categories, users and roles, technician category permissions."""
