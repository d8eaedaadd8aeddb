"""Admin pages: categories, users and roles, organizations, technician category permissions."""
