"""One webhook POST, safely: the host is resolved once, every address checked, the connection
pinned to a checked address (DNS rebinding cannot swap it), no redirect followed, a timeout on
every socket operation.

Plain http.client rather than requests: it never follows redirects, and it lets the connection
go to the address we checked while TLS still verifies the certificate against the host's name.
"""

import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

USER_AGENT = "helpdesk-webhooks/1"


class AddressRefused(Exception):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Answer:
    """What an attempt came to: the status code (None when no answer came) or the error, and its time."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self):
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def address_problem(ip):
    """Why webhooks may not reach `ip` (a string or ip_address), or None when it is public."""
    ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for test, kind in (
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.is_private, "a private"),
        (ip.is_multicast, "a multicast"),
        (ip.is_unspecified, "an unspecified"),
        (ip.is_reserved, "a reserved"),
        (not ip.is_global, "a non-public"),  # shared address space (100.64/10), ...
    ):
        if test:
            return f"{ip} is {kind} address"
    return None


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def wire_url(url):
    """The URL as it is requested: a non-ASCII host name in IDNA (bücher.example is
    xn--bcher-kva.example) and the non-ASCII characters of the path and query percent-encoded as
    UTF-8 (/é is /%C3%A9), as browsers do; everything ASCII stays as it is. http.client sends
    ASCII only. Raises ValueError (a UnicodeError) when the host is no valid IDNA name."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not hostport.isascii():
        host, colon, port = hostport.partition(":")
        hostport = host.encode("idna").decode("ascii") + colon + port
    return urlunsplit(
        (
            parts.scheme,
            _percent_encoded(userinfo) + at + hostport,
            _percent_encoded(parts.path),
            _percent_encoded(parts.query),
            _percent_encoded(parts.fragment),
        )
    )


def _percent_encoded(text):
    return _NON_ASCII.sub(lambda match: quote(match.group(), safe=""), text)


def literal_ip(host):
    """The host as an ip_address when it is one (brackets of IPv6 removed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve(host, port, allow_private):
    """Every address `host` resolves to, checked; the first one to connect to.

    Raises AddressRefused naming the address when any of them is not public (unless allowed):
    one bad address among good ones is refused too, since we cannot know which one a later
    lookup would hand out.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    if not addresses:
        raise OSError(f"cannot resolve {host}: no address")
    if not allow_private:
        for address in addresses:
            problem = address_problem(address.split("%")[0])
            if problem:
                raise AddressRefused(f"refused: {host} resolves to {problem} (WEBHOOK_ALLOW_PRIVATE is off)")
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed address, sending the URL's host in the Host header."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a fixed address; the certificate is verified against the URL's host name (SNI too)."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _Watchdog:
    """Cuts the connection when the whole attempt outlasts its time: the socket's timeout bounds
    each read, so a receiver trickling its answer a byte at a time would otherwise hold the worker
    (and outlive the claim's lease) for as long as it liked."""

    def __init__(self, seconds):
        self.expired = threading.Event()
        self.connection = None
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def _cut(self):
        self.expired.set()
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once
            except OSError:
                pass

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()


def post(url, body, headers, *, timeout, allow_private):
    """POST `body` (bytes) to `url` once, within `timeout` seconds in all; an Answer, never an
    exception for network trouble."""
    started = time.monotonic()

    def answer(status_code=None, error=None):
        return Answer(status_code, error, int((time.monotonic() - started) * 1000))

    try:
        parts = urlsplit(wire_url(url))  # an endpoint stored before the form encoded nothing
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except UnicodeError as exc:
        return answer(error=f"not a valid URL: its host name cannot be encoded ({exc})"[:500])
    except ValueError:
        return answer(error="not a valid URL (its host or port)")
    if parts.scheme not in ("http", "https") or not host:
        return answer(error=f"not an http(s) URL: {url}")
    with _Watchdog(timeout) as watchdog:
        try:
            address = resolve(host, port, allow_private)
            kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
            watchdog.connection = kind(host, port, address, timeout)
            result = _exchange(watchdog.connection, parts, body, headers, answer)
            if watchdog.expired.is_set():  # a cut answer can look whole (EOF ends the headers)
                return answer(error=f"timed out after {timeout} s")
            return result
        except AddressRefused as exc:
            return answer(error=str(exc))
        except (OSError, http.client.HTTPException, AttributeError, ValueError) as exc:
            if watchdog.expired.is_set() or isinstance(exc, TimeoutError):
                return answer(error=f"timed out after {timeout} s")
            if not isinstance(exc, (OSError, http.client.HTTPException)):  # only a cut connection
                raise  # explains an AttributeError or ValueError (ssl's own errors are OSErrors)
            return answer(error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            if watchdog.connection is not None:
                watchdog.connection.close()


def _exchange(connection, parts, body, headers, answer):
    """Send the request and judge the answer: 2xx delivered; a redirect is not followed."""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers})
    response = connection.getresponse()
    response.read(65536)  # the answer's body does not matter; a bounded read frees the socket
    if 300 <= response.status < 400:
        target = response.getheader("Location", "")[:200]
        return answer(response.status, f"redirect not followed (to {target or 'nowhere'})")
    if not 200 <= response.status < 300:
        return answer(response.status, f"HTTP {response.status} {response.reason}"[:200])
    return answer(response.status)
