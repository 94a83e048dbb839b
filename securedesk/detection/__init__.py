"""Detection of card numbers, national IDs and IBANs in free text (recognizers on presidio-analyzer)."""
