"""The demo district built from the seed articles (`yizhan demo`)."""


def logins():
    """Demo accounts for `yizhan up` to print (imported lazily: needs Django set up)."""
    from yizhan.demo.services import demo_logins

    return demo_logins()
