"""Access control: who sees and may do what. Start reading here."""
