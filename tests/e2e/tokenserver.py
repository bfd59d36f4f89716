#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A token server for docker-registry's token auth, for tests/e2e/registry.sh:
GET /token?service=S&scope=repository:NAME:ACTIONS with HTTP Basic USER:PASS
answers {"token": JWT}, the JWT signed with a key whose self-signed
certificate (in the x5c header) is the registry's rootcertbundle. Written
from the distribution token specification (docs/spec/auth/jwt.md there).

  tokenserver.py DIR USER:PASS    writes DIR/cert.pem, serves on a free
                                  127.0.0.1 port written to DIR/port, and
                                  appends one line per token to DIR/issued
"""
import base64
import datetime
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

d, creds = sys.argv[1], sys.argv[2]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ckptfs-test-token")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
with open(os.path.join(d, "cert.pem"), "wb") as f:
    f.write(cert.public_bytes(serialization.Encoding.PEM))
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(service, scope):
    access = []
    if scope:
        kind, repo, actions = scope.split(":", 2)
        access.append({"type": kind, "name": repo, "actions": actions.split(",")})
    t = int(time.time())
    claims = {"iss": "ckptfs-test", "sub": creds.split(":")[0], "aud": service, "exp": t + 300,
              "nbf": t - 10, "iat": t, "jti": str(t) + os.urandom(4).hex(), "access": access}
    head = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "x5c": [x5c]}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = key.sign((head + "." + body).encode(), padding.PKCS1v15(), hashes.SHA256())
    return head + "." + body + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        if auth != "Basic " + base64.b64encode(creds.encode()).decode():
            self.send_response(401)
            self.end_headers()
            return
        scope = " ".join(q.get("scope", []))
        body = json.dumps({"token": token(q.get("service", [""])[0], scope.split(" ")[0] if scope else "")})
        with open(os.path.join(d, "issued"), "a") as f:
            f.write(scope + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *a):
        pass


srv = HTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(d, "port.tmp"), "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
srv.serve_forever()
