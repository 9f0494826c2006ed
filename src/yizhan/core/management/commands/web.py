import os

from django.core.management.base import BaseCommand


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
            workers=options["workers"], proxy_headers=True, log_level="info",
        )
