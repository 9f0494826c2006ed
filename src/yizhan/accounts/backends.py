from django.contrib.auth.backends import ModelBackend


class StaffPasswordBackend(ModelBackend):
    """Username + password for staff. Lock-out is enforced in accounts.services."""
