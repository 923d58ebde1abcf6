"""The site behind Debian's nginx with TLS, as README "Production" deploys it.

nginx runs with deploy/nginx.conf (the README's), its ports, host name and a
self-signed certificate put in place of the README's; behind it a gunicorn of
the Procfile with production's proxy settings (TRUSTED_PROXY_COUNT=1, HTTPS
redirect on), on the stack's database and Redis. The visitors connect from
loopback addresses of their own (127.0.0.2, 127.0.0.3, ...), so the address
the rate limits count can be told from nginx's.
"""

import http.client
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.acceptance.stack import BASE_DIR, DEMO_PASSWORD, VENV, Process, procfile_command
from tests.conftest import need
from tests.support import free_port, port_answers

NGINX_SITE = BASE_DIR / "deploy" / "nginx.conf"
LOGIN_LIMIT = 3
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def cookies(self) -> dict[str, str]:
        """Each Set-Cookie header by cookie name, as sent."""
        found = {}
        for header in self.headers.get_all("Set-Cookie") or []:
            found[header.split("=", 1)[0]] = header
        return found


@dataclass
class Visitor:
    """A browser-like client reaching nginx from a loopback address of its own."""

    site: "Site"
    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, data: dict[str, str], *, origin: str | None = None, **headers):
        origin = origin or self.site.origin
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + path,
            **headers,
        }
        return self.request("POST", path, body=urlencode(data), headers=headers)

    def request(self, method: str, path: str, *, body=None, headers=None) -> Answer:
        connection = http.client.HTTPSConnection(
            "localhost",
            self.site.https_port,
            context=self.site.tls,
            source_address=(self.address, 0),
            timeout=30,
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def login_form_token(self) -> str:
        page = self.get("/admin/login/")
        assert page.status == 200, page.text[:500]
        return CSRF_INPUT.search(page.text).group(1)

    def log_in(self, username: str, password: str) -> Answer:
        token = self.login_form_token()
        return self.post(
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": token, "username": username, "password": password},
        )


@dataclass
class Site:
    http_port: int
    https_port: int
    tls: ssl.SSLContext
    gunicorn: Process
    addresses: Iterator[str]

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    def visitor(self) -> Visitor:
        return Visitor(self, next(self.addresses))


def nginx_site_config(*, gunicorn_port: int, http_port: int, https_port: int, cert, key) -> str:
    """deploy/nginx.conf with the test's ports, host name and certificate."""
    text = NGINX_SITE.read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{gunicorn_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "return 301 https://$host$request_uri;": (
            f"return 301 https://$host:{https_port}$request_uri;"
        ),
        "server_name tweetup.example.org;": "server_name localhost;",
        "/etc/letsencrypt/live/tweetup.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/tweetup.example.org/privkey.pem": str(key),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer says {old!r}: update this test"
        text = text.replace(old, new)
    # No IPv6 on every test machine.
    return "\n".join(line for line in text.splitlines() if "[::]" not in line) + "\n"


def nginx_main_config(folder: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf holds, with every path in the test's folder."""
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {folder / 'access.log'};\n"
        f"    client_body_temp_path {temp['body']};\n    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {folder / 'tweetup.conf'};\n}}\n"
    )


@pytest.fixture(scope="module")
def site(stack, tmp_path_factory):
    """nginx (TLS) in front of a gunicorn with production's proxy settings."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    nginx = shutil.which("nginx", path=search)
    need(bool(nginx), "Debian's nginx is not installed (apt-get install nginx-light)")
    need(bool(shutil.which("openssl")), "openssl is not installed")
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    gunicorn_port, http_port, https_port = free_port(), free_port(), free_port()
    env = {
        **stack.env,
        "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
        "WEB_CONCURRENCY": "2",
        # Production's own: one proxy in front, and plain HTTP redirected.
        "TRUSTED_PROXY_COUNT": "1",
        "ALLOWED_HOSTS": "localhost",
        "SITE_URL": f"https://localhost:{https_port}",
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/10m",
    }
    del env["SECURE_SSL_REDIRECT"]
    web = procfile_command("web")
    gunicorn = Process(
        "gunicorn-tls",
        [str(VENV / "bin" / web[0]), *web[1:]],
        env=env,
        log_dir=stack.log_dir,
        log_name="gunicorn-tls",
    )
    (folder / "tweetup.conf").write_text(
        nginx_site_config(
            gunicorn_port=gunicorn_port,
            http_port=http_port,
            https_port=https_port,
            cert=cert,
            key=key,
        )
    )
    main = folder / "nginx.conf"
    main.write_text(nginx_main_config(folder))
    checked = subprocess.run(
        [nginx, "-t", "-p", str(folder), "-c", str(main)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    server = Process(
        "nginx",
        [nginx, "-p", str(folder), "-c", str(main)],
        env=env,
        log_dir=stack.log_dir,
        log_name="nginx",
    )
    try:
        gunicorn.wait_ready(
            lambda: port_answers("127.0.0.1", gunicorn_port), timeout=60, what="gunicorn"
        )
        server.wait_ready(lambda: port_answers("127.0.0.1", https_port), timeout=30, what="nginx")
        tls = ssl.create_default_context(cafile=str(cert))
        addresses = iter(f"127.0.0.{number}" for number in range(2, 250))
        yield Site(http_port, https_port, tls, gunicorn, addresses)
    finally:
        server.stop()
        gunicorn.stop()
        errors = [line for line in gunicorn.log().splitlines() if '" 500 ' in line]
        assert not errors, "gunicorn behind nginx answered 500:\n" + "\n".join(errors)


@pytest.mark.acceptance
def test_plain_http_is_redirected_to_https(site):
    connection = http.client.HTTPConnection("localhost", site.http_port, timeout=10)
    connection.request("GET", "/contests/cern-tweetup/?from=poster")
    answer = connection.getresponse()
    connection.close()
    assert answer.status == 301
    assert answer.headers["Location"] == f"{site.origin}/contests/cern-tweetup/?from=poster"


@pytest.mark.acceptance
def test_pages_over_https_send_hsts_and_only_secure_cookies(site):
    visitor = site.visitor()
    page = visitor.get("/contests/cern-tweetup/")
    assert page.status == 200, page.text[:500]
    assert page.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    login = visitor.get("/admin/login/")
    cookies = {**page.cookies(), **login.cookies()}
    assert "csrftoken" in cookies
    for name, header in cookies.items():
        assert "; Secure" in header, f"{name} is sent without Secure: {header}"


@pytest.mark.acceptance
def test_a_post_from_the_https_origin_passes_csrf_and_its_session_cookie_is_secure(site):
    visitor = site.visitor()
    answer = visitor.log_in("organizer", DEMO_PASSWORD)
    assert answer.status == 302, answer.text[:1000]
    assert answer.headers["Location"] == "/admin/"
    session = answer.cookies()["sessionid"]
    assert "; Secure" in session and "; HttpOnly" in session
    assert visitor.get("/admin/").status == 200
    # The same form posted from the plain-HTTP origin is refused.
    other = site.visitor()
    token = other.login_form_token()
    refused = other.post(
        "/admin/login/",
        {"csrfmiddlewaretoken": token, "username": "organizer", "password": DEMO_PASSWORD},
        origin=f"http://localhost:{site.https_port}",
    )
    assert refused.status == 403


@pytest.mark.acceptance
def test_static_files_are_served_through_nginx(site):
    page = site.visitor().get("/")
    stylesheets = re.findall(r'href="(/static/[^"]+\.css)"', page.text)
    assert stylesheets, "the home page links no stylesheet"
    for path in stylesheets:
        answer = site.visitor().get(path)
        assert answer.status == 200, path
        assert answer.headers["Content-Type"].startswith("text/css")
        # Collected with hashed names, served for a year (WhiteNoise).
        assert "max-age=315360000" in answer.headers["Cache-Control"]


@pytest.mark.acceptance
def test_rate_limits_count_the_address_nginx_saw_not_the_one_the_client_claims(site):
    """Behind one proxy the site reads the last X-Forwarded-For hop: nginx's, unforgeable."""
    guesser, neighbour = site.visitor(), site.visitor()
    token = guesser.login_form_token()
    attempts = []
    for number in range(LOGIN_LIMIT + 1):
        # A different address claimed each time: were it believed, no limit would bite.
        attempts.append(
            guesser.post(
                "/admin/login/",
                {"csrfmiddlewaretoken": token, "username": "organizer", "password": "guess"},
                **{"X-Forwarded-For": f"198.51.100.{number + 1}"},
            ).status
        )
    assert attempts == [200] * LOGIN_LIMIT + [429]
    # Another client, from another address, is not held back by the first one's guesses:
    # the limit is not counted on nginx's own address either.
    assert neighbour.log_in("organizer", "wrong password").status == 200
