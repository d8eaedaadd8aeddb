"""Admin credit pages: banks and statements, grants and deductions, plans, tariffs, alerts."""
