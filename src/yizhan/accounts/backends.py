from django.contrib.auth.backends import ModelBackend

from yizhan.accounts.services import staff_login
from yizhan.core.errors import AppError
from yizhan.core.middleware import client_ip


class StaffPasswordBackend(ModelBackend):
    """Username + password for staff, through ``accounts.services.staff_login`` so
    every password login (our page and Django admin) gets lock-out and audit rows."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get("phone") or kwargs.get(self._username_field())
        if username is None or password is None:
            return None
        try:
            user = staff_login(
                username=username, password=password, ip=client_ip(request) if request is not None else None
            )
        except AppError as exc:
            if request is not None:
                request.yizhan_login_error = exc  # the login page shows lock-out messages
            return None
        return user if self.user_can_authenticate(user) else None

    @staticmethod
    def _username_field():
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
