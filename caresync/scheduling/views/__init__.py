"""Scheduling pages, one module per area. Every page reads through the scheduling and
directory selectors and writes through the booking services: the API and these pages share
one path."""
