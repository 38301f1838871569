"""dongo's storage backends: the Backend protocol and its implementations."""
