"""SSRF guard: which addresses a feed fetch may connect to.

The check runs on the address the socket actually connects to (a wrapper
around httpcore's network backend), so DNS rebinding and redirects to internal
hosts are covered, not only the URL the user typed.  Literal IPs in URLs are
also checked up front so the error is immediate and clear.

Python's ``ipaddress`` needs help here (3.11.7 says ``224.0.0.1`` is global,
``100.64.0.1`` is not private, ``::ffff:127.0.0.1`` is not loopback), so wrapped
forms are unwrapped and an explicit deny list is applied on top of ``is_global``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from ..errors import BadURL, ConnectError, SSRFBlocked, UnsupportedScheme

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

_DENY: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96", "64:ff9b:1::/48",
        "2002::/16", "2001::/32", "100::/64",
    )
)
# Dotted IPv4 in any spelling inet_aton accepts: 0177.0.0.1, 0x7f.1, 2130706433.
_IPV4_ODD = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def parse_ip(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any spelling, else None."""
    h = host.strip().strip("[]")
    if "%" in h:  # zone ids (fe80::1%eth0) only make sense on-link
        h = h.split("%", 1)[0]
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    if _IPV4_ODD.match(h):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h.rstrip(".")))
        except OSError:
            return None
    return None


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address itself plus any IPv4 address tunnelled inside an IPv6 one."""
    out: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            out.append(ip.ipv4_mapped)
        if ip.sixtofour:
            out.append(ip.sixtofour)
        if ip.teredo:
            out.extend(ip.teredo)
        if ip in _NAT64:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        # IPv4-compatible (deprecated ::a.b.c.d)
        if int(ip) >> 32 == 0 and int(ip) > 1:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return out


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address (and whatever it wraps)."""
    for a in _embedded(ip):
        if not a.is_global or a.is_multicast or a.is_unspecified or a.is_reserved:
            return False
        if any(a.version == n.version and a in n for n in _DENY):
            return False
    return True


class AddressPolicy:
    """Deny non-public addresses unless allow-listed (``settings.allow_hosts``).

    An allow-list entry is a host name (matched exactly, case-insensitive), an IP
    address or a network in CIDR form.
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[Network] = []
        for entry in allow:
            e = entry.strip().lower().rstrip(".")
            if not e:
                continue
            try:
                self.networks.append(ipaddress.ip_network(e.strip("[]"), strict=False))
            except ValueError:
                self.hosts.add(e)

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".").strip("[]") in self.hosts

    def ip_allowed(self, ip: IPAddress) -> bool:
        if is_public(ip):
            return True
        return any(a.version == n.version and a in n for a in _embedded(ip) for n in self.networks)

    def check_ip(self, ip: IPAddress, host: str) -> None:
        if not self.ip_allowed(ip):
            raise SSRFBlocked(f"{host} resolves to a non-public address ({ip}); allow it with allow_hosts")


def check_url(url: str, policy: AddressPolicy) -> str:
    """Refuse a URL on sight; return its host.  Host names are checked again at connect time."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise BadURL(f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsupportedScheme(f"scheme {scheme or '(none)'!r} is not fetched (only http, https)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadURL("credentials in a feed URL are refused")
    if not host:
        raise BadURL("URL has no host")
    if "%" in host:
        raise BadURL("percent-encoded host names are refused")
    if policy.host_allowed(host):
        return host
    ip = parse_ip(host)
    if ip is not None:
        policy.check_ip(ip, host)
    elif _is_localhost(host) and not policy.ip_allowed(ipaddress.ip_address("127.0.0.1")):
        # Loopback by definition; allowed only when the loopback address itself is.
        raise SSRFBlocked(f"{host} is loopback; allow it with allow_hosts")
    return host


def _is_loopback(ip: IPAddress) -> bool:
    return any(a.is_loopback for a in _embedded(ip))


def _is_localhost(host: str) -> bool:
    h = host.rstrip(".").lower()
    return h == "localhost" or h.endswith(".localhost")


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check every address, then connect to a checked one.

    Every address a name resolves to must pass (a name that resolves to both a
    public and a private address is refused), except that ``localhost`` connects to
    its allowed loopback addresses only.  TLS still verifies against the
    URL's host name: httpcore passes ``server_hostname`` separately.
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: AddressPolicy,
                 resolver: Resolver | None = None) -> None:
        self.inner = inner
        self.policy = policy
        self.resolver = resolver or system_resolver

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if self.policy.host_allowed(host):
            return await self.inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                                socket_options=socket_options)
        literal = parse_ip(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                raw = await self.resolver(host, port)
            except OSError as exc:
                raise ConnectError(f"cannot resolve {host} ({exc})") from None
            addresses = [a for a in (parse_ip(r) for r in raw) if a is not None]
            if not addresses:
                raise ConnectError(f"cannot resolve {host} (no addresses)")
        if _is_localhost(host) and all(_is_loopback(ip) for ip in addresses):
            # localhost is loopback by definition (RFC 6761), resolved from this machine's
            # own hosts file: with 127.0.0.1 allowed it may also answer ::1, which is the
            # same machine.  Only its allowed addresses are tried; none allowed is refused.
            allowed = [ip for ip in addresses if self.policy.ip_allowed(ip)]
            addresses = allowed or addresses
        for ip in addresses:
            self.policy.check_ip(ip, host)
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(str(ip), port, timeout=timeout,
                                                    local_address=local_address,
                                                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise SSRFBlocked("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
