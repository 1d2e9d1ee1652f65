"""TicketTrak stage package (see its cli.py for the command)."""
