"""The address of the client behind a request: the TCP peer, or what a trusted proxy says it is.

Every allow-list of the web process (/metrics, the dialplan's endpoints, the login throttle)
asks here. `X-Forwarded-For` is honoured only when the direct peer is in TRUSTED_PROXIES:
anyone else can write the header, so trusting it everywhere (as `daphne --proxy-headers`
does) lets an outsider claim to be Asterisk or Prometheus.
"""

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str], setting: str) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR networks from a setting; a bad entry names the setting."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{setting}: {entry!r} is not an address or network"
            ) from error
    return tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def in_networks(address: IPAddress | None, networks: Iterable[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(request) -> IPAddress | None:
    """The client's address, or None when it cannot be told (a garbled header from a proxy).

    Behind trusted proxies, each one appends the address it saw to X-Forwarded-For, so the
    list is read from the right: the first entry that is not a trusted proxy is the client.
    Entries further left were written by the client itself and prove nothing.
    """
    peer = parse_address(request.META.get("REMOTE_ADDR", ""))
    proxies = parse_networks(settings.TRUSTED_PROXIES, "TRUSTED_PROXIES")
    if not in_networks(peer, proxies):
        return peer
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return None
        if not in_networks(address, proxies):
            return address
        peer = address
    return peer


def client_ip(request) -> str | None:
    """client_address as text (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    address = client_address(request)
    return str(address) if address is not None else None


class TrustedProxyHeadersMiddleware:
    """Drops `X-Forwarded-Proto` unless a trusted proxy sent the request.

    SECURE_PROXY_SSL_HEADER makes Django believe that header: from any peer, a plain-HTTP
    request that writes `X-Forwarded-Proto: https` is taken as HTTPS (no redirect to TLS, the
    CSRF check's secure-origin rules). Only the proxy that terminated TLS may say so, so the
    header is removed before SecurityMiddleware reads it when the direct peer is not in
    TRUSTED_PROXIES. Behind a TLS proxy, set TRUSTED_PROXIES to its address (the system check
    callcenter.W003 says so), or every request looks like plain HTTP and is redirected.
    """

    header = "HTTP_X_FORWARDED_PROTO"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.header in request.META:
            peer = parse_address(request.META.get("REMOTE_ADDR", ""))
            proxies = parse_networks(settings.TRUSTED_PROXIES, "TRUSTED_PROXIES")
            if not in_networks(peer, proxies):
                del request.META[self.header]
        return self.get_response(request)
