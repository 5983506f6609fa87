"""Helpers of the alert tests: a definition with alerts on, the CRM's sla-sync tasks, a local
HTTP receiver for apprise's ``json://`` notifications."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sla_sync.definitions import SlaSyncConfig, load_config_text
from tests.pipeline.support import CONFIG_FILE, Portal

BREACH_ENV = "SLA_SYNC_TEST_NOTIFY_BREACH_DESK"
HEAD_ENV = "SLA_SYNC_TEST_NOTIFY_SALES_NA_HEAD"


def alerts_config(hubspot_url: str, *, tasks: bool = True) -> SlaSyncConfig:
    """The pipeline tests' definition with escalation after 4 business hours and alerts on the
    ``na`` agreement (breaches to ``breach-desk``, escalations to ``sales-na-head``)."""
    text = CONFIG_FILE.read_text(encoding="utf-8").replace("http://127.0.0.1:9", hubspot_url)
    clock = "        warn_at: [75%]\n"
    assert text.count(clock) == 1
    text = text.replace(clock, clock + "        escalate_after: 4 business_hours\n")
    consequences = "    consequences:\n"
    first = text.index(consequences)
    alerts = (
        f"    alerts:\n      tasks: {'true' if tasks else 'false'}\n"
        "      breaches_to: [breach-desk]\n      escalate_to: [sales-na-head]\n"
    )
    text = text[:first] + alerts + text[first:]
    if "recipients:" not in text:
        text += "\nrecipients:\n  sales-na-head: {url_env: " + HEAD_ENV + "}\n"
    text += "  breach-desk: {url_env: " + BREACH_ENV + "}\n"
    return load_config_text(text, source=str(CONFIG_FILE))


def sla_sync_tasks(portal: Portal) -> list[dict[str, Any]]:
    """Every task in the portal whose subject carries an sla-sync marker."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = (
            "limit=100&properties=hs_task_subject,hubspot_owner_id,hs_task_priority,hs_timestamp"
        )
        query += "&associations=contacts" + (f"&after={after}" if after else "")
        resp = portal.http.get(
            f"{portal.url}/crm/v3/objects/tasks?{query}",
            headers={"Authorization": f"Bearer {portal.token}"},
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()
        found += [
            t for t in page["results"] if "[sla-sync:" in (t["properties"]["hs_task_subject"] or "")
        ]
        nxt = (page.get("paging") or {}).get("next")
        if not nxt:
            return found
        after = nxt["after"]


def markers_of(tasks: list[dict[str, Any]]) -> Counter[str]:
    """How many tasks carry each marker."""
    out: Counter[str] = Counter()
    for t in tasks:
        subject = t["properties"]["hs_task_subject"]
        start = subject.index("[sla-sync:")
        out[subject[start : subject.index("]", start) + 1]] += 1
    return out


class Receiver:
    """Posted JSON bodies by path (what apprise's ``json://`` plugin sends)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [b for p, b in self.posts if p == f"/{path}"]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on a free local port recording every POST."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with holder[0].lock:
                holder[0].posts.append((self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(Receiver(server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
