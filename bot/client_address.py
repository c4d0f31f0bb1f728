"""The client's address, the one thing rate limits and login locks count by.

Behind the CJG's TLS reverse proxy every socket comes from the proxy, so the socket's peer
alone would make all users one. ``CJG_TRUSTED_PROXIES`` names the proxies (addresses or
networks); only when the peer is one of them is the forwarding header read, walked from the
right (each proxy appends the address it saw), skipping trusted hops: the first untrusted hop is
the client. A header from anyone else is ignored, so a client cannot choose its own address.

Only the header the proxy itself sets counts (``CJG_FORWARDED_HEADER``: ``X-Forwarded-For`` or
``Forwarded``): a proxy that appends to one passes the other through from the client untouched.
``Forwarded`` is parsed by aiohttp (``request.forwarded``, RFC 7239).

IPv6 clients are counted per /64 (one household or phone gets a whole /64 and can pick any
address in it); IPv4-mapped IPv6 addresses count as their IPv4 address.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

from aiohttp import web

from bot.config import Network, Settings

IP = IPv4Address | IPv6Address


def _parse(value: str | None) -> IP | None:
    """An address from a header or socket: ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``."""
    if not value:
        return None
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port
        value = value.partition(":")[0]
    value = value.partition("%")[0]  # an IPv6 zone id
    try:
        ip = ip_address(value)
    except ValueError:
        return None  # "unknown", an obfuscated node name ("_hidden"), garbage
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def counted_as(ip: IP) -> str:
    """What a limit counts: an IPv4 address, or the /64 of an IPv6 address."""
    if isinstance(ip, IPv6Address):
        return str(IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def _trusted(ip: IP, proxies: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in proxies)


def _chain(request: web.BaseRequest, header: str) -> list[str | None]:
    """The hops the proxies recorded, leftmost (the original client) first."""
    if header.lower() == "forwarded":
        return [hop.get("for") for hop in request.forwarded]
    return [
        hop.strip()
        for line in request.headers.getall("X-Forwarded-For", [])
        for hop in line.split(",")
    ]


def resolve(peer: str | None, chain: Sequence[str | None], proxies: Sequence[Network]) -> IP | None:
    """The client's address from the socket peer and the forwarding chain (left to right)."""
    ip = _parse(peer)
    if ip is None or not _trusted(ip, proxies):
        return ip  # not from a proxy we trust: the header is not looked at
    for hop in reversed(chain):
        found = _parse(hop)
        if found is None:
            return ip  # an unreadable hop: nothing left of it can be trusted
        ip = found
        if not _trusted(ip, proxies):
            return ip
    return ip  # every hop a trusted proxy: the leftmost one made the request


def client_address(request: web.BaseRequest, settings: Settings) -> str | None:
    """The address every limit counts by (HTTP API, widget sockets, staff login); None for a
    socket without an address (a Unix socket)."""
    chain = _chain(request, settings.forwarded_header) if settings.trusted_proxies else []
    ip = resolve(request.remote, chain, settings.trusted_proxies)
    return None if ip is None else counted_as(ip)
