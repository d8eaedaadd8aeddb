"""A real HTTP receiver for webhook tests (http.server in a thread) and small helpers."""

import http.server
import json
import re
import threading
import time
from pathlib import Path

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.webhooks import endpoints
from helpdesk.webhooks.models import EVENT_TYPES, WebhookAttempt, WebhookDelivery

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier():
    """The README's verification snippet, run as written: its verify_signature function."""
    text = README.read_text()
    code = re.search(r"<!-- webhook-verify-snippet -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md (Webhooks)", "exec"), namespace)  # noqa: S102 (our own README)
    return namespace["verify_signature"]


class Receiver:
    """Records every request; answers `status` (after `delay` seconds, with `location` for 3xx).
    With `secret` set it checks the signature itself, as a receiver following the README would."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.delay = 0
        self.trickle = False
        self.location = None
        self.secret = None
        self.verified = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.secret is not None:
                    verify = readme_verifier()
                    receiver.verified.append(
                        verify(body, self.headers.get("Helpdesk-Signature", ""), receiver.secret)
                    )
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.trickle:  # a header line every 0.1 s, for ever (or until cut off)
                    try:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                        for n in range(100):
                            self.wfile.write(f"X-Slow-{n}: 1\r\n".encode())
                            time.sleep(0.1)
                    except OSError:
                        pass
                    return
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                try:
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks"

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def add_endpoint(admin, url, events=tuple(EVENT_TYPES), **kw):
    endpoint, _ = endpoints.create_endpoint(admin, url=url, events=list(events), **kw)
    db.session.commit()
    return endpoint


def deliveries(endpoint=None):
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint.id)
    return db.session.scalars(query).all()


def attempts(endpoint):
    return db.session.scalars(
        select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id).order_by(WebhookAttempt.id)
    ).all()


def self_signed_certificate(folder, name):
    """A certificate for `name` (and its key) in `folder`, its own trust anchor: (cert path, key path)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class TLSReceiver(Receiver):
    """The same receiver behind TLS, with the given certificate."""

    def __init__(self, cert_path, key_path):
        import ssl

        super().__init__()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
