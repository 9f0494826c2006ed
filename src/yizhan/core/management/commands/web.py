import os

from django.conf import settings
from django.core.management.base import BaseCommand


def uvicorn_options() -> dict:
    """Proxy headers (X-Forwarded-For/-Proto) are believed only from the addresses in
    ``YIZHAN_TRUSTED_PROXIES``; with none set (the default) the client address is the
    peer's, so nobody can pick the IP that the audit log and the per-IP limits see."""
    trusted = list(getattr(settings, "YIZHAN_TRUSTED_PROXIES", []))
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted)}


class Command(BaseCommand):
    help = "Serve the site and API with uvicorn (ASGI). 启动网站与接口服务。"

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("YIZHAN_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("YIZHAN_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("YIZHAN_WEB_WORKERS", "1")))

    def handle(self, *args, **options):
        import uvicorn

        uvicorn.run(
            "yizhan.config.asgi:application", host=options["host"], port=options["port"],
            workers=options["workers"], log_level="info", **uvicorn_options(),
        )
