"""Notifications: notices for staff about the invitations they sent (services), the
Notifications button and list (routes)."""
