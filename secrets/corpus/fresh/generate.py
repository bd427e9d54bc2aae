#!/usr/bin/env python3
"""Blind secret-detection corpus generator ("fresh").

Deterministic: every random value comes from random.Random(SEED).
Prints one JSON object per line (see README.md).  Python 3 stdlib only.
All secret values are random; none is a real credential.
"""
import base64
import json
import random
import string
import sys
import zlib

SEED = 0x5EC7F4E5
R = random.Random(SEED)

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # 0-9A-Za-z
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UPHEX = "0123456789ABCDEF"
B64A = string.ascii_letters + string.digits + "+/"
B64U = string.ascii_letters + string.digits + "-_"
UPPER_AN = string.ascii_uppercase + string.digits
B32 = string.ascii_uppercase + "234567"


def rs(n, alpha=ALNUM):
    return "".join(R.choice(alpha) for _ in range(n))


def hx(n):
    return rs(n, HEX)


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(n):
    return base64.b64encode(rbytes(n)).decode()


def digits(n):
    return str(R.randint(1, 9)) + rs(n - 1, string.digits)


def uuid4():
    h = hx(32)
    h = h[:12] + "4" + h[13:16] + R.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---------------------------------------------------------------- checksummed tokens
def base62(n, width=6):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def gh_token(prefix="ghp_"):
    body = rs(30, B62)
    return prefix + body + base62(zlib.crc32(body.encode()) & 0xFFFFFFFF)


def npm_token():
    body = rs(30, B62)
    return "npm_" + body + base62(zlib.crc32(body.encode()) & 0xFFFFFFFF)


def gh_checksum_ok(tok):
    body, cs = tok[4:34], tok[34:40]
    return len(tok) == 40 and base62(zlib.crc32(body.encode()) & 0xFFFFFFFF) == cs


# Bech32 (BIP-173) for age keys
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def _hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data, frm, to):
    acc = bits = 0
    out = []
    for v in data:
        acc = (acc << frm) | v
        bits += frm
        while bits >= to:
            bits -= to
            out.append((acc >> bits) & ((1 << to) - 1))
    if bits:
        out.append((acc << (to - bits)) & ((1 << to) - 1))
    return out


def bech32(hrp, data8):
    data = _convertbits(data8, 8, 5)
    pm = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


def bech32_ok(s):
    s = s.lower()
    hrp, _, rest = s.rpartition("1")
    return _polymod(_hrp_expand(hrp) + [BECH.index(c) for c in rest]) == 1


def age_pair():
    sk = bech32("age-secret-key-", rbytes(32)).upper()
    pk = bech32("age", rbytes(32))
    return sk, pk


# ---------------------------------------------------------------- vendor shapes
def aws_key_id(prefix="AKIA"):
    return prefix + rs(16, B32)


def aws_secret():
    return rs(40, B64A)


def slack_bot():
    return f"xoxb-{digits(12)}-{digits(13)}-{rs(24)}"


def slack_user():
    return f"xoxp-{digits(12)}-{digits(12)}-{digits(13)}-{hx(32)}"


def slack_hook():
    return f"https://hooks.slack.com/services/T{rs(10, UPPER_AN)}/B{rs(10, UPPER_AN)}/{rs(24)}"


def stripe_sk(kind="sk_live_"):
    return kind + rs(99 if R.random() < 0.5 else 24)


def glpat():
    return "glpat-" + rs(20, ALNUM + "-_")


def openai_key():
    return "sk-proj-" + rs(74, B64U) + "T3BlbkFJ" + rs(74, B64U)


def anthropic_key():
    return "sk-ant-api03-" + rs(93, B64U) + "AA"


def sendgrid():
    return "SG." + rs(22, B64U) + "." + rs(43, B64U)


def twilio_sid(p="AC"):
    return p + hx(32)


def shopify(p="shpat_"):
    return p + hx(32)


def hf_token():
    return "hf_" + rs(34, string.ascii_letters)


def do_token():
    return "dop_v1_" + hx(64)


def vault_token():
    return "hvs." + rs(24, B62)


def pypi_token():
    return "pypi-AgEIcHlwaS5vcmcCJD" + rs(8, B64U) + "-" + rs(4, B64U) + "-" + rs(4, B64U) + rs(150, B64U)


def databricks():
    return "dapi" + hx(32)


def sentry_user():
    return "sntryu_" + hx(64)


def doppler():
    return "dp.st.prd." + rs(40)


def telegram():
    return f"{digits(10)}:AA{rs(33, B64U)}"


def discord_hook():
    return f"https://discord.com/api/webhooks/{digits(19)}/{rs(68, B64U)}"


def teams_hook():
    return (f"https://contoso0.webhook.office.com/webhookb2/{uuid4()}@{uuid4()}/IncomingWebhook/"
            f"{hx(32)}/{uuid4()}/V2{rs(43, B64U)}")


def azure_storage_key():
    return base64.b64encode(rbytes(64)).decode()


def azure_client_secret():
    return rs(3) + str(R.randint(0, 9)) + "Q~" + rs(34, ALNUM + "~._-")


def jwt(payload):
    h = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
    p = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{h}.{p}.{rs(43, B64U)}"


def pw(n=None):
    n = n or R.randint(14, 22)
    return rs(1) + rs(n - 1, ALNUM + "!#^*-_+=.")


def pw_safe(n=None):
    """For URLs, unquoted shell words, crontab and batch files."""
    n = n or R.randint(14, 22)
    return rs(1) + rs(n - 1, ALNUM + "-_.")


def wrap(s, w=64):
    return "\n".join(s[i:i + w] for i in range(0, len(s), w))


# ---------------------------------------------------------------- key material
RSA1_PREFIX = bytes.fromhex("308204a40201000282010100")
PKCS8_PREFIX = bytes.fromhex("308204be020100300d06092a864886f70d0101010500048204a8308204a40201000282010100")
EC_PREFIX = bytes.fromhex("30770201010420")
CERT_PREFIX = bytes.fromhex("308203")


def pem(label, prefix=b"", n=1190, w=64, headers=""):
    body = wrap(base64.b64encode(prefix + rbytes(n)).decode(), w)
    return f"-----BEGIN {label}-----\n{headers}{body}\n-----END {label}-----"


def rsa_key():
    return pem("RSA PRIVATE KEY", RSA1_PREFIX, 1180)


def pkcs8_key():
    return pem("PRIVATE KEY", PKCS8_PREFIX, 1180)


def ec_key():
    tail = bytes.fromhex("a00a06082a8648ce3d030107a144034200") + b"\x04" + rbytes(64)
    raw = EC_PREFIX + rbytes(32) + tail
    return "-----BEGIN EC PRIVATE KEY-----\n" + wrap(base64.b64encode(raw).decode()) + "\n-----END EC PRIVATE KEY-----"


def openssh_key():
    raw = b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01" + rbytes(360)
    return ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + wrap(base64.b64encode(raw).decode(), 70)
            + "\n-----END OPENSSH PRIVATE KEY-----")


def cert():
    return pem("CERTIFICATE", CERT_PREFIX, 880)


def pubkey():
    return pem("PUBLIC KEY", bytes.fromhex("30820122300d06092a864886f70d01010105000382010f00"), 270)


def ssh_pub(comment="deploy@ci"):
    raw = b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x03\x01\x00\x01\x00\x00\x01\x01\x00" + rbytes(256)
    return "ssh-rsa " + base64.b64encode(raw).decode() + " " + comment


def ssh_ed_pub(comment="ops@bastion"):
    raw = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + rbytes(32)
    return "ssh-ed25519 " + base64.b64encode(raw).decode() + " " + comment


# ---------------------------------------------------------------- case registry
CASES = []
BINARY = {}


def case(short, family, fmt, path, text, secrets=(), binary=None):
    CASES.append(dict(short=short, family=family, format=fmt, path=path, text=text,
                      secrets=list(secrets), binary=binary))


# ================================================================ provider-token
t1, t2 = gh_token("ghp_"), npm_token()
case("gh-actions-release", "provider-token", "github-actions", ".github/workflows/release.yml", f"""name: release

on:
  push:
    tags: ["v*"]

permissions:
  contents: write

jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
          registry-url: https://registry.npmjs.org
      - run: npm ci
      - run: npm run build
      - name: publish package
        run: npm publish --access public
        env:
          NODE_AUTH_TOKEN: {t2}
      - name: create GitHub release
        run: gh release create "$GITHUB_REF_NAME" dist/*.tgz --generate-notes
        env:
          GH_TOKEN: {t1}
""", [(t2, "npm automation token"), (t1, "GitHub classic PAT")])

t = gh_token("ghp_")
case("py-gh-client", "provider-token", "python", "tools/release/changelog.py", f'''"""Collect merged PRs since the last tag and print a changelog."""
import subprocess
import sys

import requests

API = "https://api.github.com"
REPO = "acme-corp/payments-platform"
# TODO(mkowalski): move to the CI secret store before merging
GITHUB_TOKEN = "{t}"


def last_tag():
    return subprocess.check_output(["git", "describe", "--tags", "--abbrev=0"], text=True).strip()


def merged_since(tag):
    q = f"repo:{{REPO}} is:pr is:merged merged:>{{tag_date(tag)}}"
    r = requests.get(f"{{API}}/search/issues", params={{"q": q, "per_page": 100}},
                     headers={{"Authorization": f"token {{GITHUB_TOKEN}}",
                              "Accept": "application/vnd.github+json"}})
    r.raise_for_status()
    return r.json()["items"]


def tag_date(tag):
    out = subprocess.check_output(["git", "log", "-1", "--format=%cs", tag], text=True)
    return out.strip()


if __name__ == "__main__":
    tag = sys.argv[1] if len(sys.argv) > 1 else last_tag()
    for pr in merged_since(tag):
        print(f"- {{pr['title']}} (#{{pr['number']}})")
''', [(t, "GitHub classic PAT")])

t = stripe_sk("sk_live_")
w = "whsec_" + rs(32)
case("ts-stripe", "provider-token", "typescript", "services/billing/src/stripe.ts", f"""import Stripe from "stripe";
import type {{ Request, Response }} from "express";

const stripe = new Stripe("{t}", {{
  apiVersion: "2024-06-20",
  typescript: true,
}});

const endpointSecret = "{w}";

export async function createCheckout(customerId: string, priceId: string) {{
  return stripe.checkout.sessions.create({{
    customer: customerId,
    mode: "subscription",
    line_items: [{{ price: priceId, quantity: 1 }}],
    success_url: "https://app.acme-corp.io/billing/success",
    cancel_url: "https://app.acme-corp.io/billing",
  }});
}}

export function handleWebhook(req: Request, res: Response) {{
  const sig = req.headers["stripe-signature"] as string;
  let event: Stripe.Event;
  try {{
    event = stripe.webhooks.constructEvent(req.body, sig, endpointSecret);
  }} catch (err) {{
    res.status(400).send(`Webhook Error: ${{(err as Error).message}}`);
    return;
  }}
  if (event.type === "invoice.paid") {{
    // mark subscription active
  }}
  res.json({{ received: true }});
}}
""", [(t, "Stripe live secret key"), (w, "Stripe webhook signing secret")])

t = glpat()
case("gitlab-ci-mirror", "provider-token", "gitlab-ci", ".gitlab-ci.yml", f"""stages:
  - test
  - mirror

variables:
  GIT_DEPTH: "0"
  MIRROR_URL: "https://gitlab.com/acme-corp/infra/terraform-modules.git"

unit:
  stage: test
  image: python:3.12-slim
  script:
    - pip install -r requirements-dev.txt
    - pytest -q

mirror:
  stage: mirror
  image: alpine/git:2.45.2
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  variables:
    MIRROR_TOKEN: "{t}"
  script:
    - git remote add mirror "https://oauth2:${{MIRROR_TOKEN}}@gitlab.com/acme-corp/infra/terraform-modules.git"
    - git push mirror HEAD:main --tags
""", [(t, "GitLab personal access token")])

t = openai_key()
case("py-openai", "provider-token", "python", "ml/summarizer/client.py", f"""import os
from functools import lru_cache

from openai import OpenAI

DEFAULT_MODEL = "gpt-4o-mini"


@lru_cache(maxsize=1)
def client() -> OpenAI:
    key = os.getenv("OPENAI_API_KEY") or "{t}"
    return OpenAI(api_key=key, timeout=30)


def summarize(text: str, max_words: int = 80) -> str:
    resp = client().chat.completions.create(
        model=DEFAULT_MODEL,
        messages=[
            {{"role": "system", "content": f"Summarize in at most {{max_words}} words."}},
            {{"role": "user", "content": text}},
        ],
        temperature=0.2,
    )
    return resp.choices[0].message.content.strip()
""", [(t, "OpenAI project API key")])

t = anthropic_key()
case("env-anthropic", "provider-token", "dotenv", "apps/assistant/.env.local", f"""# local overrides -- do not commit (oops)
NODE_ENV=development
PORT=3100
LOG_LEVEL=debug
ANTHROPIC_API_KEY={t}
ANTHROPIC_MODEL=claude-3-5-sonnet-latest
REDIS_URL=redis://localhost:6379/0
FEATURE_STREAMING=true
""", [(t, "Anthropic API key")])

t = sendgrid()
case("rb-sendgrid", "provider-token", "ruby", "config/initializers/mailer.rb", f"""# frozen_string_literal: true

ActionMailer::Base.smtp_settings = {{
  user_name: "apikey",
  password: "{t}",
  domain: "acme-corp.io",
  address: "smtp.sendgrid.net",
  port: 587,
  authentication: :plain,
  enable_starttls_auto: true
}}

Rails.application.configure do
  config.action_mailer.delivery_method = :smtp
  config.action_mailer.default_url_options = {{ host: "app.acme-corp.io", protocol: "https" }}
  config.action_mailer.raise_delivery_errors = true
end
""", [(t, "SendGrid API key")])

sid, tok = twilio_sid("AC"), hx(32)
case("java-twilio", "provider-token", "java", "notify/src/main/java/io/acme/notify/SmsSender.java", f"""package io.acme.notify;

import com.twilio.Twilio;
import com.twilio.rest.api.v2010.account.Message;
import com.twilio.type.PhoneNumber;

public final class SmsSender {{

    private static final String ACCOUNT_SID = "{sid}";
    private static final String AUTH_TOKEN = "{tok}";
    private static final PhoneNumber FROM = new PhoneNumber("+15005550006");

    static {{
        Twilio.init(ACCOUNT_SID, AUTH_TOKEN);
    }}

    private SmsSender() {{
    }}

    public static String send(String to, String body) {{
        Message message = Message.creator(new PhoneNumber(to), FROM, body).create();
        return message.getSid();
    }}
}}
""", [(tok, "Twilio auth token")])

t = shopify("shpat_")
case("php-shopify", "provider-token", "php", "src/Shopify/AdminClient.php", f"""<?php

declare(strict_types=1);

namespace Acme\\Shopify;

use GuzzleHttp\\Client;

final class AdminClient
{{
    private const SHOP = 'acme-outlet.myshopify.com';
    private const ACCESS_TOKEN = '{t}';
    private const API_VERSION = '2024-07';

    private Client $http;

    public function __construct()
    {{
        $this->http = new Client([
            'base_uri' => sprintf('https://%s/admin/api/%s/', self::SHOP, self::API_VERSION),
            'headers' => ['X-Shopify-Access-Token' => self::ACCESS_TOKEN],
            'timeout' => 10,
        ]);
    }}

    public function products(int $limit = 50): array
    {{
        $res = $this->http->get('products.json', ['query' => ['limit' => $limit]]);
        return json_decode((string) $res->getBody(), true)['products'];
    }}
}}
""", [(t, "Shopify Admin API access token")])

t = hf_token()
case("ipynb-hf", "provider-token", "jupyter", "notebooks/eval_llm.ipynb", json.dumps({
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Offline eval of the reranker\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["from huggingface_hub import login\n", f"login(token=\"{t}\")\n"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["from datasets import load_dataset\n", "ds = load_dataset(\"acme/support-tickets\", split=\"test\")\n", "len(ds)"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n", [(t, "Hugging Face access token")])

t = do_token()
case("tf-digitalocean", "provider-token", "terraform", "infra/do/providers.tf", f"""terraform {{
  required_version = ">= 1.5"
  required_providers {{
    digitalocean = {{
      source  = "digitalocean/digitalocean"
      version = "~> 2.40"
    }}
  }}
}}

provider "digitalocean" {{
  token = "{t}"
}}

resource "digitalocean_droplet" "bastion" {{
  image    = "ubuntu-24-04-x64"
  name     = "bastion-fra1"
  region   = "fra1"
  size     = "s-1vcpu-1gb"
  ssh_keys = [data.digitalocean_ssh_key.ops.id]
}}

data "digitalocean_ssh_key" "ops" {{
  name = "ops"
}}
""", [(t, "DigitalOcean personal access token")])

t = vault_token()
case("sh-vault", "provider-token", "shell", "scripts/rotate-db-creds.sh", f"""#!/usr/bin/env bash
set -euo pipefail

export VAULT_ADDR="https://vault.internal.acme-corp.io:8200"
export VAULT_TOKEN="{t}"

role="${{1:-orders-rw}}"

creds=$(vault read -format=json "database/creds/${{role}}")
user=$(jq -r .data.username <<<"$creds")
lease=$(jq -r .lease_id <<<"$creds")

echo "issued ${{user}} (lease ${{lease}})"
kubectl -n orders create secret generic orders-db \\
  --from-literal=username="$user" \\
  --from-literal=password="$(jq -r .data.password <<<"$creds")" \\
  --dry-run=client -o yaml | kubectl apply -f -
""", [(t, "HashiCorp Vault service token")])

t = pypi_token()
case("pypirc", "provider-token", "ini", "packaging/.pypirc", f"""[distutils]
index-servers =
    pypi
    internal

[pypi]
username = __token__
password = {t}

[internal]
repository = https://pypi.internal.acme-corp.io/simple/
username = ci-publisher
password = ${{INTERNAL_PYPI_PASSWORD}}
""", [(t, "PyPI API token")])

t = databricks()
case("yaml-databricks", "provider-token", "yaml", "pipelines/dbt/profiles.yml", f"""analytics:
  target: prod
  outputs:
    prod:
      type: databricks
      catalog: main
      schema: analytics
      host: adb-4519230711925312.12.azuredatabricks.net
      http_path: /sql/1.0/warehouses/8f3c1e0b2d7a4c55
      token: {t}
      threads: 8
    dev:
      type: databricks
      catalog: dev
      schema: "{{{{ env_var('DBT_USER') }}}}"
      host: adb-4519230711925312.12.azuredatabricks.net
      http_path: /sql/1.0/warehouses/8f3c1e0b2d7a4c55
      token: "{{{{ env_var('DATABRICKS_TOKEN') }}}}"
      threads: 4
""", [(t, "Databricks personal access token")])

t = sentry_user()
case("sentryclirc", "provider-token", "ini", "web/.sentryclirc", f"""[defaults]
url = https://sentry.io/
org = acme-corp
project = web-frontend

[auth]
token = {t}
""", [(t, "Sentry user auth token")])

t = doppler()
case("compose-doppler", "provider-token", "docker-compose", "deploy/compose/docker-compose.prod.yml", f"""services:
  api:
    image: ghcr.io/acme-corp/orders-api:1.42.0
    command: ["doppler", "run", "--", "node", "dist/server.js"]
    environment:
      DOPPLER_TOKEN: "{t}"
      NODE_ENV: production
    ports:
      - "8080:8080"
    restart: unless-stopped
  worker:
    image: ghcr.io/acme-corp/orders-worker:1.42.0
    environment:
      DOPPLER_TOKEN: ${{DOPPLER_WORKER_TOKEN}}
    depends_on:
      - api
""", [(t, "Doppler service token")])

t = gh_token("ghs_")
case("go-gh-app", "provider-token", "go", "internal/scm/github.go", f"""package scm

import (
	"context"
	"net/http"

	"github.com/google/go-github/v62/github"
)

// installationToken was copied from a debugging session; replace with the app flow.
const installationToken = "{t}"

type Client struct {{
	gh *github.Client
}}

func New(ctx context.Context) *Client {{
	c := github.NewClient(http.DefaultClient).WithAuthToken(installationToken)
	return &Client{{gh: c}}
}}

func (c *Client) OpenPRs(ctx context.Context, owner, repo string) ([]*github.PullRequest, error) {{
	prs, _, err := c.gh.PullRequests.List(ctx, owner, repo, &github.PullRequestListOptions{{State: "open"}})
	return prs, err
}}
""", [(t, "GitHub App installation token")])

t = "glc_" + base64.b64encode(json.dumps({"o": str(R.randint(100000, 999999)), "n": "stack-ops-read", "k": rs(24), "m": {"r": "prod-eu-west-2"}}, separators=(",", ":")).encode()).decode().rstrip("=")
case("alloy-grafana", "provider-token", "river", "observability/alloy/config.alloy", f"""logging {{
  level = "info"
}}

prometheus.scrape "node" {{
  targets    = [{{"__address__" = "localhost:9100"}}]
  forward_to = [prometheus.remote_write.grafana_cloud.receiver]
}}

prometheus.remote_write "grafana_cloud" {{
  endpoint {{
    url = "https://prometheus-prod-24-prod-eu-west-2.grafana.net/api/prom/push"
    basic_auth {{
      username = "1487213"
      password = "{t}"
    }}
  }}
}}
""", [(t, "Grafana Cloud access policy token")])

t = "lin_api_" + rs(40)
case("kt-linear", "provider-token", "kotlin", "tools/triage/src/main/kotlin/LinearClient.kt", f"""package io.acme.triage

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse

object LinearClient {{
    private const val ENDPOINT = "https://api.linear.app/graphql"
    private const val API_KEY = "{t}"
    private val http = HttpClient.newHttpClient()

    fun query(gql: String): String {{
        val body = "{{\\"query\\": ${{gql.quoteJson()}}}}"
        val req = HttpRequest.newBuilder(URI.create(ENDPOINT))
            .header("Authorization", API_KEY)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build()
        return http.send(req, HttpResponse.BodyHandlers.ofString()).body()
    }}

    private fun String.quoteJson() = "\\"" + replace("\\"", "\\\\\\"") + "\\""
}}
""", [(t, "Linear API key")])

# provider-token hard negatives
case("neg-gh-actions-secrets", "provider-token", "github-actions", ".github/workflows/publish-crate.yml", """name: publish-crate

on:
  release:
    types: [published]

jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: dtolnay/rust-toolchain@stable
      - run: cargo publish --locked
        env:
          CARGO_REGISTRY_TOKEN: ${{ secrets.CARGO_REGISTRY_TOKEN }}
      - name: notify
        run: gh release edit "${{ github.ref_name }}" --notes-file CHANGELOG.md
        env:
          GH_TOKEN: ${{ github.token }}
""")

case("neg-stripe-test-docs", "provider-token", "markdown", "services/billing/README.md", """# billing service

Handles checkout sessions and Stripe webhooks.

## Local development

1. Copy `.env.example` to `.env`.
2. Put your **test mode** keys from the Stripe dashboard in it:

   ```
   STRIPE_SECRET_KEY=sk_test_...
   STRIPE_PUBLISHABLE_KEY=pk_test_...
   STRIPE_WEBHOOK_SECRET=whsec_...
   ```

3. Forward webhooks: `stripe listen --forward-to localhost:4242/webhook`

Live keys are only available to the deploy pipeline (Vault path `kv/billing/stripe`).
Never paste an `sk_live_` key into an issue or a chat.
""")

case("neg-token-regex-py", "provider-token", "python", "libs/redact/patterns.py", '''"""Patterns used by the log redactor (keep in sync with the docs)."""
import re

TOKEN_PATTERNS = {
    "github": re.compile(r"\\bgh[pousr]_[A-Za-z0-9]{36}\\b"),
    "gitlab": re.compile(r"\\bglpat-[A-Za-z0-9_-]{20}\\b"),
    "slack": re.compile(r"\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b"),
    "stripe": re.compile(r"\\b[rs]k_(live|test)_[A-Za-z0-9]{24,}\\b"),
    "openai": re.compile(r"\\bsk-(proj-)?[A-Za-z0-9_-]{20,}\\b"),
}

MASK = "[REDACTED]"


def redact(line: str) -> str:
    for rx in TOKEN_PATTERNS.values():
        line = rx.sub(MASK, line)
    return line
''')

fake_gh = "ghp_" + "x" * 36
case("neg-gh-token-test", "provider-token", "typescript", "packages/redact/test/redact.test.ts", f"""import {{ describe, expect, it }} from "vitest";
import {{ redact }} from "../src/redact";

describe("redact", () => {{
  it("masks things that look like GitHub tokens", () => {{
    const line = "token={fake_gh} ok";
    expect(redact(line)).toBe("token=[REDACTED] ok");
  }});

  it("leaves short strings alone", () => {{
    expect(redact("ghp_short")).toBe("ghp_short");
  }});

  it("masks glpat placeholders", () => {{
    expect(redact("glpat-XXXXXXXXXXXXXXXXXXXX")).toBe("[REDACTED]");
  }});
}});
""")

case("neg-hf-public-model", "provider-token", "python", "ml/embed/load.py", """from sentence_transformers import SentenceTransformer

# public model, no token needed; set HF_TOKEN in the environment for gated ones
MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
REVISION = "8b3219a92973c328a8e22fadcfa821b5dc75636a"


def load(device: str = "cpu") -> SentenceTransformer:
    return SentenceTransformer(MODEL_ID, revision=REVISION, device=device)


def embed(texts):
    model = load()
    return model.encode(texts, batch_size=32, normalize_embeddings=True)
""")


def first_body(pem_text):
    return pem_text.split("\n")[1]


# ================================================================ private-key
k = rsa_key()
case("pem-rsa-tls", "private-key", "pem", "deploy/nginx/certs/api.acme-corp.io.key", k + "\n",
     [(first_body(k), "RSA private key (PKCS#1)", -1)])

k = pkcs8_key()
c = cert()
case("k8s-tls-inline", "private-key", "kubernetes", "k8s/ingress/tls-secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: grafana-tls\n  namespace: monitoring\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n" + "\n".join("    " + l for l in c.split("\n")) + "\n  tls.key: |\n" + "\n".join("    " + l for l in k.split("\n")) + "\n",
     [(first_body(k), "PKCS#8 private key in Secret stringData", -1)])

k = openssh_key()
case("gha-ssh-deploy", "private-key", "github-actions", ".github/workflows/deploy-docs.yml", """name: deploy-docs
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: install key
        run: |
          mkdir -p ~/.ssh
          cat > ~/.ssh/id_ed25519 <<'KEY'
""" + "\n".join("          " + l for l in k.split("\n")) + """
          KEY
          chmod 600 ~/.ssh/id_ed25519
          ssh-keyscan docs.acme-corp.io >> ~/.ssh/known_hosts
      - run: rsync -az site/ deploy@docs.acme-corp.io:/srv/docs/
""", [(first_body(k), "OpenSSH private key in heredoc", -1)])

k = ec_key()
case("py-ec-jwt-signer", "private-key", "python", "auth/signing.py", '''import time

import jwt

ISSUER = "https://auth.acme-corp.io"

SIGNING_KEY = """''' + k + '''"""


def issue(sub: str, ttl: int = 900) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": sub, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, SIGNING_KEY, algorithm="ES256", headers={"kid": "2024-10"})
''', [(first_body(k), "EC private key (ES256 signer)", -1)])

k = pkcs8_key()
kj = k.replace("\n", "\\n")
case("js-pkcs8-escaped", "private-key", "javascript", "functions/src/apns.js", f"""const apn = require("@parse/node-apn");

const provider = new apn.Provider({{
  token: {{
    key: "{kj}",
    keyId: "7Q9X2LM4KD",
    teamId: "J8ZT3Q5R2A",
  }},
  production: true,
}});

exports.push = async (deviceToken, alert) => {{
  const note = new apn.Notification({{ alert, topic: "io.acme.mobile", sound: "default" }});
  const result = await provider.send(note, deviceToken);
  return result.failed.length === 0;
}};
""", [("-----BEGIN PRIVATE KEY-----\\n" + first_body(k), "PKCS#8 private key, escaped newlines")])

body = rbytes(600)
ppk_pub = wrap(base64.b64encode(b"\x00\x00\x00\x07ssh-rsa" + rbytes(270)).decode(), 64).split("\n")
ppk_priv = wrap(base64.b64encode(body).decode(), 64).split("\n")
case("ppk", "private-key", "putty-ppk", "ops/keys/jumphost.ppk", "PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: rsa-key-20240311\n"
     + f"Public-Lines: {len(ppk_pub)}\n" + "\n".join(ppk_pub) + f"\nPrivate-Lines: {len(ppk_priv)}\n" + "\n".join(ppk_priv) + f"\nPrivate-MAC: {hx(64)}\n",
     [(ppk_priv[0], "PuTTY private key (unencrypted)")])

pgp_body = wrap(base64.b64encode(b"\x95\x05\x86\x04" + rbytes(1500)).decode(), 64)
pgp = f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{pgp_body}\n={rs(4, B64A)}\n-----END PGP PRIVATE KEY BLOCK-----"
case("gpg-release-key", "private-key", "asc", "release/signing/release-2024.asc", pgp + "\n",
     [("-----BEGIN PGP PRIVATE KEY BLOCK-----", "OpenPGP secret key block")])

ask, apk = age_pair()
case("age-keys", "private-key", "text", "secrets/sops/age/keys.txt", f"""# created: 2024-05-02T09:12:44Z
# public key: {apk}
{ask}
""", [(ask, "age X25519 identity (secret key)")])

k = rsa_key()
kt = k.split("\n")
case("cs-rsa-literal", "private-key", "csharp", "src/Acme.Sso/SamlSigning.cs", """using System.Security.Cryptography;

namespace Acme.Sso;

public static class SamlSigning
{
    // Key used to sign SAML responses for the legacy IdP bridge.
    private const string PrivateKeyPem = @\"""" + kt[0] + "\n" + "\n".join(kt[1:]) + """";

    public static RSA Load()
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(PrivateKeyPem);
        return rsa;
    }
}
""", [(kt[1], "RSA private key in C# verbatim string", -1)])

# private-key hard negatives
enc = pem("ENCRYPTED PRIVATE KEY", bytes.fromhex("308205263050"), 1280)
case("neg-encrypted-pkcs8", "private-key", "pem", "deploy/certs/legacy-partner.key.enc.pem", enc + "\n")

case("neg-pem-placeholder", "private-key", "yaml", "charts/gateway/values.yaml", """replicaCount: 2

image:
  repository: ghcr.io/acme-corp/gateway
  tag: ""

tls:
  enabled: true
  # Provide the certificate and key at install time:
  #   helm install gw . --set-file tls.cert=server.crt --set-file tls.key=server.key
  cert: ""
  key: ""
  # Alternatively reference an existing secret
  existingSecret: ""

resources:
  limits:
    cpu: 500m
    memory: 256Mi
""")

case("neg-pem-parser-test", "private-key", "go", "pkg/pemutil/pem_test.go", """package pemutil

import "testing"

func TestDetectBlockType(t *testing.T) {
	cases := map[string]string{
		"-----BEGIN RSA PRIVATE KEY-----\\n...\\n-----END RSA PRIVATE KEY-----": "RSA PRIVATE KEY",
		"-----BEGIN PRIVATE KEY-----\\n<redacted>\\n-----END PRIVATE KEY-----":   "PRIVATE KEY",
		"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----":             "CERTIFICATE",
	}
	for in, want := range cases {
		if got := BlockType([]byte(in)); got != want {
			t.Errorf("BlockType(%q) = %q, want %q", in, got, want)
		}
	}
}
""")

case("neg-keygen-script", "private-key", "shell", "scripts/dev-certs.sh", """#!/usr/bin/env bash
# Creates a throwaway CA and localhost certificate for local HTTPS.
set -euo pipefail
out="${1:-.dev-certs}"
mkdir -p "$out"

openssl genrsa -out "$out/ca.key" 4096
openssl req -x509 -new -key "$out/ca.key" -sha256 -days 30 \\
  -subj "/CN=acme local dev CA" -out "$out/ca.crt"

openssl ecparam -name prime256v1 -genkey -noout -out "$out/localhost.key"
openssl req -new -key "$out/localhost.key" -subj "/CN=localhost" -out "$out/localhost.csr"
openssl x509 -req -in "$out/localhost.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \\
  -CAcreateserial -days 30 -sha256 -out "$out/localhost.crt"

echo "-----BEGIN PRIVATE KEY----- blocks are in $out/*.key (gitignored)"
""")

case("neg-sops-key", "private-key", "yaml", "k8s/overlays/prod/signing-key.enc.yaml", f"""apiVersion: v1
kind: Secret
metadata:
    name: jwt-signing
    namespace: auth
type: Opaque
stringData:
    signing.pem: ENC[AES256_GCM,data:{b64(900)},iv:{b64(32)},tag:{b64(16)},type:str]
sops:
    kms: []
    age:
        - recipient: {age_pair()[1]}
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            {b64(48)}
            {b64(48)}
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2024-09-18T10:02:11Z"
    mac: ENC[AES256_GCM,data:{b64(48)},iv:{b64(32)},tag:{b64(16)},type:str]
    unencrypted_suffix: _unencrypted
    version: 3.8.1
""")


# ================================================================ cloud-credentials
kid, sec = aws_key_id(), aws_secret()
case("aws-credentials", "cloud-credentials", "ini", "ops/aws/credentials", f"""[default]
region = eu-central-1
output = json

[deploy-prod]
aws_access_key_id = {kid}
aws_secret_access_key = {sec}
region = eu-central-1
""", [(sec, "AWS secret access key")])

kid, sec = aws_key_id(), aws_secret()
case("py-boto3", "cloud-credentials", "python", "etl/jobs/export_to_s3.py", f"""import datetime as dt
import gzip
import io

import boto3

s3 = boto3.client(
    "s3",
    region_name="us-east-1",
    aws_access_key_id="{kid}",
    aws_secret_access_key="{sec}",
)

BUCKET = "acme-analytics-exports"


def upload(rows, prefix="orders"):
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
        for r in rows:
            gz.write((",".join(map(str, r)) + "\\n").encode())
    key = f"{{prefix}}/{{dt.date.today():%Y/%m/%d}}/part-0000.csv.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=buf.getvalue())
    return key
""", [(sec, "AWS secret access key")])

kid, sec, st = aws_key_id("ASIA"), aws_secret(), "IQoJb3JpZ2luX2VjE" + rs(340, B64A)
case("env-aws-session", "cloud-credentials", "dotenv", "tools/load-test/.env", f"""TARGET_URL=https://staging.acme-corp.io
RPS=200
DURATION=10m
AWS_REGION=eu-west-1
AWS_ACCESS_KEY_ID={kid}
AWS_SECRET_ACCESS_KEY={sec}
AWS_SESSION_TOKEN={st}
RESULTS_BUCKET=acme-loadtest-results
""", [(sec, "AWS secret access key"), (st, "AWS STS session token")])

pkid = hx(40)
k = pkcs8_key()
sa = {
    "type": "service_account", "project_id": "acme-data-prod", "private_key_id": pkid,
    "private_key": k + "\n", "client_email": "bq-loader@acme-data-prod.iam.gserviceaccount.com",
    "client_id": digits(21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/bq-loader%40acme-data-prod.iam.gserviceaccount.com",
    "universe_domain": "googleapis.com"}
case("gcp-sa-json", "cloud-credentials", "json", "pipelines/bq/credentials/bq-loader.json", json.dumps(sa, indent=2) + "\n",
     [("\"private_key\": \"-----BEGIN PRIVATE KEY-----", "GCP service account private key")])

cs = azure_client_secret()
case("appsettings-azure-ad", "cloud-credentials", "json", "src/Acme.Portal/appsettings.Production.json", json.dumps({
    "Logging": {"LogLevel": {"Default": "Warning", "Microsoft.AspNetCore": "Warning"}},
    "AzureAd": {"Instance": "https://login.microsoftonline.com/", "Domain": "acmecorp.onmicrosoft.com",
                "TenantId": uuid4(), "ClientId": uuid4(), "ClientSecret": cs, "CallbackPath": "/signin-oidc"},
    "AllowedHosts": "*"}, indent=2) + "\n", [(cs, "Azure AD (Entra) client secret")])

cs = azure_client_secret()
case("tfvars-azure-sp", "cloud-credentials", "terraform", "infra/azure/prod.auto.tfvars", f"""location            = "westeurope"
resource_group_name = "rg-orders-prod"
environment         = "prod"

subscription_id = "{uuid4()}"
tenant_id       = "{uuid4()}"
client_id       = "{uuid4()}"
client_secret   = "{cs}"

aks_node_count = 3
aks_vm_size    = "Standard_D4s_v5"
""", [(cs, "Azure service principal client secret")])

alik, alis = "LTAI5t" + rs(18), rs(30)
case("go-aliyun-oss", "cloud-credentials", "go", "cmd/uploader/main.go", f"""package main

import (
	"log"
	"os"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

const (
	endpoint        = "https://oss-cn-hangzhou.aliyuncs.com"
	accessKeyID     = "{alik}"
	accessKeySecret = "{alis}"
	bucketName      = "acme-cn-assets"
)

func main() {{
	client, err := oss.New(endpoint, accessKeyID, accessKeySecret)
	if err != nil {{
		log.Fatal(err)
	}}
	bucket, err := client.Bucket(bucketName)
	if err != nil {{
		log.Fatal(err)
	}}
	if err := bucket.PutObjectFromFile(os.Args[1], os.Args[2]); err != nil {{
		log.Fatal(err)
	}}
}}
""", [(alis, "Alibaba Cloud AccessKey secret")])

ibm = rs(44, ALNUM + "-_")
case("ps-ibm", "cloud-credentials", "powershell", "scripts/Backup-CosBuckets.ps1", f"""#Requires -Version 7.2
[CmdletBinding()]
param(
    [string]$Region = "eu-de",
    [string]$ResourceGroup = "backup"
)

$ErrorActionPreference = "Stop"
$env:IBMCLOUD_API_KEY = "{ibm}"

ibmcloud login --apikey $env:IBMCLOUD_API_KEY -r $Region -g $ResourceGroup | Out-Null

$buckets = ibmcloud cos buckets --output json | ConvertFrom-Json
foreach ($b in $buckets.Buckets) {{
    Write-Host "syncing $($b.Name)"
    rclone sync "ibmcos:$($b.Name)" "/mnt/backup/$($b.Name)" --checksum
}}
""", [(ibm, "IBM Cloud API key")])

kid, sec = aws_key_id(), aws_secret()
case("jenkins-aws", "cloud-credentials", "jenkinsfile", "ci/Jenkinsfile.deploy", f"""pipeline {{
    agent {{ label 'docker' }}
    environment {{
        AWS_DEFAULT_REGION    = 'us-west-2'
        AWS_ACCESS_KEY_ID     = '{kid}'
        AWS_SECRET_ACCESS_KEY = '{sec}'
        CLUSTER               = 'orders-prod'
    }}
    stages {{
        stage('Build') {{
            steps {{ sh 'make image' }}
        }}
        stage('Deploy') {{
            when {{ branch 'main' }}
            steps {{
                sh 'aws ecs update-service --cluster $CLUSTER --service api --force-new-deployment'
            }}
        }}
    }}
}}
""", [(sec, "AWS secret access key")])

# cloud-credentials hard negatives
case("neg-aws-doc-example", "cloud-credentials", "markdown", "handbook/onboarding/aws-cli.md", """# Setting up the AWS CLI

Run `aws configure sso` and pick the `engineering` permission set. If you
must use static keys for an old tool, the file looks like this (values from
the AWS documentation, not real):

```ini
[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
```

Never create long-lived keys for humans.
""")

case("neg-aws-config-sso", "cloud-credentials", "ini", "ops/aws/config", """[profile engineering]
sso_session = acme
sso_account_id = 123456789012
sso_role_name = EngineeringReadOnly
region = eu-central-1

[profile deploy-prod]
role_arn = arn:aws:iam::210987654321:role/deploy
source_profile = engineering
region = eu-central-1

[sso-session acme]
sso_start_url = https://acme-corp.awsapps.com/start
sso_region = eu-central-1
sso_registration_scopes = sso:account:access
""")

case("neg-gcp-wif", "cloud-credentials", "json", "ci/gcp/wif-credentials.json", json.dumps({
    "type": "external_account",
    "audience": "//iam.googleapis.com/projects/418236450291/locations/global/workloadIdentityPools/github/providers/acme-corp",
    "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    "token_url": "https://sts.googleapis.com/v1/token",
    "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/deployer@acme-data-prod.iam.gserviceaccount.com:generateAccessToken",
    "credential_source": {"url": "https://pipelines.actions.githubusercontent.com/token?audience=gcp",
                          "headers": {"Authorization": "Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN"},
                          "format": {"type": "json", "subject_token_field_name": "value"}}}, indent=2) + "\n")

kid = aws_key_id()
case("neg-aws-keyid-only", "cloud-credentials", "yaml", "security/iam/key-inventory.yaml", f"""# Inventory of long-lived IAM keys scheduled for removal (ids only).
keys:
  - user: legacy-ftp-sync
    access_key_id: {kid}
    created: 2021-03-14
    last_used: 2024-08-30
    owner: data-platform
    action: rotate-to-role
  - user: old-jenkins
    access_key_id: {aws_key_id()}
    created: 2019-11-02
    last_used: never
    owner: devex
    action: delete
""")

case("neg-azure-default-cred", "cloud-credentials", "csharp", "src/Acme.Blob/BlobStore.cs", """using Azure.Identity;
using Azure.Storage.Blobs;

namespace Acme.Blob;

public sealed class BlobStore
{
    private readonly BlobContainerClient _container;

    public BlobStore(string accountName, string container)
    {
        var uri = new Uri($"https://{accountName}.blob.core.windows.net/{container}");
        // Managed identity in Azure, developer login locally. No keys in config.
        _container = new BlobContainerClient(uri, new DefaultAzureCredential());
    }

    public Task UploadAsync(string name, Stream data, CancellationToken ct = default)
        => _container.GetBlobClient(name).UploadAsync(data, overwrite: true, ct);
}
""")


# ================================================================ credential-files
p = pw()
case("netrc", "credential-files", "netrc", "ops/ci/netrc", f"""machine artifacts.acme-corp.io
  login ci-reader
  password {p}

machine api.heroku.com
  login ops@acme-corp.io
  password {uuid4()}
""", [(p, "artifact repository password"), ("password " , "Heroku API key in netrc", 0)])
# fix up the heroku label: second password line
CASES[-1]["secrets"] = [(p, "artifact repository password"), (CASES[-1]["text"].split("\n")[6].split()[-1], "Heroku API key in netrc")]

p1, p2 = pw(), pw()
case("pgpass", "credential-files", "pgpass", "ops/db/.pgpass", f"""# hostname:port:database:username:password
db-orders-prod.cluster-c7x2.eu-central-1.rds.amazonaws.com:5432:orders:orders_app:{p1}
db-orders-prod.cluster-ro-c7x2.eu-central-1.rds.amazonaws.com:5432:orders:report_ro:{p2}
localhost:5432:*:postgres:postgres
""", [(p1, "PostgreSQL password"), (p2, "PostgreSQL password")])

t = npm_token()
case("npmrc", "credential-files", "npmrc", "web/.npmrc", f"""registry=https://registry.npmjs.org/
@acme:registry=https://npm.pkg.github.com/
//registry.npmjs.org/:_authToken={t}
//npm.pkg.github.com/:_authToken=${{GITHUB_PACKAGES_TOKEN}}
save-exact=true
engine-strict=true
""", [(t, "npm access token")])

auth = base64.b64encode(f"ci-bot:{pw()}".encode()).decode()
case("docker-config", "credential-files", "json", "ci/docker/config.json", json.dumps({
    "auths": {"registry.acme-corp.io": {"auth": auth},
              "https://index.docker.io/v1/": {}},
    "credsStore": "desktop",
    "currentContext": "default"}, indent=2) + "\n", [(auth, "Docker registry basic auth (base64 user:password)")])

u = f"https://jdoe:{gh_token('ghp_')}@github.com"
case("git-credentials", "credential-files", "git-credentials", "home/jdoe/.git-credentials", f"""{u}
https://deploy-bot:{glpat()}@gitlab.acme-corp.io
""", [(u.split(":")[2].split("@")[0], "GitHub PAT in git credential store")])
CASES[-1]["secrets"].append((CASES[-1]["text"].split("\n")[1].split(":")[2].split("@")[0], "GitLab PAT in git credential store"))

p = pw()
case("maven-settings", "credential-files", "xml", "ci/maven/settings.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
          xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
  <servers>
    <server>
      <id>acme-releases</id>
      <username>deployer</username>
      <password>{p}</password>
    </server>
    <server>
      <id>acme-snapshots</id>
      <username>${{env.NEXUS_USER}}</username>
      <password>${{env.NEXUS_PASSWORD}}</password>
    </server>
  </servers>
  <mirrors>
    <mirror>
      <id>acme-central</id>
      <mirrorOf>central</mirrorOf>
      <url>https://nexus.acme-corp.io/repository/maven-central/</url>
    </mirror>
  </mirrors>
</settings>
""", [(p, "Nexus deploy password")])

p = pw()
case("nuget-config", "credential-files", "xml", "NuGet.Config", f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
    <add key="acme" value="https://pkgs.dev.azure.com/acme-corp/_packaging/internal/nuget/v3/index.json" />
  </packageSources>
  <packageSourceCredentials>
    <acme>
      <add key="Username" value="build" />
      <add key="ClearTextPassword" value="{rs(52, string.ascii_lowercase + string.digits)}" />
    </acme>
  </packageSourceCredentials>
</configuration>
""")
CASES[-1]["secrets"] = [("ClearTextPassword", "Azure DevOps PAT as NuGet ClearTextPassword")]

t = "dckr_pat_" + rs(27, B64U)
rcl = rs(32, B64U)
case("rclone-conf", "credential-files", "ini", "ops/backup/rclone.conf", f"""[b2-archive]
type = b2
account = {hx(12)}
key = K00{rs(28, ALNUM)}
hard_delete = false

[nas]
type = sftp
host = nas.office.acme-corp.io
user = backup
key_file = ~/.ssh/id_backup
shell_type = unix
""")
CASES[-1]["secrets"] = [("key = K00", "Backblaze B2 application key")]

p = pw()
case("mycnf", "credential-files", "ini", "ops/db/my.cnf", f"""[client]
user = reporting
password = "{p}"
host = mysql-replica.internal.acme-corp.io
port = 3306
default-character-set = utf8mb4

[mysqldump]
single-transaction
quick
""", [(p, "MySQL client password")])

tok = "C7" + rs(38, ALNUM)
case("composer-auth", "credential-files", "json", "backend/auth.json", json.dumps({
    "http-basic": {"repo.magento.com": {"username": hx(32), "password": hx(32)}},
    "github-oauth": {"github.com": gh_token("gho_")}}, indent=4) + "\n")
CASES[-1]["secrets"] = [('"password"', "Magento repo private key"), ('"github.com": "gho_', "GitHub OAuth token")]

t = "cio" + rs(32)
case("cargo-credentials", "credential-files", "toml", "home/ci/.cargo/credentials.toml", f"""[registry]
token = "{t}"

[registries.acme]
token = "Bearer {hx(40)}"
""", [(t, "crates.io API token"), ("Bearer ", "private registry token")])

t = "AKCp8" + rs(68)
case("pip-conf", "credential-files", "ini", "ci/pip/pip.conf", f"""[global]
index-url = https://ci-reader:{t}@acme.jfrog.io/artifactory/api/pypi/pypi-virtual/simple
timeout = 60
disable-pip-version-check = true
""", [(t, "Artifactory API key in pip index URL")])

# credential-files hard negatives
case("neg-npmrc-env", "credential-files", "npmrc", "packages/ui/.npmrc", """@acme:registry=https://npm.pkg.github.com/
//npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}
always-auth=true
strict-peer-dependencies=false
""")

case("neg-docker-credsstore", "credential-files", "json", "ci/docker/config.ci.json", json.dumps({
    "auths": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com": {}, "ghcr.io": {}},
    "credHelpers": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com": "ecr-login",
                    "europe-docker.pkg.dev": "gcloud"},
    "credsStore": "pass"}, indent=2) + "\n")

case("neg-htpasswd", "credential-files", "htpasswd", "deploy/nginx/.htpasswd",
     "".join(f"{u}:$2y$10${rs(53, ALNUM + './')}\n" for u in ["admin", "grafana", "release-mgr"]) +
     f"legacy:$apr1${rs(8, ALNUM)}${rs(22, ALNUM + './')}\n")

case("neg-pgpass-local", "credential-files", "pgpass", "dev/.pgpass", """# local docker-compose database only
localhost:5432:app_dev:postgres:postgres
127.0.0.1:5433:app_test:test:test
""")

case("neg-settings-xml-env", "credential-files", "xml", "build/settings-ci.xml", """<settings>
  <servers>
    <server>
      <id>ossrh</id>
      <username>${env.OSSRH_USERNAME}</username>
      <password>${env.OSSRH_TOKEN}</password>
    </server>
    <server>
      <id>gpg.passphrase</id>
      <passphrase>${env.GPG_PASSPHRASE}</passphrase>
    </server>
  </servers>
</settings>
""")


# ================================================================ command-line
p1, p2, t = pw(), pw(), gh_token("ghp_")
case("bash-history", "command-line", "shell-history", "home/ops/.bash_history", f"""cd /srv/orders
git pull
docker compose ps
mysql -h mysql-primary.internal -u root -p'{p1}' -e 'show processlist'
kubectl -n orders get pods
kubectl -n orders logs deploy/api --tail=200
echo {t} | docker login ghcr.io -u acme-ops --password-stdin
htop
sshpass -p '{p2}' ssh admin@10.20.3.14 'sudo systemctl restart haproxy'
history | grep restart
exit
""", [(p1, "MySQL root password on command line"), (t, "GitHub PAT piped to docker login"), (p2, "sshpass password")])

p = pw_safe()
case("makefile-psql", "command-line", "makefile", "db/Makefile", f""".PHONY: migrate seed dump shell

DB_HOST ?= db-orders-staging.internal.acme-corp.io
DB_NAME ?= orders

migrate:
\tmigrate -path ./migrations -database "postgres://migrator:{p}@$(DB_HOST):5432/$(DB_NAME)?sslmode=require" up

seed:
\tpsql "$(DATABASE_URL)" -f seeds/dev.sql

dump:
\tpg_dump --no-owner "$(DATABASE_URL)" > dump.sql

shell:
\tpsql "$(DATABASE_URL)"
""", [(p, "PostgreSQL password in migrate command")])

p = pw_safe()
case("dockerfile-buildarg", "command-line", "dockerfile", "services/legacy-importer/Dockerfile", f"""FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
RUN ./gradlew --no-daemon -PnexusUser=builder -PnexusPassword={p} shadowJar

FROM eclipse-temurin:17-jre
WORKDIR /app
COPY --from=build /src/build/libs/importer-all.jar /app/importer.jar
USER 10001
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "/app/importer.jar"]
""", [(p, "Nexus password in gradle command")])

p = pw()
case("ps-securestring", "command-line", "powershell", "scripts/Connect-Prod.ps1", f"""param([string]$Server = "sql-prod-01.corp.acme-corp.io")

$user = "CORP\\svc-reporting"
$secure = ConvertTo-SecureString "{p}" -AsPlainText -Force
$cred = New-Object System.Management.Automation.PSCredential($user, $secure)

Invoke-Command -ComputerName $Server -Credential $cred -ScriptBlock {{
    Get-Service -Name MSSQLSERVER, SQLSERVERAGENT | Select-Object Name, Status
}}
""", [(p, "Windows service account password")])

cs = azure_client_secret()
case("az-login-sp", "command-line", "shell", "ci/scripts/aks-credentials.sh", f"""#!/bin/sh
set -e
az login --service-principal \\
  --username "{uuid4()}" \\
  --password "{cs}" \\
  --tenant "{uuid4()}"
az aks get-credentials --resource-group rg-orders-prod --name aks-orders-prod --overwrite-existing
kubectl get nodes
""", [(cs, "Azure SP secret on az login")])

p = pw()
case("k8s-create-secret-readme", "command-line", "markdown", "services/search/RUNBOOK.md", f"""# search service runbook

## Recreate the OpenSearch credentials secret

If the secret was deleted by accident:

```sh
kubectl -n search create secret generic opensearch-admin \\
  --from-literal=username=admin \\
  --from-literal=password='{p}'
kubectl -n search rollout restart deploy/search-api
```

## Reindex

`make reindex INDEX=products-v7`
""", [(p, "OpenSearch admin password in kubectl command")])

p = pw_safe()
case("curl-basic-cron", "command-line", "crontab", "ops/cron/metrics.crontab", f"""SHELL=/bin/bash
MAILTO=ops-alerts@acme-corp.io
# m h dom mon dow command
*/5 * * * * curl -fsS -u metrics:{p} https://pushgateway.internal.acme-corp.io/metrics/job/backup -d @/var/tmp/backup.prom
0 3 * * * /opt/backup/run.sh >> /var/log/backup.log 2>&1
""", [(p, "pushgateway basic auth password in curl -u")])

p = pw_safe()
case("bat-netuse", "command-line", "batch", "tools/win/map-drives.bat", f"""@echo off
REM Map the shared build drives for the Windows build agents
net use Z: \\\\fs01.corp.acme-corp.io\\builds /user:CORP\\svc-build {p} /persistent:yes
net use Y: \\\\fs01.corp.acme-corp.io\\symbols /persistent:yes
if errorlevel 1 (
  echo mapping failed
  exit /b 1
)
echo drives mapped
""", [(p, "Windows service account password in net use")])

# command-line hard negatives
case("neg-docker-login-stdin", "command-line", "shell", "ci/scripts/push-image.sh", """#!/usr/bin/env bash
set -euo pipefail
: "${REGISTRY_PASSWORD:?must be set}"
echo "$REGISTRY_PASSWORD" | docker login registry.acme-corp.io -u ci-bot --password-stdin
docker build -t "registry.acme-corp.io/orders/api:${GIT_SHA}" .
docker push "registry.acme-corp.io/orders/api:${GIT_SHA}"
mysql -h "$DB_HOST" -u app -p"$DB_PASSWORD" -e 'select 1'
""")

case("neg-read-s", "command-line", "shell", "scripts/bootstrap-vault.sh", """#!/usr/bin/env bash
set -euo pipefail
read -r -s -p "Vault unseal key: " UNSEAL
echo
vault operator unseal "$UNSEAL"
read -r -s -p "Initial admin password: " ADMIN_PW
echo
vault write auth/userpass/users/admin password="$ADMIN_PW" policies=admin
unset UNSEAL ADMIN_PW
""")

case("neg-kubectl-from-file", "command-line", "makefile", "k8s/Makefile", """NAMESPACE ?= payments

secret:
\tkubectl -n $(NAMESPACE) create secret generic payments-db \\
\t  --from-file=password=./.secrets/db-password.txt \\
\t  --dry-run=client -o yaml | kubeseal -o yaml > sealed/payments-db.yaml

psql:
\tPGPASSWORD=$$(cat .secrets/db-password.txt) psql -h localhost -U payments payments
""")

case("neg-ps-getcredential", "command-line", "powershell", "scripts/Invoke-Maintenance.ps1", """param(
    [Parameter(Mandatory)][string]$ComputerName,
    [pscredential]$Credential = (Get-Credential -Message "Admin account for $ComputerName")
)
$s = New-PSSession -ComputerName $ComputerName -Credential $Credential
try {
    Invoke-Command -Session $s -ScriptBlock { Restart-Service -Name W3SVC -Force }
} finally {
    Remove-PSSession $s
}
""")

case("neg-sshpass-env", "command-line", "shell", "scripts/legacy-sync.sh", """#!/bin/sh
# SSHPASS is injected by the scheduler from the password manager
export SSHPASS
sshpass -e rsync -az /srv/export/ legacy@10.1.2.3:/import/
curl -fsS -u "metrics:${PUSHGW_PASSWORD}" https://pushgateway.internal.acme-corp.io/metrics/job/sync -d ok=1
""")


# ================================================================ connection-strings
p = pw_safe(18)
case("env-database-url", "connection-strings", "dotenv", "services/orders/.env.production", f"""APP_ENV=production
PORT=8080
DATABASE_URL=postgresql://orders_app:{p}@db-orders-prod.cluster-c7x2.eu-central-1.rds.amazonaws.com:5432/orders?sslmode=verify-full
REDIS_URL=rediss://default:{rs(32)}@redis-orders.acme-corp.io:6380/0
SENTRY_ENVIRONMENT=production
""", [(p, "PostgreSQL password in URL"), ("REDIS_URL", "Redis password in URL")])

p = rs(16)
case("mongo-srv-js", "connection-strings", "javascript", "services/catalog/src/db.js", f"""const {{ MongoClient }} = require("mongodb");

const uri =
  "mongodb+srv://catalog-svc:{p}@cluster0.x7k2q.mongodb.net/catalog?retryWrites=true&w=majority";

let client;

async function getDb() {{
  if (!client) {{
    client = new MongoClient(uri, {{ maxPoolSize: 20 }});
    await client.connect();
  }}
  return client.db("catalog");
}}

module.exports = {{ getDb }};
""", [(p, "MongoDB Atlas password in URI")])

p = pw_safe()
case("spring-jdbc", "connection-strings", "properties", "inventory/src/main/resources/application-prod.properties", f"""spring.application.name=inventory
server.port=8080
spring.datasource.url=jdbc:sqlserver://sql-prod-01.corp.acme-corp.io:1433;databaseName=Inventory;encrypt=true;trustServerCertificate=false;user=inventory_app;password={p}
spring.datasource.hikari.maximum-pool-size=20
spring.jpa.hibernate.ddl-auto=validate
management.endpoints.web.exposure.include=health,info,prometheus
""", [(p, "SQL Server password in JDBC URL")])

k = azure_storage_key()
case("cs-azure-storage", "connection-strings", "json", "src/Acme.Functions/local.settings.json", json.dumps({
    "IsEncrypted": False,
    "Values": {"AzureWebJobsStorage": f"DefaultEndpointsProtocol=https;AccountName=acmefuncprod;AccountKey={k};EndpointSuffix=core.windows.net",
               "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
               "ServiceBus": f"Endpoint=sb://acme-orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={b64(32)}"}},
    indent=2) + "\n", [(k, "Azure Storage account key"), ("SharedAccessKey=", "Service Bus SAS key")])

p = pw_safe()
case("go-mysql-dsn", "connection-strings", "go", "internal/store/mysql.go", f"""package store

import (
	"database/sql"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

const dsn = "billing:{p}@tcp(mysql-billing.internal.acme-corp.io:3306)/billing?parseTime=true&tls=true"

func Open() (*sql.DB, error) {{
	db, err := sql.Open("mysql", dsn)
	if err != nil {{
		return nil, err
	}}
	db.SetMaxOpenConns(25)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, db.Ping()
}}
""", [(p, "MySQL password in Go DSN")])

p = pw_safe()
case("amqp-yaml", "connection-strings", "yaml", "config/worker.prod.yaml", f"""worker:
  concurrency: 16
  queues: [emails, webhooks, exports]
broker:
  url: amqps://worker:{p}@rabbitmq.internal.acme-corp.io:5671/prod
  prefetch: 32
results:
  backend: redis://redis.internal.acme-corp.io:6379/2
""", [(p, "RabbitMQ password in AMQP URL")])

p = pw_safe()
case("sqlalchemy-alembic", "connection-strings", "ini", "migrations/alembic.ini", f"""[alembic]
script_location = migrations
prepend_sys_path = .
sqlalchemy.url = postgresql+psycopg://ledger_owner:{p}@ledger-db.internal.acme-corp.io/ledger

[loggers]
keys = root,sqlalchemy,alembic

[logger_root]
level = WARN
handlers = console
""", [(p, "PostgreSQL password in SQLAlchemy URL")])

p = pw_safe()
case("cs-sqlserver-webconfig", "connection-strings", "xml", "LegacyPortal/Web.config", f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <connectionStrings>
    <add name="PortalDb"
         connectionString="Data Source=sql-prod-02;Initial Catalog=Portal;User ID=portal_web;Password={p};MultipleActiveResultSets=True"
         providerName="System.Data.SqlClient" />
  </connectionStrings>
  <appSettings>
    <add key="webpages:Version" value="3.0.0.0" />
    <add key="ClientValidationEnabled" value="true" />
  </appSettings>
  <system.web>
    <compilation debug="false" targetFramework="4.8" />
  </system.web>
</configuration>
""", [(p, "SQL Server password in connection string")])

p = pw_safe()
case("elastic-rust", "connection-strings", "rust", "crates/indexer/src/config.rs", f"""use std::time::Duration;

pub struct Config {{
    pub es_url: String,
    pub batch: usize,
    pub flush: Duration,
}}

impl Default for Config {{
    fn default() -> Self {{
        Self {{
            es_url: "https://elastic:{p}@es-logs.internal.acme-corp.io:9200".to_string(),
            batch: 500,
            flush: Duration::from_secs(5),
        }}
    }}
}}
""", [(p, "Elasticsearch password in URL")])

# connection-strings hard negatives
case("neg-compose-localdb", "connection-strings", "docker-compose", "docker-compose.yml", """services:
  db:
    image: postgres:16
    environment:
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD: postgres
      POSTGRES_DB: app
    ports: ["5432:5432"]
  app:
    build: .
    environment:
      DATABASE_URL: postgres://postgres:postgres@db:5432/app
      REDIS_URL: redis://redis:6379/0
    depends_on: [db, redis]
  redis:
    image: redis:7
""")

case("neg-azurite", "connection-strings", "json", "src/Acme.Functions/local.settings.example.json", json.dumps({
    "IsEncrypted": False,
    "Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
               "BlobConnection": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
               "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated"}}, indent=2) + "\n")

case("neg-dsn-format", "connection-strings", "python", "app/settings/db.py", """import os
from urllib.parse import quote_plus

DB_USER = os.environ["DB_USER"]
DB_PASSWORD = os.environ["DB_PASSWORD"]
DB_HOST = os.getenv("DB_HOST", "localhost")

SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://%s:%s@%s:5432/app" % (
    DB_USER, quote_plus(DB_PASSWORD), DB_HOST)

# docs: postgresql://user:password@host:5432/dbname
TEST_DATABASE_URI = "postgresql+psycopg://test:test@localhost:5433/app_test"
""")

case("neg-jdbc-placeholder", "connection-strings", "yaml", "inventory/src/main/resources/application.yml", """spring:
  datasource:
    url: jdbc:postgresql://${DB_HOST:localhost}:5432/inventory
    username: ${DB_USER:inventory}
    password: ${DB_PASSWORD}
  jpa:
    open-in-view: false
  data:
    mongodb:
      uri: mongodb://localhost:27017/inventory
""")

case("neg-conn-doc", "connection-strings", "markdown", "docs-internal/connecting.md", """## Connection string format

```
Server=<server>.database.windows.net;Database=<db>;User Id=<user>;Password=<password>;Encrypt=True;
```

Example: `mongodb://alice:s3cret@db.example.com:27017/test` (example.com is reserved for documentation).
""")


# ================================================================ http-auth
jt = jwt({"sub": "svc-reporting", "scope": "orders:read", "iat": 1717000000, "exp": 1893456000})
bc = base64.b64encode(f"admin:{pw()}".encode()).decode()
har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
               "pages": [{"startedDateTime": "2024-10-02T08:14:51.120Z", "id": "page_1", "title": "https://app.acme-corp.io/orders",
                          "pageTimings": {"onContentLoad": 812.4, "onLoad": 1290.7}}],
               "entries": [{"startedDateTime": "2024-10-02T08:14:52.002Z", "time": 143.2,
                            "request": {"method": "GET", "url": "https://api.acme-corp.io/v2/orders?limit=50", "httpVersion": "h2",
                                        "headers": [{"name": ":authority", "value": "api.acme-corp.io"},
                                                    {"name": "accept", "value": "application/json"},
                                                    {"name": "authorization", "value": f"Bearer {jt}"},
                                                    {"name": "user-agent", "value": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36"}],
                                        "queryString": [{"name": "limit", "value": "50"}], "cookies": [], "headersSize": -1, "bodySize": 0},
                            "response": {"status": 200, "statusText": "", "httpVersion": "h2",
                                         "headers": [{"name": "content-type", "value": "application/json"}],
                                         "cookies": [], "content": {"size": 5120, "mimeType": "application/json"},
                                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
                            "cache": {}, "timings": {"send": 0.2, "wait": 120.1, "receive": 22.9}}]}}
case("har-bearer", "http-auth", "har", "qa/repro/orders-timeout.har", json.dumps(har, indent=2) + "\n",
     [(jt, "Bearer JWT captured in HAR")])

bc = base64.b64encode(f"jenkins:{rs(34, HEX)}".encode()).decode()
case("curl-trace", "http-auth", "log", "qa/repro/jenkins-trigger.trace.txt", f"""*   Trying 10.20.0.15:443...
* Connected to jenkins.internal.acme-corp.io (10.20.0.15) port 443
* ALPN: curl offers h2,http/1.1
* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384
* Server certificate:
*  subject: CN=jenkins.internal.acme-corp.io
*  issuer: C=US; O=Let's Encrypt; CN=R11
> POST /job/orders-deploy/buildWithParameters?ENV=prod HTTP/1.1
> Host: jenkins.internal.acme-corp.io
> Authorization: Basic {bc}
> User-Agent: curl/8.5.0
> Accept: */*
> Content-Length: 0
>
< HTTP/1.1 201 Created
< Date: Wed, 02 Oct 2024 09:11:02 GMT
< Location: https://jenkins.internal.acme-corp.io/queue/item/88123/
< Content-Length: 0
<
* Connection #0 to host jenkins.internal.acme-corp.io left intact
""", [(bc, "Basic auth credentials (user:API token) in curl trace")])

k = rs(40)
coll = {"info": {"_postman_id": uuid4(), "name": "Partner API", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
        "auth": {"type": "apikey", "apikey": [{"key": "value", "value": k, "type": "string"},
                                              {"key": "key", "value": "X-Api-Key", "type": "string"},
                                              {"key": "in", "value": "header", "type": "string"}]},
        "item": [{"name": "List shipments", "request": {"method": "GET", "header": [],
                                                         "url": {"raw": "{{baseUrl}}/v1/shipments?status=open", "host": ["{{baseUrl}}"],
                                                                 "path": ["v1", "shipments"], "query": [{"key": "status", "value": "open"}]}}}],
        "variable": [{"key": "baseUrl", "value": "https://partner-api.shipfast-logistics.com", "type": "string"}]}
case("postman-apikey", "http-auth", "postman", "qa/postman/partner-api.postman_collection.json", json.dumps(coll, indent="\t") + "\n",
     [(k, "partner API key in Postman collection auth")])

t = jwt({"sub": "ci", "role": "admin", "iat": 1719000000})
case("rest-client-http", "http-auth", "http", "api/requests/admin.http", f"""### list feature flags
GET https://flags.internal.acme-corp.io/api/v1/flags
Authorization: Bearer {t}
Accept: application/json

### toggle a flag
PATCH https://flags.internal.acme-corp.io/api/v1/flags/new-checkout
Authorization: Bearer {t}
Content-Type: application/json

{{"enabled": true, "rollout": 25}}
""", [(t, "Bearer JWT in REST client file")])

k = hx(32)
case("py-requests-apikey", "http-auth", "python", "integrations/weather/client.py", f"""import requests

BASE = "https://api.tomorrow.io/v4"
HEADERS = {{
    "accept": "application/json",
    "apikey": "{rs(32)}",
}}
SESSION = requests.Session()
SESSION.headers.update({{"X-API-Key": "{k}", "User-Agent": "acme-weather/1.4"}})


def forecast(lat: float, lon: float):
    r = SESSION.get(f"{{BASE}}/weather/forecast", params={{"location": f"{{lat}},{{lon}}"}}, headers=HEADERS, timeout=10)
    r.raise_for_status()
    return r.json()["timelines"]["daily"]
""", [('"apikey": "', "weather API key header"), (k, "API key in X-API-Key header")])

bc = base64.b64encode(f"svc-prom:{pw()}".encode()).decode()
case("nginx-proxy-auth", "http-auth", "nginx", "deploy/nginx/conf.d/metrics.conf", f"""upstream prometheus {{
    server prometheus.internal.acme-corp.io:9090;
    keepalive 16;
}}

server {{
    listen 443 ssl;
    server_name metrics.acme-corp.io;
    ssl_certificate     /etc/nginx/certs/metrics.crt;
    ssl_certificate_key /etc/nginx/certs/metrics.key;

    location / {{
        proxy_pass http://prometheus;
        proxy_set_header Host $host;
        proxy_set_header Authorization "Basic {bc}";
    }}
}}
""", [(bc, "Basic auth header injected by nginx")])

k = rs(48, B64U)
case("ts-fetch-header", "http-auth", "typescript", "apps/web/src/lib/cms.ts", f"""const CMS_URL = "https://cms.acme-corp.io/api";

export interface Article {{
  id: string;
  slug: string;
  title: string;
  body: string;
}}

export async function getArticle(slug: string): Promise<Article | null> {{
  const res = await fetch(`${{CMS_URL}}/articles?filters[slug][$eq]=${{slug}}`, {{
    headers: {{
      Authorization: "Bearer {k}",
    }},
    next: {{ revalidate: 60 }},
  }});
  if (!res.ok) return null;
  const json = await res.json();
  return json.data[0] ?? null;
}}
""", [(k, "CMS API bearer token")])

ck = rs(64, B64U)
case("insomnia-cookie", "http-auth", "yaml", "qa/insomnia/admin-export.yaml", f"""type: collection.insomnia.rest/5.0
name: admin-console
meta:
  id: wrk_{hx(32)}
collection:
  - url: https://admin.acme-corp.io/api/users
    name: users
    method: GET
    headers:
      - name: Cookie
        value: session={ck}; theme=dark
      - name: Accept
        value: application/json
environments:
  name: Base Environment
  data:
    host: https://admin.acme-corp.io
""", [(ck, "admin session cookie")])

# http-auth hard negatives
case("neg-rfc-basic", "http-auth", "markdown", "libs/httpauth/README.md", """# httpauth

Tiny helpers for HTTP authentication schemes.

```http
GET /protected HTTP/1.1
Host: www.example.com
Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==
```

The example above is the one from RFC 7617 (`Aladdin:open sesame`).

```python
from httpauth import basic
assert basic("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
```
""")

case("neg-jwt-io-test", "http-auth", "javascript", "packages/auth/test/decode.test.js", """const { decode } = require("../src/decode");

// The well-known sample token from jwt.io
const SAMPLE =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

test("decodes claims without verifying", () => {
  const claims = decode(SAMPLE);
  expect(claims.sub).toBe("1234567890");
  expect(claims.name).toBe("John Doe");
});
""")

case("neg-http-vars", "http-auth", "http", "api/requests/public.http", """@host = https://api.acme-corp.io
@token = {{$dotenv API_TOKEN}}

### health
GET {{host}}/healthz

### me
GET {{host}}/v2/me
Authorization: Bearer {{token}}

### login
POST {{host}}/v2/session
Content-Type: application/json

{"username": "{{$dotenv LOGIN_USER}}", "password": "{{$dotenv LOGIN_PASSWORD}}"}
""")

har2 = {"log": {"version": "1.2", "creator": {"name": "Firefox", "version": "131.0"},
                "entries": [{"startedDateTime": "2024-10-03T12:00:01.000Z", "time": 88,
                             "request": {"method": "POST", "url": "https://api.acme-corp.io/v2/cart", "httpVersion": "HTTP/2",
                                         "headers": [{"name": "Authorization", "value": "[REDACTED]"},
                                                     {"name": "Cookie", "value": "[REDACTED]"},
                                                     {"name": "Content-Type", "value": "application/json"}],
                                         "cookies": [], "queryString": [], "headersSize": -1, "bodySize": 41,
                                         "postData": {"mimeType": "application/json", "text": "{\"sku\":\"TSHIRT-BLK-M\",\"qty\":2}"}},
                             "response": {"status": 500, "statusText": "Internal Server Error", "httpVersion": "HTTP/2",
                                          "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "text/plain"},
                                          "redirectURL": "", "headersSize": -1, "bodySize": 0},
                             "cache": {}, "timings": {"send": 0, "wait": 80, "receive": 8}}]}}
case("neg-har-redacted", "http-auth", "har", "qa/repro/cart-500.sanitized.har", json.dumps(har2, indent=2) + "\n")

case("neg-go-header-env", "http-auth", "go", "internal/partner/client.go", """package partner

import (
	"net/http"
	"os"
)

type transport struct{ base http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Api-Key", os.Getenv("PARTNER_API_KEY"))
	r.Header.Set("Authorization", "Bearer "+tokenFromFile("/var/run/secrets/partner/token"))
	return t.base.RoundTrip(r)
}
""")


# ================================================================ webhooks-bots
h = slack_hook()
case("alertmanager-slack", "webhooks-bots", "yaml", "monitoring/alertmanager/alertmanager.yml", f"""global:
  resolve_timeout: 5m
  slack_api_url: '{h}'

route:
  receiver: slack-oncall
  group_by: [alertname, namespace]
  group_wait: 30s
  repeat_interval: 4h

receivers:
  - name: slack-oncall
    slack_configs:
      - channel: '#oncall'
        send_resolved: true
        title: '{{{{ .CommonLabels.alertname }}}}'
""", [(h, "Slack incoming webhook URL")])

d = discord_hook()
case("py-discord", "webhooks-bots", "python", "bots/release_notify.py", f"""import json
import sys
import urllib.request

WEBHOOK = "{d}"


def post(content: str) -> None:
    req = urllib.request.Request(WEBHOOK, data=json.dumps({{"content": content}}).encode(),
                                 headers={{"Content-Type": "application/json"}})
    urllib.request.urlopen(req, timeout=5)


if __name__ == "__main__":
    post(f"Released {{sys.argv[1]}} :rocket:")
""", [(d, "Discord webhook URL")])

tg = telegram()
case("tg-bot-env", "webhooks-bots", "dotenv", "bots/telegram-oncall/.env", f"""TELEGRAM_BOT_TOKEN={tg}
TELEGRAM_CHAT_ID=-1001876543210
POLL_INTERVAL_SECONDS=30
""", [(tg, "Telegram bot token")])

t = slack_bot()
ss = hx(32)
case("slack-bolt-js", "webhooks-bots", "javascript", "bots/standup/app.js", f"""const {{ App }} = require("@slack/bolt");

const app = new App({{
  token: "{t}",
  signingSecret: "{ss}",
}});

app.command("/standup", async ({{ ack, respond, command }}) => {{
  await ack();
  await respond(`Thanks <@${{command.user_id}}>, noted.`);
}});

(async () => {{
  await app.start(process.env.PORT || 3000);
  console.log("standup bot running");
}})();
""", [(t, "Slack bot token"), (ss, "Slack signing secret")])

tm = teams_hook()
case("ps-teams", "webhooks-bots", "powershell", "scripts/Send-DeployNotice.ps1", f"""param([Parameter(Mandatory)][string]$Version)

$uri = "{tm}"
$body = @{{
    "@type"    = "MessageCard"
    "@context" = "https://schema.org/extensions"
    summary    = "Deploy $Version"
    text       = "Orders API **$Version** is live in production."
}} | ConvertTo-Json

Invoke-RestMethod -Method Post -Uri $uri -Body $body -ContentType "application/json"
""", [(tm, "Microsoft Teams incoming webhook URL")])

gs = hx(40)
case("tf-gh-webhook", "webhooks-bots", "terraform", "infra/github/webhooks.tf", f"""resource "github_repository_webhook" "ci" {{
  repository = "orders-api"

  configuration {{
    url          = "https://ci.acme-corp.io/github-webhook/"
    content_type = "json"
    insecure_ssl = false
    secret       = "{gs}"
  }}

  active = true
  events = ["push", "pull_request"]
}}
""", [(gs, "GitHub webhook secret")])

gc = f"https://chat.googleapis.com/v1/spaces/AAAA{rs(7, B64U)}/messages?key=AIzaSy{rs(33, B64U)}&token={rs(43, B64U)}"
case("gchat-groovy", "webhooks-bots", "groovy", "vars/notifyChat.groovy", f"""def call(String status) {{
    def url = '{gc}'
    def text = "${{env.JOB_NAME}} #${{env.BUILD_NUMBER}}: ${{status}}"
    httpRequest httpMode: 'POST', url: url, contentType: 'APPLICATION_JSON_UTF8',
                requestBody: groovy.json.JsonOutput.toJson([text: text]), validResponseCodes: '200'
}}
""", [(gc, "Google Chat webhook URL (key+token)")])

h = slack_hook()
case("gh-actions-slack", "webhooks-bots", "github-actions", ".github/workflows/nightly.yml", f"""name: nightly
on:
  schedule:
    - cron: "0 2 * * *"
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci && npx playwright install --with-deps && npm run e2e
      - name: notify failure
        if: failure()
        run: |
          curl -X POST -H 'Content-type: application/json' \\
            --data '{{"text":"nightly e2e failed: ${{{{ github.server_url }}}}/${{{{ github.repository }}}}/actions/runs/${{{{ github.run_id }}}}"}}' \\
            {h}
""", [(h, "Slack incoming webhook URL")])

# webhooks-bots hard negatives
case("neg-slack-doc-hook", "webhooks-bots", "yaml", "monitoring/alertmanager/alertmanager.example.yml", """# Copy to alertmanager.yml and replace the webhook URL.
global:
  slack_api_url: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'
route:
  receiver: slack
receivers:
  - name: slack
    slack_configs:
      - channel: '#alerts-test'
""")

case("neg-slack-url-file", "webhooks-bots", "yaml", "monitoring/alertmanager/alertmanager.prod.yml", """global:
  slack_api_url_file: /etc/alertmanager/secrets/slack-webhook-url
route:
  receiver: pagerduty
receivers:
  - name: pagerduty
    pagerduty_configs:
      - routing_key_file: /etc/alertmanager/secrets/pd-routing-key
        severity: '{{ .CommonLabels.severity }}'
""")

case("neg-telegram-doc", "webhooks-bots", "python", "bots/telegram-oncall/config.py", '''import os

# Token looks like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11 (Telegram docs example).
TOKEN = os.environ["TELEGRAM_BOT_TOKEN"]
CHAT_ID = int(os.environ.get("TELEGRAM_CHAT_ID", "0"))
API = f"https://api.telegram.org/bot{TOKEN}"
''')

case("neg-discord-channel-ids", "webhooks-bots", "json", "bots/moderation/channels.json", json.dumps({
    "guild_id": "1029384756102938475", "channels": {"announcements": "1093847561029384756", "alerts": "1102938475610293847"},
    "webhook_url_env": "DISCORD_WEBHOOK_URL", "roles": {"oncall": "1111222233334444555"}}, indent=2) + "\n")

case("neg-webhook-verify", "webhooks-bots", "ruby", "app/controllers/webhooks/github_controller.rb", """module Webhooks
  class GithubController < ApplicationController
    skip_forgery_protection

    def create
      signature = "sha256=" + OpenSSL::HMAC.hexdigest("SHA256", ENV.fetch("GITHUB_WEBHOOK_SECRET"), request.raw_post)
      unless Rack::Utils.secure_compare(signature, request.headers["X-Hub-Signature-256"].to_s)
        return head :unauthorized
      end
      GithubEventJob.perform_later(request.headers["X-GitHub-Event"], request.raw_post)
      head :accepted
    end
  end
end
""")


# ================================================================ generic
p = pw()
case("k8s-secret-data", "generic", "kubernetes", "k8s/base/orders-secret.yaml", f"""apiVersion: v1
kind: Secret
metadata:
  name: orders-config
  namespace: orders
  labels:
    app.kubernetes.io/name: orders
type: Opaque
data:
  DB_USER: {base64.b64encode(b"orders_app").decode()}
  DB_PASSWORD: {base64.b64encode(p.encode()).decode()}
  LOG_LEVEL: {base64.b64encode(b"info").decode()}
""", [(base64.b64encode(p.encode()).decode(), "base64 DB password in Secret data")])

sk = rs(50, string.ascii_lowercase + string.digits + "!@#$%^&*(-_=+)")
p = pw()
case("django-settings", "generic", "python", "backend/acme/settings/production.py", f"""from .base import *  # noqa

DEBUG = False
ALLOWED_HOSTS = ["app.acme-corp.io"]

SECRET_KEY = "{sk}"

DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "acme",
        "USER": "acme_web",
        "PASSWORD": "{p}",
        "HOST": "db-web.internal.acme-corp.io",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
    }}
}}

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
""", [(sk, "Django SECRET_KEY"), (p, "database password")])

p = pw()
case("spring-yaml", "generic", "yaml", "accounts/src/main/resources/application-prod.yml", f"""server:
  port: 8443
  ssl:
    key-store: classpath:keystore.p12
    key-store-password: {p}
    key-store-type: PKCS12
spring:
  datasource:
    url: jdbc:postgresql://accounts-db:5432/accounts
    username: accounts
    password: ${{DB_PASSWORD}}
  security:
    oauth2:
      client:
        registration:
          okta:
            client-id: 0oa{rs(17)}
            client-secret: {rs(40, ALNUM + "-_")}
            scope: openid,profile,email
""", [(p, "keystore password"), ("client-secret:", "OAuth client secret")])

kb = base64.b64encode(rbytes(32)).decode()
case("laravel-env", "generic", "dotenv", "backend/.env", f"""APP_NAME=AcmeShop
APP_ENV=production
APP_KEY=base64:{kb}
APP_DEBUG=false
APP_URL=https://shop.acme-corp.io

DB_CONNECTION=mysql
DB_HOST=mysql-shop.internal
DB_PORT=3306
DB_DATABASE=shop
DB_USERNAME=shop
DB_PASSWORD={pw()}

MAIL_MAILER=smtp
MAIL_HOST=smtp.mailgun.org
MAIL_USERNAME=postmaster@mg.acme-corp.io
MAIL_PASSWORD={hx(32)}-{hx(8)}-{hx(8)}
""", [(kb, "Laravel APP_KEY"), ("DB_PASSWORD=", "database password"), ("MAIL_PASSWORD=", "Mailgun SMTP password")])

kb = rs(64, ALNUM)
case("dotnet-jwt", "generic", "json", "src/Acme.Api/appsettings.json", json.dumps({
    "ConnectionStrings": {"Default": "Host=localhost;Database=acme;Username=acme;Password=acme"},
    "Jwt": {"Issuer": "https://api.acme-corp.io", "Audience": "acme-clients", "SigningKey": kb, "ExpiresMinutes": 30},
    "Serilog": {"MinimumLevel": "Information"}}, indent=2) + "\n", [(kb, "JWT HMAC signing key")])

skb = hx(128)
case("rails-credentials-plain", "generic", "yaml", "config/credentials.plain.yml", f"""# decrypted copy for debugging -- DELETE ME
secret_key_base: {skb}

aws:
  access_key_id: {aws_key_id()}
  secret_access_key: {aws_secret()}

active_record_encryption:
  primary_key: {rs(32)}
  deterministic_key: {rs(32)}
  key_derivation_salt: {rs(32)}
""", [(skb, "Rails secret_key_base"), ("secret_access_key:", "AWS secret access key"),
      ("primary_key:", "AR encryption primary key"), ("deterministic_key:", "AR encryption deterministic key"),
      ("key_derivation_salt:", "AR encryption key derivation salt")])

p = pw()
case("java-const", "generic", "java", "legacy/src/main/java/com/acme/ftp/FtpExporter.java", f"""package com.acme.ftp;

import org.apache.commons.net.ftp.FTPSClient;

import java.io.IOException;
import java.io.InputStream;

public class FtpExporter {{
    private static final String HOST = "ftp.partner-bank.net";
    private static final String USER = "acme_exports";
    private static final String PASSWORD = "{p}";

    public void upload(String name, InputStream in) throws IOException {{
        FTPSClient ftp = new FTPSClient("TLS", false);
        ftp.connect(HOST, 990);
        try {{
            if (!ftp.login(USER, PASSWORD)) {{
                throw new IOException("login failed: " + ftp.getReplyString());
            }}
            ftp.execPROT("P");
            ftp.storeFile("/incoming/" + name, in);
        }} finally {{
            ftp.disconnect();
        }}
    }}
}}
""", [(p, "FTPS password constant")])

s = rs(48, B64U)
case("express-session", "generic", "javascript", "services/web/src/app.js", f"""const express = require("express");
const session = require("express-session");
const RedisStore = require("connect-redis").default;
const {{ createClient }} = require("redis");

const app = express();
const redis = createClient({{ url: process.env.REDIS_URL }});
redis.connect().catch(console.error);

app.use(
  session({{
    store: new RedisStore({{ client: redis, prefix: "sess:" }}),
    secret: "{s}",
    resave: false,
    saveUninitialized: false,
    cookie: {{ secure: true, httpOnly: true, maxAge: 1000 * 60 * 60 * 8 }},
  }})
);

app.get("/healthz", (_req, res) => res.send("ok"));

module.exports = app;
""", [(s, "express-session secret")])

p = pw()
case("go-struct-literal", "generic", "go", "cmd/smtp-relay/config.go", f"""package main

type SMTPConfig struct {{
	Host     string
	Port     int
	Username string
	Password string
}}

var defaultSMTP = SMTPConfig{{
	Host:     "smtp.office365.com",
	Port:     587,
	Username: "noreply@acme-corp.io",
	Password: "{p}",
}}
""", [(p, "SMTP password in Go struct")])

p = pw()
case("csharp-const", "generic", "csharp", "src/Acme.Reports/ReportMailer.cs", f"""using System.Net;
using System.Net.Mail;

namespace Acme.Reports;

internal static class ReportMailer
{{
    private const string SmtpUser = "reports@acme-corp.io";
    private const string SmtpPassword = "{p}";

    public static void Send(string to, string subject, string html)
    {{
        using var client = new SmtpClient("smtp.office365.com", 587)
        {{
            EnableSsl = true,
            Credentials = new NetworkCredential(SmtpUser, SmtpPassword),
        }};
        client.Send(new MailMessage(SmtpUser, to, subject, html) {{ IsBodyHtml = true }});
    }}
}}
""", [(p, "SMTP password constant")])

p = pw()
case("php-wpconfig", "generic", "php", "wordpress/wp-config.php", f"""<?php
define( 'DB_NAME', 'wp_marketing' );
define( 'DB_USER', 'wp_marketing' );
define( 'DB_PASSWORD', '{p}' );
define( 'DB_HOST', 'mysql-marketing.internal' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

define( 'AUTH_KEY',         '{rs(64, ALNUM + "!@#%^&*()-_[]{}<>~+=,.;:/?|")}' );
define( 'SECURE_AUTH_KEY',  '{rs(64, ALNUM + "!@#%^&*()-_[]{}<>~+=,.;:/?|")}' );

$table_prefix = 'wp_';
define( 'WP_DEBUG', false );

if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
""", [(p, "WordPress DB password"), ("'AUTH_KEY'", "WordPress AUTH_KEY salt"), ("'SECURE_AUTH_KEY'", "WordPress SECURE_AUTH_KEY salt")])

p = pw()
case("ansible-vars-plain", "generic", "ansible", "ansible/group_vars/db_servers.yml", f"""---
postgresql_version: 16
postgresql_listen_addresses: "*"
postgresql_users:
  - name: replicator
    password: "{p}"
    role_attr_flags: REPLICATION
  - name: app
    password: "{{{{ vault_pg_app_password }}}}"
postgresql_hba_entries:
  - {{ type: hostssl, database: replication, user: replicator, address: 10.20.0.0/16, auth_method: scram-sha-256 }}
""", [(p, "replication user password")])

p = pw()
case("helm-values-prod", "generic", "helm", "charts/keycloak/values-prod.yaml", f"""replicas: 2
auth:
  adminUser: admin
  adminPassword: "{p}"
postgresql:
  enabled: false
externalDatabase:
  host: keycloak-db.internal.acme-corp.io
  user: keycloak
  existingSecret: keycloak-db
  existingSecretPasswordKey: password
ingress:
  enabled: true
  hostname: sso.acme-corp.io
""", [(p, "Keycloak admin password")])

p = pw()
case("tf-rds", "generic", "terraform", "infra/aws/rds.tf", f"""resource "aws_db_instance" "reporting" {{
  identifier              = "reporting-prod"
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.r6g.large"
  allocated_storage       = 200
  username                = "reporting_admin"
  password                = "{p}"
  db_subnet_group_name    = aws_db_subnet_group.private.name
  vpc_security_group_ids  = [aws_security_group.db.id]
  backup_retention_period = 14
  deletion_protection     = true
  skip_final_snapshot     = false
}}
""", [(p, "RDS master password")])

p = pw()
case("gitlab-ci-vars", "generic", "gitlab-ci", "services/search/.gitlab-ci.yml", f"""include:
  - project: platform/ci-templates
    file: /docker.yml

variables:
  OPENSEARCH_URL: https://search.internal.acme-corp.io:9200
  OPENSEARCH_USER: ci-indexer
  OPENSEARCH_PASSWORD: "{p}"

reindex:
  stage: deploy
  image: curlimages/curl:8.8.0
  script:
    - curl -fsS -u "$OPENSEARCH_USER:$OPENSEARCH_PASSWORD" -X POST "$OPENSEARCH_URL/_reindex" -H 'Content-Type: application/json' -d @reindex.json
  when: manual
""", [(p, "OpenSearch password in CI variables")])

p = pw()
case("ruby-database-yml", "generic", "yaml", "config/database.yml", f"""default: &default
  adapter: postgresql
  encoding: unicode
  pool: <%= ENV.fetch("RAILS_MAX_THREADS") {{ 5 }} %>

development:
  <<: *default
  database: shop_development

test:
  <<: *default
  database: shop_test

production:
  <<: *default
  host: shop-db.internal.acme-corp.io
  database: shop_production
  username: shop
  password: {p}
""", [(p, "production database password")])

s = rs(32, ALNUM)
case("toml-app", "generic", "toml", "services/gateway/config/prod.toml", f"""[server]
listen = "0.0.0.0:8443"
read_timeout = "15s"

[auth]
issuer = "https://auth.acme-corp.io"
audience = "gateway"
hmac_secret = "{s}"

[upstreams.orders]
url = "http://orders.orders.svc.cluster.local:8080"
retries = 2
""", [(s, "HMAC secret")])

p = pw()
case("rust-const", "generic", "rust", "crates/ldap-sync/src/main.rs", f"""use ldap3::{{LdapConnAsync, Scope, SearchEntry}};

const LDAP_URL: &str = "ldaps://ldap.corp.acme-corp.io:636";
const BIND_DN: &str = "cn=svc-sync,ou=services,dc=acme,dc=corp";
const BIND_PASSWORD: &str = "{p}";

#[tokio::main]
async fn main() -> anyhow::Result<()> {{
    let (conn, mut ldap) = LdapConnAsync::new(LDAP_URL).await?;
    ldap3::drive!(conn);
    ldap.simple_bind(BIND_DN, BIND_PASSWORD).await?.success()?;
    let (rs, _) = ldap
        .search("ou=people,dc=acme,dc=corp", Scope::Subtree, "(objectClass=person)", vec!["uid", "mail"])
        .await?
        .success()?;
    for e in rs {{
        println!("{{:?}}", SearchEntry::construct(e).attrs);
    }}
    Ok(ldap.unbind().await?)
}}
""", [(p, "LDAP bind password")])

p = pw()
case("kotlin-android-props", "generic", "properties", "android/keystore.properties", f"""storeFile=../keys/release.jks
storePassword={p}
keyAlias=release
keyPassword={p}
""", [(p, "Android keystore/key password")])

cs = rs(40, ALNUM)
case("swift-oauth", "generic", "swift", "ios/AcmeApp/Config/OAuthConfig.swift", f"""import Foundation

enum OAuthConfig {{
    static let authorizeURL = URL(string: "https://auth.acme-corp.io/oauth2/authorize")!
    static let tokenURL = URL(string: "https://auth.acme-corp.io/oauth2/token")!
    static let clientID = "ios-app"
    static let clientSecret = "{cs}"
    static let redirectURI = "io.acme.app://oauth/callback"
    static let scopes = ["openid", "profile", "orders"]
}}
""", [(cs, "OAuth client secret in mobile app")])

p = pw()
case("xml-tomcat-users", "generic", "xml", "deploy/tomcat/conf/tomcat-users.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users xmlns="http://tomcat.apache.org/xml"
              xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
              xsi:schemaLocation="http://tomcat.apache.org/xml tomcat-users.xsd"
              version="1.0">
  <role rolename="manager-gui"/>
  <role rolename="manager-script"/>
  <user username="deployer" password="{p}" roles="manager-script"/>
</tomcat-users>
""", [(p, "Tomcat manager password")])

p = pw()
case("elixir-runtime", "generic", "elixir", "config/runtime.exs", f"""import Config

if config_env() == :prod do
  config :chat, Chat.Repo,
    username: "chat",
    password: "{p}",
    hostname: "chat-db.internal.acme-corp.io",
    database: "chat_prod",
    pool_size: 15

  config :chat, ChatWeb.Endpoint,
    url: [host: "chat.acme-corp.io", port: 443, scheme: "https"],
    secret_key_base: System.fetch_env!("SECRET_KEY_BASE")
end
""", [(p, "database password")])

p = pw()
case("lua-redis", "generic", "lua", "openresty/lua/ratelimit.lua", f"""local redis = require "resty.redis"

local _M = {{}}

local REDIS_HOST = "10.20.4.11"
local REDIS_PASSWORD = "{p}"

function _M.incr(key, window)
  local red = redis:new()
  red:set_timeouts(100, 100, 100)
  local ok, err = red:connect(REDIS_HOST, 6379)
  if not ok then return nil, err end
  local res, aerr = red:auth(REDIS_PASSWORD)
  if not res then return nil, aerr end
  local n = red:incr(key)
  if n == 1 then red:expire(key, window) end
  red:set_keepalive(10000, 50)
  return n
end

return _M
""", [(p, "Redis password")])

p = pw()
case("sql-create-user", "generic", "sql", "db/migrations/V42__reporting_user.sql", f"""-- reporting read-only account for the BI tool
CREATE ROLE reporting_ro WITH LOGIN PASSWORD '{p}';
GRANT CONNECT ON DATABASE orders TO reporting_ro;
GRANT USAGE ON SCHEMA public TO reporting_ro;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting_ro;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reporting_ro;
""", [(p, "database role password")])

p = pw()
case("perl-dbi", "generic", "perl", "scripts/legacy/nightly_report.pl", f"""#!/usr/bin/perl
use strict;
use warnings;
use DBI;

my $dsn  = "DBI:mysql:database=crm;host=crm-db.internal;port=3306";
my $user = "crm_report";
my $pass = "{p}";

my $dbh = DBI->connect($dsn, $user, $pass, {{ RaiseError => 1, AutoCommit => 1 }});
my $sth = $dbh->prepare("SELECT id, email, created_at FROM customers WHERE created_at > NOW() - INTERVAL 1 DAY");
$sth->execute();
while (my $row = $sth->fetchrow_hashref) {{
    print join(",", $row->{{id}}, $row->{{email}}, $row->{{created_at}}), "\\n";
}}
$dbh->disconnect;
""", [(p, "MySQL password")])

# generic hard negatives
case("neg-ansible-vault", "generic", "ansible", "ansible/group_vars/web/vault.yml", "vault_db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n"
     + "\n".join("          " + hx(80) for _ in range(5)) + "\nvault_smtp_user: noreply@acme-corp.io\n")

case("neg-gha-secret-ref", "generic", "github-actions", ".github/workflows/integration.yml", """name: integration
on: [pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: postgres
        ports: ["5432:5432"]
    env:
      DATABASE_URL: postgres://postgres:postgres@localhost:5432/postgres
      API_SECRET: ${{ secrets.STAGING_API_SECRET }}
      JWT_SIGNING_KEY: ${{ secrets.JWT_SIGNING_KEY }}
    steps:
      - uses: actions/checkout@v4
      - run: go test ./... -tags integration
""")

case("neg-password-field-names", "generic", "typescript", "apps/web/src/forms/signup.ts", """import { z } from "zod";

export const PASSWORD_FIELD = "password";
export const CONFIRM_FIELD = "passwordConfirm";
export const MIN_PASSWORD_LENGTH = 12;

export const signupSchema = z
  .object({
    email: z.string().email(),
    [PASSWORD_FIELD]: z.string().min(MIN_PASSWORD_LENGTH),
    [CONFIRM_FIELD]: z.string(),
  })
  .refine((v) => v.password === v.passwordConfirm, { message: "Passwords do not match" });

export const labels = { password: "Password", token: "One-time code", secret: "Recovery secret" };
""")

case("neg-helm-template-secret", "generic", "helm", "charts/orders/templates/secret.yaml", """apiVersion: v1
kind: Secret
metadata:
  name: {{ include "orders.fullname" . }}
  labels:
    {{- include "orders.labels" . | nindent 4 }}
type: Opaque
data:
  DB_PASSWORD: {{ .Values.db.password | b64enc | quote }}
  API_KEY: {{ required "apiKey is required" .Values.apiKey | b64enc | quote }}
""")

case("neg-external-secret", "generic", "kubernetes", "k8s/base/orders-externalsecret.yaml", """apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: orders-config
  namespace: orders
spec:
  refreshInterval: 1h
  secretStoreRef:
    kind: ClusterSecretStore
    name: aws-secrets-manager
  target:
    name: orders-config
  data:
    - secretKey: DB_PASSWORD
      remoteRef:
        key: prod/orders/db
        property: password
""")

case("neg-env-example", "generic", "dotenv", "backend/.env.example", """APP_NAME=AcmeShop
APP_ENV=local
APP_KEY=
APP_DEBUG=true
DB_HOST=127.0.0.1
DB_DATABASE=shop
DB_USERNAME=root
DB_PASSWORD=
MAIL_PASSWORD=null
STRIPE_SECRET=your-stripe-secret-here
JWT_SECRET=changeme
""")


# ================================================================ key-material-files
def jks_bytes(n=2200):
    return bytes.fromhex("feedfeed0000000200000001000000010007") + b"release" + rbytes(n)


def p12_bytes(n=2500):
    return bytes.fromhex("308209") + bytes([R.randint(0x80, 0xff)]) + bytes.fromhex("020103308209") + rbytes(n)


case("jks-release", "key-material-files", "jks", "android/app/release.jks", None, [(0, "Java keystore with release signing key")], binary=jks_bytes())
case("p12-client", "key-material-files", "pkcs12", "deploy/mtls/partner-client.p12", None, [(0, "PKCS#12 client certificate + key")], binary=p12_bytes())
case("pfx-codesign", "key-material-files", "pkcs12", "build/signing/codesign.pfx", None, [(0, "PKCS#12 code signing bundle")], binary=p12_bytes(3100))
case("keystore-tomcat", "key-material-files", "jks", "deploy/tomcat/conf/.keystore", None, [(0, "Tomcat JKS keystore")], binary=jks_bytes(1800))

k = openssh_key()
case("id-ed25519-file", "key-material-files", "openssh-key", "ops/ansible/files/id_deploy", k + "\n",
     [(first_body(k), "OpenSSH private key file", -1)])

ckd = base64.b64encode((ec_key() + "\n").encode()).decode()
case("kubeconfig-client-key", "key-material-files", "kubeconfig", "ops/kube/admin-prod.kubeconfig", f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode((cert() + chr(10)).encode()).decode()}
    server: https://k8s-prod.internal.acme-corp.io:6443
  name: prod
contexts:
- context:
    cluster: prod
    user: admin-prod
  name: admin@prod
current-context: admin@prod
users:
- name: admin-prod
  user:
    client-certificate-data: {base64.b64encode((cert() + chr(10)).encode()).decode()}
    client-key-data: {ckd}
""", [(ckd, "kubeconfig client private key (base64 PEM)")])

mk = hx(32)
case("rails-master-key", "key-material-files", "text", "config/master.key", mk + "\n", [(mk, "Rails master key")])

wk = base64.b64encode(rbytes(32)).decode()
case("wireguard-conf", "key-material-files", "ini", "ops/vpn/wg0.conf", f"""[Interface]
Address = 10.66.0.1/24
ListenPort = 51820
PrivateKey = {wk}

[Peer]
# laptop-jdoe
PublicKey = {base64.b64encode(rbytes(32)).decode()}
AllowedIPs = 10.66.0.2/32

[Peer]
# ci-runner
PublicKey = {base64.b64encode(rbytes(32)).decode()}
AllowedIPs = 10.66.0.3/32
""", [(wk, "WireGuard interface private key")])

k = rsa_key()
case("chart-files-key", "key-material-files", "pem", "charts/webhook/files/tls.key", k + "\n",
     [(first_body(k), "RSA private key shipped in chart", -1)])

# key-material-files hard negatives
case("neg-pub-file", "key-material-files", "openssh-pub", "ops/ansible/files/id_deploy.pub", ssh_ed_pub("deploy@acme-ci") + "\n")
case("neg-crt-file", "key-material-files", "pem", "deploy/mtls/partner-ca.crt", cert() + "\n")
csr = pem("CERTIFICATE REQUEST", bytes.fromhex("308202"), 650)
case("neg-csr-file", "key-material-files", "pem", "deploy/certs/api.acme-corp.io.csr", csr + "\n")
case("neg-kubeconfig-exec", "key-material-files", "kubeconfig", "ops/kube/eks-prod.kubeconfig", f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {base64.b64encode((cert() + chr(10)).encode()).decode()}
    server: https://{hx(32).upper()}.gr7.eu-central-1.eks.amazonaws.com
  name: eks-prod
contexts:
- context:
    cluster: eks-prod
    user: eks-prod
  name: eks-prod
current-context: eks-prod
users:
- name: eks-prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, orders-prod, --region, eu-central-1]
""")
case("neg-keys-readme", "key-material-files", "markdown", "android/keys/README.md", """# Signing keys

The release keystore is **not** in the repository. CI downloads it from
the secure files store (`release.jks`) and reads the passwords from
`ANDROID_KEYSTORE_PASSWORD` / `ANDROID_KEY_PASSWORD`.

For local builds a debug keystore is generated automatically by Gradle in
`~/.android/debug.keystore` (password `android`).
""")


# ================================================================ public-material (all negatives)
case("pub-ca-bundle", "public-material", "pem", "deploy/certs/ca-bundle.pem", cert() + "\n" + cert() + "\n")
case("pub-pubkey-pem", "public-material", "pem", "auth/keys/jwt-verify.pub.pem", pubkey() + "\n")
case("pub-authorized-keys", "public-material", "authorized_keys", "ops/ansible/files/authorized_keys",
     "\n".join([ssh_ed_pub("jdoe@laptop"), ssh_pub("ci@jenkins"), 'from="10.20.0.0/16",no-pty ' + ssh_ed_pub("backup@nas")]) + "\n")
case("pub-known-hosts", "public-material", "known_hosts", "ops/ssh/known_hosts",
     "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
     + "gitlab.acme-corp.io " + ssh_ed_pub("").strip() + "\n"
     + "|1|" + b64(20) + "|" + b64(20) + " " + ssh_ed_pub("").strip() + "\n")
_pgb = wrap(base64.b64encode(b'\x99\x01\x0d\x04' + rbytes(900)).decode())
pgpub = f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{_pgb}\n={rs(4, B64A)}\n-----END PGP PUBLIC KEY BLOCK-----"
case("pub-pgp", "public-material", "asc", "release/signing/KEYS.asc", "pub   rsa4096 2024-01-10 [SC] [expires: 2027-01-09]\n      " + hx(40).upper() + "\nuid           Acme Release Signing <release@acme-corp.io>\n\n" + pgpub + "\n")
case("pub-age-recipients", "public-material", "yaml", ".sops.yaml", f"""creation_rules:
  - path_regex: k8s/overlays/prod/.*\\.enc\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: >-
      {age_pair()[1]},
      {age_pair()[1]}
  - path_regex: k8s/overlays/staging/.*\\.enc\\.yaml$
    age: {age_pair()[1]}
""")
n = base64.urlsafe_b64encode(rbytes(256)).rstrip(b"=").decode()
case("pub-jwks", "public-material", "json", "auth/static/.well-known/jwks.json", json.dumps({"keys": [
    {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "2024-10", "n": n, "e": "AQAB"},
    {"kty": "EC", "use": "sig", "alg": "ES256", "kid": "2024-10-ec", "crv": "P-256",
     "x": base64.urlsafe_b64encode(rbytes(32)).rstrip(b"=").decode(), "y": base64.urlsafe_b64encode(rbytes(32)).rstrip(b"=").decode()}]}, indent=2) + "\n")
certb = "".join(cert().split("\n")[1:-1])
case("pub-saml-metadata", "public-material", "xml", "sso/idp-metadata.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk{rs(17)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data>
          <ds:X509Certificate>{certb}</ds:X509Certificate>
        </ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://acme.okta.com/app/acme_portal/exk{rs(17)}/sso/saml"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
""")
case("pub-firebase-config", "public-material", "typescript", "apps/mobile-web/src/firebase.ts", f"""import {{ initializeApp }} from "firebase/app";
import {{ getAuth }} from "firebase/auth";

// Firebase web config is public by design; access is governed by security rules.
const firebaseConfig = {{
  apiKey: "AIzaSy{rs(33, B64U)}",
  authDomain: "acme-mobile-prod.firebaseapp.com",
  projectId: "acme-mobile-prod",
  storageBucket: "acme-mobile-prod.appspot.com",
  messagingSenderId: "{digits(12)}",
  appId: "1:{digits(12)}:web:{hx(22)}",
  measurementId: "G-{rs(10, UPPER_AN)}",
}};

export const app = initializeApp(firebaseConfig);
export const auth = getAuth(app);
""")
case("pub-mapbox", "public-material", "javascript", "apps/web/src/map/init.js", f"""import mapboxgl from "mapbox-gl";

mapboxgl.accessToken =
  "pk.eyJ1IjoiYWNtZS1jb3JwIiwiYSI6Ij{rs(20)}In0.{rs(22, B64U)}";

export function createMap(container) {{
  return new mapboxgl.Map({{
    container,
    style: "mapbox://styles/mapbox/streets-v12",
    center: [13.405, 52.52],
    zoom: 11,
  }});
}}
""")
case("pub-stripe-pk", "public-material", "dotenv", "apps/web/.env.production", f"""NEXT_PUBLIC_API_URL=https://api.acme-corp.io
NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY=pk_live_{rs(99)}
NEXT_PUBLIC_SENTRY_DSN=https://{hx(32)}@o{digits(6)}.ingest.sentry.io/{digits(7)}
NEXT_PUBLIC_POSTHOG_KEY=phc_{rs(43)}
NEXT_PUBLIC_RECAPTCHA_SITE_KEY=6L{rs(38, B64U)}
""")
case("pub-algolia", "public-material", "javascript", "apps/docs/src/search.js", f"""import algoliasearch from "algoliasearch/lite";
import instantsearch from "instantsearch.js";

// search-only key (safe to expose); the admin key lives in CI only
const searchClient = algoliasearch("{rs(10, UPPER_AN)}", "{hx(32)}");

export const search = instantsearch({{
  indexName: "docs_prod",
  searchClient,
}});
""")
case("pub-sentry-dsn-py", "public-material", "python", "backend/acme/sentry.py", f"""import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

sentry_sdk.init(
    dsn="https://{hx(32)}@o{digits(6)}.ingest.us.sentry.io/{digits(7)}",
    integrations=[DjangoIntegration()],
    traces_sample_rate=0.05,
    send_default_pii=False,
    environment="production",
)
""")
case("pub-cosign", "public-material", "pem", "release/cosign.pub", pem("PUBLIC KEY", bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200"), 65) + "\n")
case("pub-minisign", "public-material", "text", "release/minisign.pub", f"untrusted comment: minisign public key {hx(16).upper()}\nRWQ{rs(53, B64A)}\n")
case("pub-ssh-ca", "public-material", "text", "ops/ssh/trusted_user_ca_keys.pem", ssh_ed_pub("acme-user-ca-2024") + "\n" + ssh_ed_pub("acme-user-ca-2025") + "\n")
case("pub-apt-gpg", "public-material", "dockerfile", "images/base/Dockerfile", f"""FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl gnupg \\
 && install -m 0755 -d /etc/apt/keyrings \\
 && curl -fsSL https://download.docker.com/linux/debian/gpg | gpg --dearmor -o /etc/apt/keyrings/docker.gpg \\
 && gpg --show-keys --with-fingerprint /etc/apt/keyrings/docker.gpg | grep -q "9DC8 5822 9FC7 DD38 854A  E2D8 8D81 803C 0EBF CD88" \\
 && echo "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] https://download.docker.com/linux/debian bookworm stable" > /etc/apt/sources.list.d/docker.list \\
 && apt-get update && apt-get install -y docker-ce-cli \\
 && rm -rf /var/lib/apt/lists/*
ENV NODE_KEYS="{hx(40).upper()} {hx(40).upper()}"
""")
case("pub-android-pins", "public-material", "xml", "android/app/src/main/res/xml/network_security_config.xml", f"""<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
    <domain-config cleartextTrafficPermitted="false">
        <domain includeSubdomains="true">api.acme-corp.io</domain>
        <pin-set expiration="2026-06-30">
            <pin digest="SHA-256">{b64(32)}</pin>
            <pin digest="SHA-256">{b64(32)}</pin>
        </pin-set>
    </domain-config>
</network-security-config>
""")
case("pub-dkim-zone", "public-material", "dns-zone", "dns/zones/acme-corp.io.zone", f"""$ORIGIN acme-corp.io.
$TTL 3600
@       IN SOA ns1.acme-corp.io. hostmaster.acme-corp.io. ( 2024100201 7200 3600 1209600 3600 )
@       IN NS  ns1.acme-corp.io.
@       IN NS  ns2.acme-corp.io.
@       IN MX  10 mx1.acme-corp.io.
@       IN TXT "v=spf1 include:_spf.google.com include:sendgrid.net -all"
google._domainkey IN TXT ( "v=DKIM1; k=rsa; p={b64(200)[:180]}"
                           "{b64(90)}" )
_dmarc  IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@acme-corp.io"
bastion IN SSHFP 4 2 {hx(64)}
""")
case("pub-wg-peer", "public-material", "ini", "ops/vpn/client-template.conf", f"""[Interface]
Address = 10.66.0.{R.randint(10, 200)}/32
DNS = 10.66.0.1
PostUp = wg set %i private-key /etc/wireguard/client.key

[Peer]
PublicKey = {base64.b64encode(rbytes(32)).decode()}
PresharedKey = 
Endpoint = vpn.acme-corp.io:51820
AllowedIPs = 10.0.0.0/8
PersistentKeepalive = 25
""")
case("pub-tuf-root", "public-material", "json", "release/tuf/root.json", json.dumps({
    "signed": {"_type": "root", "spec_version": "1.0.31", "version": 3, "expires": "2026-01-01T00:00:00Z",
               "keys": {hx(64): {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hx(64)}},
                        hx(64): {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": hx(64)}}},
               "roles": {"root": {"keyids": [], "threshold": 1}}, "consistent_snapshot": True},
    "signatures": [{"keyid": hx(64), "sig": hx(128)}]}, indent=2) + "\n")
case("pub-pusher", "public-material", "javascript", "apps/web/src/realtime.js", f"""import Pusher from "pusher-js";

export const pusher = new Pusher("{hx(20)}", {{
  cluster: "eu",
  channelAuthorization: {{ endpoint: "/api/pusher/auth" }},
}});
""")
case("pub-helm-ca", "public-material", "helm", "charts/gateway/values-ca.yaml", "trustedCA:\n  enabled: true\n  bundle: |\n" + "\n".join("    " + l for l in cert().split("\n")) + "\n")
case("pub-gpg-fingerprints", "public-material", "markdown", "SECURITY.md", f"""# Security policy

Report vulnerabilities to security@acme-corp.io. Encrypt with our key:

- Key ID: `0x{hx(16).upper()}`
- Fingerprint: `{' '.join(hx(4).upper() for _ in range(10))}`

Release artifacts are signed with cosign; verify with `release/cosign.pub`.
""")
case("pub-eth-addresses", "public-material", "json", "contracts/deployments/mainnet.json", json.dumps({
    "chainId": 1, "deployer": "0x" + hx(40), "contracts": {"Treasury": "0x" + hx(40), "Vesting": "0x" + hx(40)},
    "txHashes": {"Treasury": "0x" + hx(64), "Vesting": "0x" + hx(64)}}, indent=2) + "\n")
case("pub-cert-go-test", "public-material", "go", "pkg/tlsutil/testdata_test.go", "package tlsutil\n\n// leaf certificate for parser tests (public)\nconst testLeafPEM = `" + cert() + "`\n")
case("pub-nostr-npub", "public-material", "toml", "community/relays.toml", f"""[identity]
npub = "{bech32('npub', rbytes(32))}"
display_name = "Acme Engineering"

[[relays]]
url = "wss://relay.damus.io"

[[relays]]
url = "wss://nos.lol"
""")
case("pub-k8s-ca-configmap", "public-material", "kubernetes", "k8s/base/ca-configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: internal-ca\n  namespace: orders\ndata:\n  ca.crt: |\n" + "\n".join("    " + l for l in cert().split("\n")) + "\n")
case("pub-ssh-cert", "public-material", "text", "ops/ssh/host_ed25519_key-cert.pub",
     "ssh-ed25519-cert-v01@openssh.com " + base64.b64encode(b"\x00\x00\x00\x1cssh-ed25519-cert-v01@openssh.com" + rbytes(300)).decode() + " bastion\n")
case("pub-gha-oidc-trust", "public-material", "json", "infra/aws/policies/github-oidc-trust.json", json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme-corp/orders-api:*"}}}]}, indent=2) + "\n")
case("pub-maps-html", "public-material", "html", "apps/store-locator/index.html", f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Store locator</title>
  <link rel="stylesheet" href="/static/app.css" integrity="sha384-{b64(48)}" crossorigin="anonymous">
</head>
<body>
  <div id="map" style="height: 480px"></div>
  <script src="/static/locator.js" defer></script>
  <script>window.PLAUSIBLE_DOMAIN = "acme-corp.io";</script>
</body>
</html>
""")
case("pub-xcode-entitlements", "public-material", "plist", "ios/AcmeApp/AcmeApp.entitlements", f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>aps-environment</key>
	<string>production</string>
	<key>com.apple.developer.associated-domains</key>
	<array>
		<string>applinks:app.acme-corp.io</string>
	</array>
	<key>com.apple.developer.team-identifier</key>
	<string>J8ZT3Q5R2A</string>
	<key>keychain-access-groups</key>
	<array>
		<string>$(AppIdentifierPrefix)io.acme.app</string>
	</array>
</dict>
</plist>
""")


# ================================================================ non-secrets (all negatives)
case("ns-placeholders-yaml", "non-secrets", "yaml", "config/integrations.example.yaml", """slack:
  bot_token: xoxb-your-bot-token
  signing_secret: <SLACK_SIGNING_SECRET>
github:
  token: ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
stripe:
  secret_key: sk_test_REPLACE_ME
openai:
  api_key: "sk-..."
database:
  password: "********"
""")
case("ns-env-refs-py", "non-secrets", "python", "services/notify/settings.py", """import os

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", env_file=".env")

    twilio_account_sid: str
    twilio_auth_token: str
    sendgrid_api_key: str
    slack_webhook_url: str | None = None
    db_password: str = os.environ.get("PGPASSWORD", "")


settings = Settings()
""")
case("ns-vault-refs", "non-secrets", "yaml", "deploy/nomad/orders.vars.yaml", """env:
  DB_PASSWORD: vault:secret/data/orders/db#password
  STRIPE_SECRET_KEY: vault:secret/data/orders/stripe#secret_key
  JWT_SIGNING_KEY: "{{ with secret \\"secret/data/orders/jwt\\" }}{{ .Data.data.key }}{{ end }}"
  API_TOKEN: ref+awssecrets://prod/orders/api#token
  REDIS_PASSWORD: ${file::/run/secrets/redis_password}
""")
case("ns-keyvault-ref", "non-secrets", "json", "infra/azure/appservice-settings.json", json.dumps([
    {"name": "ConnectionStrings__Default", "value": "@Microsoft.KeyVault(SecretUri=https://kv-orders-prod.vault.azure.net/secrets/db-conn/)", "slotSetting": False},
    {"name": "Stripe__SecretKey", "value": "@Microsoft.KeyVault(VaultName=kv-orders-prod;SecretName=stripe-secret)", "slotSetting": False},
    {"name": "ASPNETCORE_ENVIRONMENT", "value": "Production", "slotSetting": True}], indent=2) + "\n")
case("ns-sm-arn-tf", "non-secrets", "terraform", "infra/aws/ecs-task.tf", """resource "aws_ecs_task_definition" "api" {
  family                   = "orders-api"
  requires_compatibilities = ["FARGATE"]
  cpu                      = 512
  memory                   = 1024
  network_mode             = "awsvpc"
  execution_role_arn       = aws_iam_role.exec.arn
  container_definitions = jsonencode([{
    name  = "api"
    image = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/orders-api:1.42.0"
    secrets = [
      { name = "DB_PASSWORD", valueFrom = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/orders/db-AbCdEf:password::" },
      { name = "STRIPE_KEY", valueFrom = "arn:aws:ssm:eu-central-1:123456789012:parameter/prod/orders/stripe_key" }
    ]
  }])
}

resource "random_password" "db" {
  length  = 32
  special = true
}
""")
case("ns-sealed-secret", "non-secrets", "kubernetes", "k8s/overlays/prod/sealed-orders.yaml", f"""apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: orders-config
  namespace: orders
spec:
  encryptedData:
    DB_PASSWORD: Ag{rs(700, B64A)}
    API_KEY: Ag{rs(380, B64A)}
  template:
    metadata:
      name: orders-config
      namespace: orders
    type: Opaque
""")
case("ns-sops-json", "non-secrets", "json", "config/secrets.prod.enc.json", json.dumps({
    "db_password": f"ENC[AES256_GCM,data:{b64(18)},iv:{b64(32)},tag:{b64(16)},type:str]",
    "api_token": f"ENC[AES256_GCM,data:{b64(30)},iv:{b64(32)},tag:{b64(16)},type:str]",
    "sops": {"kms": [{"arn": "arn:aws:kms:eu-central-1:123456789012:key/" + uuid4(), "created_at": "2024-09-01T10:00:00Z",
                      "enc": "AQICAH" + rs(180, B64A), "aws_profile": ""}],
             "lastmodified": "2024-09-01T10:00:01Z", "mac": f"ENC[AES256_GCM,data:{b64(32)},iv:{b64(32)},tag:{b64(16)},type:str]",
             "version": "3.8.1"}}, indent=2) + "\n")
case("ns-jasypt", "non-secrets", "properties", "legacy/src/main/resources/application.properties", f"""spring.datasource.url=jdbc:mysql://crm-db:3306/crm
spring.datasource.username=crm
spring.datasource.password=ENC({b64(48)})
jasypt.encryptor.algorithm=PBEWITHHMACSHA512ANDAES_256
jasypt.encryptor.password=${{JASYPT_PASSWORD}}
mail.smtp.password=ENC({b64(32)})
""")
case("ns-rails-enc", "non-secrets", "text", "config/credentials/production.yml.enc", rs(620, B64A) + "--" + rs(16, B64A) + "--" + rs(22, B64A) + "==\n")
case("ns-bcrypt-seed", "non-secrets", "sql", "db/seeds/001_users.sql", "INSERT INTO users (id, email, password_hash, role) VALUES\n" + ",\n".join(
    f"  ('{uuid4()}', '{u}@acme-corp.test', '$2b$12${rs(53, ALNUM + './')}', '{r}')" for u, r in [("admin", "admin"), ("support", "support"), ("viewer", "viewer")]) + ";\n")
case("ns-docker-digests", "non-secrets", "dockerfile", "services/orders/Dockerfile", f"""# syntax=docker/dockerfile:1.7
FROM golang:1.23@sha256:{hx(64)} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/orders ./cmd/orders

FROM gcr.io/distroless/static-debian12@sha256:{hx(64)}
COPY --from=build /out/orders /orders
USER nonroot:nonroot
ENTRYPOINT ["/orders"]
""")
case("ns-package-lock", "non-secrets", "json", "apps/web/package-lock.json", json.dumps({
    "name": "web", "version": "3.2.0", "lockfileVersion": 3, "requires": True,
    "packages": {"": {"name": "web", "version": "3.2.0", "dependencies": {"react": "^18.3.1"}},
                 "node_modules/react": {"version": "18.3.1", "resolved": "https://registry.npmjs.org/react/-/react-18.3.1.tgz",
                                        "integrity": "sha512-" + b64(64), "dependencies": {"loose-envify": "^1.1.0"}},
                 "node_modules/loose-envify": {"version": "1.4.0", "resolved": "https://registry.npmjs.org/loose-envify/-/loose-envify-1.4.0.tgz",
                                               "integrity": "sha512-" + b64(64)},
                 "node_modules/js-tokens": {"version": "4.0.0", "resolved": "https://registry.npmjs.org/js-tokens/-/js-tokens-4.0.0.tgz",
                                            "integrity": "sha512-" + b64(64)}}}, indent=2) + "\n")
case("ns-go-sum", "non-secrets", "go-sum", "go.sum", "".join(
    f"{m} {v} h1:{b64(32)}\n{m} {v}/go.mod h1:{b64(32)}\n" for m, v in [
        ("github.com/go-sql-driver/mysql", "v1.8.1"), ("github.com/google/go-github/v62", "v62.0.0"),
        ("github.com/google/uuid", "v1.6.0"), ("golang.org/x/crypto", "v0.27.0"), ("golang.org/x/sync", "v0.8.0")]))
case("ns-uuids", "non-secrets", "json", "config/tenants.json", json.dumps({"tenants": [
    {"id": uuid4(), "name": n, "region": r, "feature_flags": {"new_checkout": R.random() < 0.5}, "correlation_seed": uuid4()}
    for n, r in [("acme-eu", "eu-central-1"), ("acme-us", "us-east-1"), ("globex", "eu-west-1")]]}, indent=2) + "\n")
case("ns-hmac-test-vectors", "non-secrets", "python", "libs/crypto/tests/test_hmac.py", '''"""RFC 4231 HMAC-SHA256 test cases."""
import hmac
import hashlib

import pytest

VECTORS = [
    # (key, data, expected)
    (bytes.fromhex("0b" * 20), b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (bytes.fromhex("aa" * 20), bytes.fromhex("dd" * 50),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
]


@pytest.mark.parametrize("key,data,expected", VECTORS)
def test_rfc4231(key, data, expected):
    assert hmac.new(key, data, hashlib.sha256).hexdigest() == expected
''')
case("ns-fake-test-creds", "non-secrets", "java", "accounts/src/test/java/io/acme/accounts/LoginServiceTest.java", """package io.acme.accounts;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LoginServiceTest {

    private final InMemoryUsers users = new InMemoryUsers();
    private final LoginService service = new LoginService(users);

    @Test
    void rejectsWrongPassword() {
        users.add("alice", "correct-password");
        assertThat(service.login("alice", "wrong-password")).isEmpty();
    }

    @Test
    void acceptsRightPassword() {
        users.add("bob", "hunter2");
        assertThat(service.login("bob", "hunter2")).isPresent();
    }
}
""")
case("ns-cypress-fixture", "non-secrets", "json", "apps/web/cypress/fixtures/users.json", json.dumps({
    "admin": {"email": "admin@example.com", "password": "Password123!"},
    "customer": {"email": "customer@example.com", "password": "test1234"},
    "locked": {"email": "locked@example.com", "password": "irrelevant"}}, indent=2) + "\n")
case("ns-i18n", "non-secrets", "json", "apps/web/src/locales/en/auth.json", json.dumps({
    "password": "Password", "password_hint": "At least 12 characters", "forgot_password": "Forgot your password?",
    "api_key_label": "API key", "api_key_help": "Create an API key under Settings → Developer.",
    "token_expired": "Your session token has expired. Please sign in again.",
    "secret_copied": "Secret copied to clipboard"}, indent=2, ensure_ascii=False) + "\n")
case("ns-openapi", "non-secrets", "yaml", "api/openapi.yaml", """openapi: 3.1.0
info:
  title: Orders API
  version: 2.4.0
servers:
  - url: https://api.acme-corp.io/v2
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
      bearerFormat: JWT
    apiKey:
      type: apiKey
      in: header
      name: X-API-Key
  schemas:
    Credentials:
      type: object
      required: [client_id, client_secret]
      properties:
        client_id: { type: string, example: "my-client" }
        client_secret: { type: string, format: password, example: "<client-secret>" }
security:
  - bearerAuth: []
paths: {}
""")
case("ns-git-shas", "non-secrets", "text", "release/MANIFEST.txt", "component\tcommit\tbuilt\n" + "".join(
    f"{c}\t{hx(40)}\t2024-10-0{R.randint(1, 9)}T{R.randint(10, 23)}:{R.randint(10, 59)}:00Z\n" for c in ["orders-api", "orders-worker", "web", "gateway", "search"]))
case("ns-sha256sums", "non-secrets", "text", "release/v1.42.0/SHA256SUMS", "".join(
    f"{hx(64)}  orders_{v}\n" for v in ["1.42.0_linux_amd64.tar.gz", "1.42.0_linux_arm64.tar.gz", "1.42.0_darwin_arm64.tar.gz", "1.42.0_windows_amd64.zip"]))
case("ns-data-uri", "non-secrets", "css", "apps/web/src/styles/icons.css", f""".icon-check {{
  width: 16px;
  height: 16px;
  background-image: url("data:image/png;base64,{b64(210)}");
}}

.icon-warn {{
  width: 16px;
  height: 16px;
  background-image: url("data:image/png;base64,{b64(180)}");
}}
""")
case("ns-kms-ciphertext", "non-secrets", "terraform", "infra/aws/kms-secrets.tf", f"""data "aws_kms_secrets" "app" {{
  secret {{
    name    = "db_password"
    payload = "AQICAHh{rs(220, B64A)}"
  }}
}}

resource "aws_db_instance" "app" {{
  identifier = "app"
  engine     = "postgres"
  username   = "app"
  password   = data.aws_kms_secrets.app.plaintext["db_password"]
}}
""")
case("ns-go-test-example-keys", "non-secrets", "go", "internal/awsutil/creds_test.go", """package awsutil

import "testing"

func TestStaticProvider(t *testing.T) {
	// Example credentials from the AWS documentation.
	p := Static("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "")
	creds, err := p.Retrieve()
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("unexpected key id %q", creds.AccessKeyID)
	}
}
""")
case("ns-hashed-apikeys", "non-secrets", "yaml", "services/gateway/config/clients.yaml", "clients:\n" + "".join(
    f"  - name: {n}\n    key_sha256: {hx(64)}\n    scopes: [{s}]\n" for n, s in [("partner-shipfast", "shipments:read"), ("bi-export", "orders:read"), ("mobile-app", "orders:read, orders:write")]))
case("ns-compose-secrets", "non-secrets", "docker-compose", "deploy/compose/docker-compose.swarm.yml", """services:
  api:
    image: ghcr.io/acme-corp/orders-api:1.42.0
    environment:
      DB_PASSWORD_FILE: /run/secrets/db_password
      STRIPE_SECRET_KEY_FILE: /run/secrets/stripe_key
    secrets: [db_password, stripe_key]
secrets:
  db_password:
    external: true
  stripe_key:
    external: true
""")
case("ns-jenkins-credentials", "non-secrets", "jenkinsfile", "Jenkinsfile", """pipeline {
    agent any
    environment {
        REGISTRY_CREDS = credentials('registry-ci-bot')
        SONAR_TOKEN    = credentials('sonar-token')
    }
    stages {
        stage('Test') { steps { sh './gradlew test' } }
        stage('Image') {
            steps {
                sh 'echo $REGISTRY_CREDS_PSW | docker login registry.acme-corp.io -u $REGISTRY_CREDS_USR --password-stdin'
                sh './gradlew jib'
            }
        }
        stage('Sonar') {
            steps { withCredentials([string(credentialsId: 'sonar-token', variable: 'TOKEN')]) { sh './gradlew sonar -Dsonar.token=$TOKEN' } }
        }
    }
}
""")
case("ns-ansible-lookup", "non-secrets", "ansible", "ansible/roles/app/tasks/main.yml", """---
- name: render app config
  ansible.builtin.template:
    src: app.env.j2
    dest: /etc/acme/app.env
    mode: "0600"
  vars:
    db_password: "{{ lookup('community.hashi_vault.hashi_vault', 'secret=secret/data/app/db:password') }}"
    api_token: "{{ lookup('amazon.aws.aws_secret', 'prod/app/api_token') }}"

- name: restart app
  ansible.builtin.systemd:
    name: acme-app
    state: restarted
""")
case("ns-gitlab-masked", "non-secrets", "gitlab-ci", "services/billing/.gitlab-ci.yml", """deploy:
  stage: deploy
  image: bitnami/kubectl:1.30
  id_tokens:
    VAULT_ID_TOKEN:
      aud: https://vault.internal.acme-corp.io
  secrets:
    DB_PASSWORD:
      vault: billing/db/password@kv
      file: false
  script:
    - kubectl -n billing set env deploy/billing DB_PASSWORD="$DB_PASSWORD" --dry-run=client -o yaml | kubectl apply -f -
  environment: production
""")
case("ns-ps-securestring-enc", "non-secrets", "powershell", "scripts/Get-ServiceCred.ps1", f"""# The encrypted string below is DPAPI-protected for the build agent account only.
$encrypted = "01000000d08c9ddf0115d1118c7a00c04fc297eb01000000{hx(180)}"
$secure = ConvertTo-SecureString -String $encrypted
$cred = [pscredential]::new("CORP\\svc-build", $secure)
$cred
""")
case("ns-toml-defaults", "non-secrets", "toml", "services/gateway/config/dev.toml", """[server]
listen = "127.0.0.1:8080"

[auth]
issuer = "http://localhost:9000"
audience = "gateway-dev"
hmac_secret = "dev-only-not-a-secret"

[database]
url = "postgres://gateway:gateway@localhost:5432/gateway_dev"
""")
case("ns-rust-test-key", "non-secrets", "rust", "crates/crypto/src/aead/tests.rs", """#[cfg(test)]
mod tests {
    use super::*;

    // NIST SP 800-38D test case 2 (AES-128-GCM): all-zero key and IV
    const KEY: [u8; 16] = [0u8; 16];
    const NONCE: [u8; 12] = [0u8; 12];
    const EXPECTED_TAG: &str = "ab6e47d42cec13bdf53a67b21257bddf";

    #[test]
    fn gcm_zero_vector() {
        let tag = seal_tag(&KEY, &NONCE, &[0u8; 16]);
        assert_eq!(hex::encode(tag), EXPECTED_TAG);
    }
}
""")
case("ns-csv-export", "non-secrets", "csv", "analytics/exports/api_clients.csv", "client_id,created_at,owner,last_rotated,key_fingerprint\n" + "".join(
    f"{uuid4()},2024-0{R.randint(1, 9)}-1{R.randint(0, 9)},{o},2024-09-30,SHA256:{rs(43, B64A)}\n" for o in ["data", "mobile", "partners", "support", "web"]))
case("ns-log-masked", "non-secrets", "log", "qa/logs/auth-service.log", "".join(
    f"2024-10-02T09:1{i}:0{i}.{R.randint(100, 999)}Z INFO  auth.login user_id={uuid4()} ip=10.20.{R.randint(0, 9)}.{R.randint(2, 250)} token=eyJ***redacted*** password=[FILTERED] request_id={hx(16)}\n" for i in range(8)))
case("ns-php-env", "non-secrets", "php", "config/services.php", """<?php

return [
    'mailgun' => [
        'domain' => env('MAILGUN_DOMAIN'),
        'secret' => env('MAILGUN_SECRET'),
        'endpoint' => env('MAILGUN_ENDPOINT', 'api.eu.mailgun.net'),
    ],
    'stripe' => [
        'key' => env('STRIPE_KEY'),
        'secret' => env('STRIPE_SECRET'),
        'webhook' => ['secret' => env('STRIPE_WEBHOOK_SECRET'), 'tolerance' => 300],
    ],
];
""")
case("ns-k8s-secret-empty", "non-secrets", "kubernetes", "k8s/base/placeholder-secret.yaml", """apiVersion: v1
kind: Secret
metadata:
  name: partner-api
  namespace: orders
  annotations:
    argocd.argoproj.io/compare-options: IgnoreExtraneous
type: Opaque
stringData:
  API_KEY: "<set-by-external-secrets>"
  API_SECRET: ""
""")


# ================================================================ emit + self-check
import re  # noqa: E402

KEYSTORE_EXT = (".p12", ".pfx", ".jks", ".keystore")
JSON_FORMATS = {"json", "har", "postman", "jupyter"}
TOKEN_RX = re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36}|npm_[A-Za-z0-9]{36})\b")
AGE_RX = re.compile(r"\b(AGE-SECRET-KEY-1[0-9A-Z]+|age1[0-9a-z]{58})\b")


def resolve(c):
    """Turn (needle, what[, offset]) specs into sorted {line, what} labels."""
    if c["binary"] is not None:
        return [{"line": 0, "what": w} for (_, w, *rest) in c["secrets"]]
    lines = c["text"].split("\n")
    out = {}
    for spec in c["secrets"]:
        needle, what = spec[0], spec[1]
        off = spec[2] if len(spec) > 2 else 0
        hits = [i + 1 + off for i, l in enumerate(lines) if needle in l]
        if not hits:
            raise SystemExit(f"{c['short']}: needle not found: {needle[:40]!r}")
        for h in hits:
            out.setdefault(h, what)
    return [{"line": k, "what": v} for k, v in sorted(out.items())]


def check(c, labels, data):
    errs = []
    if c["binary"] is not None:
        if not c["path"].endswith(KEYSTORE_EXT):
            errs.append("binary file without keystore extension")
        return errs
    lines = c["text"].split("\n")
    for lab in labels:
        if lab["line"] == 0:
            errs.append("line-0 label on a text file")
        elif lab["line"] > len(lines) or not lines[lab["line"] - 1].strip():
            errs.append(f"label on missing/blank line {lab['line']}")
    if c["format"] in JSON_FORMATS or c["path"].endswith((".json", ".har", ".ipynb")):
        try:
            json.loads(c["text"])
        except ValueError as e:
            errs.append(f"JSON does not parse: {e}")
    labelled = {lab["line"] for lab in labels}
    for i, l in enumerate(lines, 1):
        for m in TOKEN_RX.finditer(l):
            tok = m.group(1)
            ok = gh_checksum_ok(tok)
            if not ok and (i in labelled or len(set(tok[4:])) > 2):
                errs.append(f"bad GitHub/npm checksum on line {i}")
        for m in AGE_RX.finditer(l):
            if not bech32_ok(m.group(1)):
                errs.append(f"bad bech32 on line {i}")
    return errs


def main():
    order = list(range(len(CASES)))
    random.Random(SEED + 1).shuffle(order)
    out, errors = [], []
    seen = set()
    for n, idx in enumerate(order, 1):
        c = CASES[idx]
        labels = resolve(c)
        data = c["binary"] if c["binary"] is not None else c["text"].encode()
        errors += [f"{c['short']}: {e}" for e in check(c, labels, data)]
        if c["short"] in seen:
            errors.append(f"duplicate short id {c['short']}")
        seen.add(c["short"])
        if c["family"] in ("public-material", "non-secrets") and labels:
            errors.append(f"{c['short']}: labelled file in all-negative family")
        out.append({"id": f"r{n:04d}-{c['short']}", "family": c["family"], "format": c["format"],
                    "path": c["path"], "text_b64": base64.b64encode(data).decode(), "secrets": labels})
    fams = {}
    for o in out:
        f = fams.setdefault(o["family"], [0, 0])
        f[0 if o["secrets"] else 1] += 1
    for fam, (pos, neg) in fams.items():
        if fam in ("public-material", "non-secrets"):
            if neg < 30:
                errors.append(f"{fam}: only {neg} negatives")
        elif pos < 6 or neg < 4:
            errors.append(f"{fam}: {pos} positives / {neg} negatives")
    if errors:
        sys.stderr.write("\n".join(errors) + "\n")
        raise SystemExit(1)
    for o in out:
        print(json.dumps(o, separators=(",", ":")))
    if "--stats" in sys.argv:
        fmts = {o["format"] for o in out}
        sys.stderr.write(f"files={len(out)} positives={sum(1 for o in out if o['secrets'])} "
                         f"labels={sum(len(o['secrets']) for o in out)} formats={len(fmts)}\n")
        for fam, (pos, neg) in sorted(fams.items()):
            sys.stderr.write(f"  {fam:20s} pos={pos:3d} neg={neg:3d}\n")
        sys.stderr.write("  formats: " + ", ".join(sorted(fmts)) + "\n")
        nl = sorted(len(base64.b64decode(o["text_b64"]).split(b"\n")) for o in out if o["secrets"] != [{"line": 0}] )
        sys.stderr.write(f"  line counts: min={nl[0]} median={nl[len(nl)//2]} max={nl[-1]} "
                         f"under10={sum(1 for x in nl if x < 10)} over80={sum(1 for x in nl if x > 80)}\n")


if __name__ == "__main__":
    main()
