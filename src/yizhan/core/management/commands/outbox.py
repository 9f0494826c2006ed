"""``yizhan outbox``: outbound notifications by channel and state; deliver or requeue."""

from django.core.management.base import BaseCommand

from yizhan.core import outbox


class Command(BaseCommand):
    help = "Outbound notifications: counts by channel and state; --deliver sends what is due now; " \
           "--retry-dead requeues dead ones. 外发通知：统计、立即发送、重发失败。"

    def add_arguments(self, parser):
        parser.add_argument("--deliver", action="store_true", help="send the due messages now")
        parser.add_argument("--retry-dead", action="store_true", help="requeue every dead message")

    def handle(self, *args, **options):
        if options["retry_dead"]:
            self.stdout.write(f"requeued {outbox.outbound_retry(actor=None)}")
        if options["deliver"]:
            done = outbox.outbound_deliver_due()
            self.stdout.write("delivered: " + (", ".join(f"{k} {v}" for k, v in sorted(done.items())) or "nothing due"))
        counts = outbox.outbound_counts()
        if not counts:
            self.stdout.write("outbox empty")
        for channel, states in counts.items():
            self.stdout.write(f"{channel:<8} " + "  ".join(f"{s} {n}" for s, n in sorted(states.items())))
