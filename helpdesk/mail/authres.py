"""Authentication-Results (RFC 8601): did our receiving MTA authenticate the From domain?

Only header fields whose authserv-id is MAIL_TRUSTED_AUTHSERV_ID count: anyone can write an
Authentication-Results field into a message, so fields naming another server are ignored, and
the MTA must remove incoming fields that claim its own id (RFC 8601 section 5; README, "Inbound
mail security"). The verdict is "pass" when DMARC passed for the From domain (or, where the domain
publishes no DMARC policy, when DKIM or SPF passed for a domain aligned with it), "fail" when any
trusted field says dmarc=fail (a failure outweighs a pass: one of them was not written by our
MTA), else "none". Nothing here raises on malformed input: what cannot be read is not there.
"""

from dataclasses import dataclass, field

PASS, FAIL, NONE = "pass", "fail", "none"
MAX_FIELDS = 30  # Authentication-Results fields read per message
MAX_FIELD_CHARS = 4000


@dataclass(frozen=True)
class MethodResult:
    """One resinfo: `dkim=pass header.d=example.com` is ("dkim", "pass", {"header.d": ...})."""

    method: str
    result: str
    properties: dict = field(default_factory=dict)

    def __str__(self):
        props = " ".join(f"{k}={v}" for k, v in self.properties.items())
        return f"{self.method}={self.result}" + (f" {props}" if props else "")


@dataclass(frozen=True)
class Verdict:
    """What the trusted MTA said about the sender: PASS, FAIL or NONE, and why, for people."""

    status: str
    detail: str

    @property
    def verified(self):
        return self.status == PASS


def _without_comments(text):
    """The text with RFC 5322 comments (nested parentheses) removed; quoted strings kept whole."""
    out, depth, quoted, escaped = [], 0, False, False
    for char in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif quoted:
            out.append(char)
            quoted = char != '"'
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
            quoted = char == '"'
    return "".join(out)


def _split(text, separator):
    """Split on `separator` outside quoted strings."""
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _pairs(text):
    """`a=b c.d = e` as [("a", "b"), ("c.d", "e")]: whitespace around '=' and '.' is CFWS."""
    words = [w for w in _split(" ".join(text.split()), " ") if w]
    merged = []
    for word in words:  # re-join "a = b", "a =b", "a= b"
        if merged and (word.startswith("=") or merged[-1].endswith("=")):
            merged[-1] += word
        else:
            merged.append(word)
    pairs = []
    for word in merged:
        name, sep, value = word.partition("=")
        if sep and name:
            pairs.append((name.strip().lower(), _unquote(value)))
    return pairs


def parse_field(value):
    """(authserv-id, [MethodResult]) of one Authentication-Results value, or None if unreadable."""
    text = _without_comments(str(value or "")[:MAX_FIELD_CHARS])
    parts = _split(text, ";")
    head = parts[0].split()
    if not head:
        return None
    authserv_id = _unquote(head[0]).lower().rstrip(".")
    results = []
    for part in parts[1:]:
        pairs = _pairs(part)
        if not pairs:
            continue  # "none", or nothing readable
        method, result = pairs[0]
        method, result = method.split("/")[0].strip(), "".join(result.lower().split())
        props = {k: v.lower() for k, v in pairs[1:] if "." in k}
        if method and result:
            results.append(MethodResult(method, result, props))
    return authserv_id, results


def _domain(value):
    return (value or "").rpartition("@")[2].strip().strip("<>").lower().rstrip(".")


def aligned(domain, from_domain):
    """Relaxed alignment (RFC 7489 3.1) without a public suffix list: the same domain, or one a
    subdomain of the other, and never a bare top-level name."""
    domain = _domain(domain)
    if not domain or "." not in domain or not from_domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def trusted_results(values, trusted_id):
    """Every MethodResult in the fields written by `trusted_id` (case-insensitive), in order."""
    trusted_id = (trusted_id or "").strip().lower().rstrip(".")
    found = []
    for value in list(values)[:MAX_FIELDS]:
        parsed = parse_field(value)
        if parsed is not None and parsed[0] == trusted_id:
            found.extend(parsed[1])
    return found


def verdict(values, trusted_id, from_addr):
    """The Verdict on `from_addr` from the Authentication-Results `values` of one message."""
    if not (trusted_id or "").strip():
        return Verdict(NONE, "MAIL_TRUSTED_AUTHSERV_ID is not set, so no Authentication-Results is trusted")
    from_domain = _domain(from_addr)
    results = trusted_results(values, trusted_id)
    if not results:
        return Verdict(NONE, f"no Authentication-Results from {trusted_id}")
    dmarc = [r for r in results if r.method == "dmarc"]
    failed = [r for r in dmarc if r.result == FAIL]
    if failed:
        return Verdict(FAIL, f"{trusted_id}: {failed[0]}")
    for r in dmarc:
        if r.result == PASS and aligned(r.properties.get("header.from", from_domain), from_domain):
            return Verdict(PASS, f"{trusted_id}: {r}")
    for r in results:
        if r.result != PASS:
            continue
        if r.method == "dkim" and aligned(
            r.properties.get("header.d") or r.properties.get("header.i"), from_domain
        ):
            return Verdict(PASS, f"{trusted_id}: {r} (aligned with {from_domain})")
        if r.method == "spf" and aligned(r.properties.get("smtp.mailfrom"), from_domain):
            return Verdict(PASS, f"{trusted_id}: {r} (aligned with {from_domain})")
    said = "; ".join(str(r) for r in results[:5])
    return Verdict(NONE, f"{trusted_id}: {said}: nothing authenticates {from_domain or 'the sender'}")
