"""Datasets: embedded (digits, vowels) and procedurally generated; nothing downloads."""
