"""Domain services: plain arguments and an explicit actor in, flush() only; views commit."""
