"""Incoming updates: stored durably before Telegram is told they arrived, then handled."""
