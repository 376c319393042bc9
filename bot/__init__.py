"""Sanad: the composition root, settings, i18n and the domain services of the bot."""
