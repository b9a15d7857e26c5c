"""Outside providers, one package per kind (``smtp``, ``twilio``...): a client, an offline
backend (the default) and a protocol-faithful fake for tests, behind the interface in
``transports``."""
