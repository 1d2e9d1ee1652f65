"""TicketTrak's Airflow glue: configuration from the environment and one task factory.

The DAG files stay a few lines long; everything a stage task needs (command, image, secrets,
resources, timeouts) is decided here, once, for both execution modes.
"""
