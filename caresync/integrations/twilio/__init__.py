"""Twilio: SMS through the official SDK (``client``), an offline backend that keeps
messages for the development SMS outbox page (``offline``), webhook signature checks
(``signature``) and a local fake of the Messages API for tests (``fake``)."""
