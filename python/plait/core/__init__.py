"""The runtime: event loop, services, endpoints, transports, cred and plugins."""
