"""What every TicketTrak stage shares: settings, logging, the CLI shell, the Aviasales models,
the RAW store and the embedded services of the laptop path."""
