"""Where a webhook may be sent (a guard against server-side request forgery): an http or
https URL whose host resolves only to global addresses, never to this machine, a private
network, a link-local one (the cloud's metadata service at 169.254.169.254), CGNAT, multicast
or reserved space. Checked when an endpoint is registered and again before every delivery,
since what a name resolves to may change. ``webhooks_allow_private_urls`` lifts the address
rule (development, tests, a receiver on the same network). A delivery connects to an address
that was checked, not to what the name resolves to when the connection is made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.core.i18n import Message, _l
from app.webhooks.exceptions import WebhookUrlNotAllowed

SCHEMES = ("http", "https")
RESOLVE_TIMEOUT_SECONDS = 5.0


def _refused(message: Message) -> WebhookUrlNotAllowed:
    return WebhookUrlNotAllowed(message, errors=[{"field": "url", "detail": message}])


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # a scoped IPv6 address: fe80::1%eth0
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    # ``is_global`` is false for loopback, private, link-local, unspecified, reserved and
    # shared (CGNAT 100.64/10) space; multicast is "global" for some ranges, so it is asked too
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
    )
    # in the resolver's order of preference (RFC 6724): the first is the one connected to
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: str, *, allow_private: bool) -> list[str]:
    """Raise ``WebhookUrlNotAllowed`` unless ``url`` may receive webhooks; the public
    addresses its host resolves to (none looked up when private ones are allowed)."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise _refused(_l("The URL is not valid")) from None
    if parts.scheme not in SCHEMES:
        raise _refused(_l("The URL must start with http:// or https://"))
    if not host:
        raise _refused(_l("The URL has no host"))
    if parts.username or parts.password:
        raise _refused(_l("The URL must not carry a user name or password"))
    if allow_private:
        return []
    try:
        addresses = await resolve(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, TimeoutError, UnicodeError):
        raise _refused(_l("The host {host} could not be resolved", host=host)) from None
    private = [a for a in addresses if not is_public(a)]
    if private or not addresses:
        raise _refused(
            _l(
                "The host {host} resolves to an address that is not public ({address})",
                host=host,
                address=private[0] if private else "none",
            )
        )
    return addresses


def pinned(url: str, address: str) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The request to ``url`` sent to ``address`` (one its host was checked to resolve to),
    so that a name that resolves to another address a moment later (DNS rebinding) is not
    followed there: the URL with the address as its host, the ``Host`` header of the name,
    and for https the name for TLS (SNI and the certificate's check)."""
    target = httpx.URL(url)
    extensions: dict[str, Any] = {}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    return target.copy_with(host=address), {"host": target.netloc.decode("ascii")}, extensions
