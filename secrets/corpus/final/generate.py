#!/usr/bin/env python3
"""Deterministic generator for the pushguard FINAL blind secret-detection corpus.

Written independently of the scanner (no scanner code, rules, docs or other
corpora were read).  Python 3 stdlib only.  Prints one JSON object per line:

  {"id", "family", "format", "path", "text_b64", "secrets": [{"line", "what"}]}

Usage:  python3 generate.py > final.jsonl
        python3 generate.py --check     (self-check only, summary on stderr)

All secret values are random strings from the seeded RNG below; none is a real
credential.  Template text marks each secret with an inline marker placed right
before the value (see S()); finalize() turns the markers into 1-based line
labels and removes them.
"""
import base64
import json
import random
import re
import string
import sys
import textwrap
import uuid
import zlib

SEED = 0xB11D2F1A
R = random.Random(SEED)

DIGITS = string.digits
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
URLSAFE = ALNUM + "-_"
B64CH = ALNUM + "+/"
HEX = "0123456789abcdef"

MARK_OPEN, MARK_CLOSE = "\u27e6", "\u27e7"


# ---------------------------------------------------------------- primitives
def rs(n, alpha=ALNUM):
    return "".join(R.choice(alpha) for _ in range(n))


def hexs(n):
    return rs(n, HEX)


def digits(n):
    return str(R.randint(1, 9)) + rs(n - 1, DIGITS)


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(n):
    return base64.b64encode(rbytes(n)).decode()


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def uid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def pick(seq):
    return R.choice(seq)


def S(what, value):
    """Mark a secret value: the label goes on the line where value starts."""
    return MARK_OPEN + what + MARK_CLOSE + value


def T(tpl, **kw):
    text = textwrap.dedent(tpl).lstrip("\n")
    for k, v in kw.items():
        text = text.replace("\u00ab" + k + "\u00bb", v)
    if "\u00ab" in text:
        raise ValueError("unfilled placeholder: " + text[text.index("\u00ab"):][:40])
    return text


# ---------------------------------------------------------------- passwords
WORDS = ["amber", "falcon", "cobalt", "tundra", "maple", "quartz", "harbor",
         "violet", "saturn", "pepper", "canyon", "glacier", "meadow", "ember",
         "orbit", "willow", "copper", "nimbus", "raven", "lotus", "zephyr"]
SYMS = "!@#%^*-_=+"


def pw(kind=None):
    kind = kind or pick(["rand", "rand", "words", "human"])
    if kind == "rand":
        n = R.randint(14, 24)
        s = rs(n - 2, ALNUM) + pick(SYMS) + pick(DIGITS)
        return "".join(R.sample(s, len(s)))
    if kind == "words":
        return "-".join(pick(WORDS).capitalize() for _ in range(3)) + str(R.randint(10, 99))
    if kind == "human":
        return pick(WORDS).capitalize() + pick(["#", "!", "@", "$", "."]) + str(R.randint(1000, 9999)) + pick(WORDS)[:3]
    if kind == "url":   # no chars that need percent-encoding in userinfo
        return rs(R.randint(16, 26), ALNUM + "-_.~")
    if kind == "alnum":
        return rs(R.randint(16, 28), ALNUM)
    raise ValueError(kind)


def pw_url():
    return pw("url")


# ---------------------------------------------------------------- provider tokens
def b62enc(num, width=6):
    out = ""
    while num:
        num, r = divmod(num, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def gh_token(prefix="ghp_"):
    body = rs(30, B62)
    return prefix + body + b62enc(zlib.crc32(body.encode()) & 0xFFFFFFFF)


def gh_fine():
    return "github_pat_" + rs(22) + "_" + rs(59)


def slack_bot():
    return "xoxb-%s-%s-%s" % (digits(R.choice([10, 11, 12])), digits(R.choice([12, 13])), rs(24))


def slack_user():
    return "xoxp-%s-%s-%s-%s" % (digits(11), digits(11), digits(13), hexs(32))


def slack_app():
    return "xapp-1-A%s-%s-%s" % (rs(10, UPPER + DIGITS), digits(13), hexs(64))


def slack_webhook():
    return "https://hooks.slack.com/services/T%s/B%s/%s" % (rs(9, UPPER + DIGITS), rs(10, UPPER + DIGITS), rs(24))


def stripe_sk(prefix="sk_live_"):
    return prefix + (("51" + rs(R.randint(90, 97))) if R.random() < 0.6 else rs(R.randint(24, 34)))


def stripe_pk():
    return "pk_live_51" + rs(97)


def glpat():
    return "glpat-" + rs(20, URLSAFE)


def npm_tok():
    return "npm_" + rs(36)


def pypi_tok():
    return "pypi-AgEIcHlwaS5vcmc" + rs(R.randint(120, 170), URLSAFE)


def openai_key():
    if R.random() < 0.5:
        return "sk-proj-" + rs(156, URLSAFE)
    return "sk-" + rs(20) + "T3BlbkFJ" + rs(20)


def anthropic_key():
    return "sk-ant-api03-" + rs(93, URLSAFE) + "AA"


def sendgrid_key():
    return "SG." + rs(22, URLSAFE) + "." + rs(43, URLSAFE)


def hf_tok():
    return "hf_" + rs(34, string.ascii_letters)


def aws_key_id(prefix="AKIA"):
    return prefix + rs(16, UPPER + "234567")


def aws_secret():
    return rs(40, B64CH)


def az_storage_key():
    return b64(64)


def az_client_secret():
    return rs(3) + pick(DIGITS) + "Q~" + rs(34, ALNUM + "_~.-")


def az_sas_sig():
    return b64(32).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")


def jwt(payload, alg="HS256"):
    h = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    p = b64url(json.dumps(payload, separators=(",", ":")).encode())
    sig = b64url(rbytes(32 if alg.startswith("HS") else 256))
    return h + "." + p + "." + sig


def discord_bot():
    uid_ = str(R.randint(10**17, 13 * 10**17))
    return b64url(uid_.encode()) + "." + rs(6, URLSAFE) + "." + rs(38, URLSAFE)


def discord_webhook(host="discord.com"):
    return "https://%s/api/webhooks/%s/%s" % (host, digits(19), rs(68, URLSAFE))


def telegram_tok():
    return "%d:AA%s" % (R.randint(10**8, 8 * 10**9), rs(33, URLSAFE))


def teams_webhook(org):
    return "https://%s.webhook.office.com/webhookb2/%s@%s/IncomingWebhook/%s/%s/V2%s" % (
        org, uid(), uid(), hexs(32), uid(), rs(43, URLSAFE))


def django_key():
    return rs(50, "abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*(-_=+)")


def wp_salt():
    return rs(64, ALNUM + "!#%&()*+,-./:;<=>?@[]^_`{|}~ ")


# ---------------------------------------------------------------- key material
def wrap(s, n=64):
    return [s[i:i + n] for i in range(0, len(s), n)]


def der_len(n):
    if n < 128:
        return bytes([n])
    if n < 256:
        return b"\x81" + bytes([n])
    return b"\x82" + n.to_bytes(2, "big")


def rsa_pkcs1_der(bits=2048):
    n = bits // 8
    body = b"\x02\x01\x00" + b"\x02\x82" + (n + 1).to_bytes(2, "big") + b"\x00" + rbytes(n) + b"\x02\x03\x01\x00\x01" \
        + b"\x02\x82" + n.to_bytes(2, "big") + rbytes(n) + rbytes(n * 5 // 2 + 6)
    return b"\x30" + der_len(len(body)) + body


def pem(label, der, width=64):
    return "\n".join(["-----BEGIN %s-----" % label] + wrap(base64.b64encode(der).decode(), width)
                     + ["-----END %s-----" % label])


def rsa_key_pem(bits=2048):
    return pem("RSA PRIVATE KEY", rsa_pkcs1_der(bits))


def pkcs8_pem(bits=2048):
    inner = rsa_pkcs1_der(bits)
    alg = bytes.fromhex("300d06092a864886f70d0101010500")
    body = b"\x02\x01\x00" + alg + b"\x04" + der_len(len(inner)) + inner
    return pem("PRIVATE KEY", b"\x30" + der_len(len(body)) + body)


def ec_key_pem():
    der = bytes.fromhex("307702010104") + b"\x20" + rbytes(32) + bytes.fromhex(
        "a00a06082a8648ce3d030107a144034200") + b"\x04" + rbytes(64)
    return pem("EC PRIVATE KEY", der)


def ssh_string(b):
    return len(b).to_bytes(4, "big") + b


def openssh_ed25519_pem(comment="deploy@ci"):
    pub = rbytes(32)
    pubblob = ssh_string(b"ssh-ed25519") + ssh_string(pub)
    chk = rbytes(4)
    priv = chk + chk + ssh_string(b"ssh-ed25519") + ssh_string(pub) + ssh_string(rbytes(32) + pub) + ssh_string(comment.encode())
    priv += bytes(range(1, 1 + (8 - len(priv) % 8) % 8))
    blob = b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"") + \
        (1).to_bytes(4, "big") + ssh_string(pubblob) + ssh_string(priv)
    return pem("OPENSSH PRIVATE KEY", blob, 70)


def openssh_rsa_pem():
    pub = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(b"\x00" + rbytes(384))
    blob = b"openssh-key-v1\x00" + ssh_string(b"none") + ssh_string(b"none") + ssh_string(b"") + \
        (1).to_bytes(4, "big") + ssh_string(pub) + ssh_string(rbytes(1640))
    return pem("OPENSSH PRIVATE KEY", blob, 70)


def ssh_ed25519_pub(comment):
    blob = ssh_string(b"ssh-ed25519") + ssh_string(rbytes(32))
    return "ssh-ed25519 " + base64.b64encode(blob).decode() + (" " + comment if comment else "")


def ssh_rsa_pub(comment, bits=3072):
    blob = ssh_string(b"ssh-rsa") + ssh_string(b"\x01\x00\x01") + ssh_string(b"\x00" + rbytes(bits // 8))
    return "ssh-rsa " + base64.b64encode(blob).decode() + (" " + comment if comment else "")


def ecdsa_pub(comment=""):
    blob = ssh_string(b"ecdsa-sha2-nistp256") + ssh_string(b"nistp256") + ssh_string(b"\x04" + rbytes(64))
    return "ecdsa-sha2-nistp256 " + base64.b64encode(blob).decode() + (" " + comment if comment else "")


def cert_der(size=None):
    size = size or R.randint(880, 1300)
    tbs_body = b"\xa0\x03\x02\x01\x02\x02\x14" + rbytes(20) + rbytes(size)
    tbs = b"\x30\x82" + len(tbs_body).to_bytes(2, "big") + tbs_body
    body = tbs + bytes.fromhex("300d06092a864886f70d01010b0500") + b"\x03\x82\x01\x01\x00" + rbytes(256)
    return b"\x30\x82" + len(body).to_bytes(2, "big") + body


def cert_pem():
    return pem("CERTIFICATE", cert_der())


def pubkey_pem():
    inner = b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00" + rbytes(256) + b"\x02\x03\x01\x00\x01"
    body = bytes.fromhex("300d06092a864886f70d0101010500") + b"\x03\x82\x01\x0f\x00" + inner
    return pem("PUBLIC KEY", b"\x30\x82" + len(body).to_bytes(2, "big") + body)


def pgp_block(kind, n=None):
    n = n or R.randint(700, 1400)
    data = base64.b64encode(b"\x95\x03\xc6\x04" + rbytes(n) if kind == "PRIVATE KEY" else b"\x99\x01\x8d\x04" + rbytes(n)).decode()
    crc = base64.b64encode(rbytes(3)).decode()
    return "\n".join(["-----BEGIN PGP %s BLOCK-----" % kind, ""] + wrap(data, 64) + ["=" + crc, "-----END PGP %s BLOCK-----" % kind])


def indent(block, n):
    pad = " " * n
    return "\n".join(pad + ln if ln else ln for ln in block.split("\n"))


def esc_nl(block):
    return block.replace("\n", "\\n")


# ---------------------------------------------------------------- registry
FILES = []


def reg(family, fmt, path, text, short=None):
    FILES.append({"family": family, "format": fmt, "path": path, "text": text, "short": short})


def regbin(family, fmt, path, data, secret_what=None, short=None):
    FILES.append({"family": family, "format": fmt, "path": path, "bin": data,
                  "secret_what": secret_what, "short": short})


def finalize(text):
    labels, out = [], []
    pat = re.compile(re.escape(MARK_OPEN) + "(.*?)" + re.escape(MARK_CLOSE))
    for i, ln in enumerate(text.split("\n"), 1):
        for m in pat.finditer(ln):
            labels.append({"line": i, "what": m.group(1)})
        out.append(pat.sub("", ln))
    return "\n".join(out), labels


ORGS = ["acme", "northwind", "contoso", "globex", "initech", "umbrella", "hooli", "wayne", "stark", "tyrell"]
APPS = ["billing", "orders", "catalog", "ledger", "notifier", "portal", "inventory", "payments", "reports", "auth"]


def org():
    return pick(ORGS)


def app():
    return pick(APPS)


def ip():
    return "10.%d.%d.%d" % (R.randint(0, 40), R.randint(0, 255), R.randint(2, 250))


# =================================================================== provider-token
def fam_provider_token():
    F = "provider-token"
    a = app()
    reg(F, "dotenv", ".env", T("""
        # local overrides for the release tooling -- do not commit (oops)
        NODE_ENV=development
        LOG_LEVEL=debug
        PORT=3000

        # GitHub automation
        GITHUB_OWNER=«org»
        GITHUB_REPO=«app»-service
        GITHUB_TOKEN=«tok»
        GITHUB_API_URL=https://api.github.com

        # feature flags
        ENABLE_CHANGELOG=true
        RELEASE_BRANCH=main
        DRY_RUN=false
        """, org=org(), app=a, tok=S("GitHub classic PAT", gh_token())), "gh-env")

    reg(F, "python", "scripts/sync_issues.py", T('''
        #!/usr/bin/env python3
        """Copy open issues labelled `customer` into the support tracker."""
        import sys

        import requests

        API = "https://api.github.com"
        REPO = "«org»/«app»"
        # TODO move to a secret before merging
        TOKEN = "«tok»"

        session = requests.Session()
        session.headers.update({
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {TOKEN}",
            "X-GitHub-Api-Version": "2022-11-28",
        })


        def open_issues(label="customer"):
            page = 1
            while True:
                r = session.get(f"{API}/repos/{REPO}/issues",
                                params={"labels": label, "state": "open", "page": page})
                r.raise_for_status()
                batch = r.json()
                if not batch:
                    return
                yield from batch
                page += 1


        if __name__ == "__main__":
            for issue in open_issues(*sys.argv[1:2]):
                print(issue["number"], issue["title"])
        ''', org=org(), app=app(), tok=S("GitHub fine-grained PAT", gh_fine())), "gh-fine-py")

    reg(F, "yaml", "config/slack.yml", T("""
        default: &default
          channel: "#deploys"
          username: shipit
          icon_emoji: ":rocket:"

        development:
          <<: *default
          bot_token: <%= ENV["SLACK_BOT_TOKEN"] %>
          signing_secret: <%= ENV["SLACK_SIGNING_SECRET"] %>

        production:
          <<: *default
          channel: "#prod-deploys"
          bot_token: «bot»
          signing_secret: «sig»
          app_id: A0«appid»
        """, bot=S("Slack bot token", slack_bot()), sig=S("Slack signing secret", hexs(32)),
        appid=rs(9, UPPER + DIGITS)), "slack-yml")

    reg(F, "python", "shop/settings/production.py", T("""
        from .base import *  # noqa

        DEBUG = False
        ALLOWED_HOSTS = ["shop.«org».com", "www.shop.«org».com"]

        # Stripe
        STRIPE_PUBLISHABLE_KEY = "«pk»"
        STRIPE_SECRET_KEY = "«sk»"
        STRIPE_WEBHOOK_SECRET = "«wh»"
        STRIPE_API_VERSION = "2023-10-16"

        CURRENCY = "eur"
        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True
        SECURE_HSTS_SECONDS = 31536000
        """, org=org(), pk=stripe_pk(), sk=S("Stripe live secret key", stripe_sk()),
        wh=S("Stripe webhook signing secret", "whsec_" + rs(32))), "stripe-django")

    reg(F, "github-actions", ".github/workflows/release.yml", T("""
        name: release
        on:
          push:
            tags: ["v*"]

        jobs:
          publish:
            runs-on: ubuntu-latest
            permissions:
              contents: write
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v4
                with:
                  node-version: 20
                  registry-url: https://registry.npmjs.org
              - run: npm ci
              - run: npm publish --access public
                env:
                  NODE_AUTH_TOKEN: «npm»
              - uses: softprops/action-gh-release@v2
                with:
                  token: ${{ secrets.GITHUB_TOKEN }}
        """, npm=S("npm access token", npm_tok())), "npm-gha")

    reg(F, "gitlab-ci", ".gitlab-ci.yml", T("""
        stages: [build, test, release]

        variables:
          DOCKER_DRIVER: overlay2
          GIT_DEPTH: "10"
          GITLAB_API_TOKEN: "«gl»"

        build:
          stage: build
          image: golang:1.22
          script:
            - go build ./...

        test:
          stage: test
          image: golang:1.22
          script:
            - go test -race ./...

        release:
          stage: release
          image: registry.gitlab.com/gitlab-org/release-cli:latest
          rules:
            - if: $CI_COMMIT_TAG
          script:
            - >
              curl --header "PRIVATE-TOKEN: $GITLAB_API_TOKEN"
              "$CI_API_V4_URL/projects/$CI_PROJECT_ID/releases"
        """, gl=S("GitLab personal access token", glpat())), "glpat-ci")

    reg(F, "typescript", "src/lib/ai.ts", T("""
        import OpenAI from "openai";
        import Anthropic from "@anthropic-ai/sdk";

        export const openai = new OpenAI({
          apiKey: "«oa»",
          organization: "org-«orgid»",
        });

        export const claude = new Anthropic({
          apiKey: process.env.ANTHROPIC_API_KEY,
        });

        export async function summarize(text: string): Promise<string> {
          const res = await openai.chat.completions.create({
            model: "gpt-4o-mini",
            messages: [{ role: "user", content: `Summarize:\\n${text}` }],
          });
          return res.choices[0]?.message?.content ?? "";
        }
        """, oa=S("OpenAI API key", openai_key()), orgid=rs(24)), "openai-ts")

    nb_hf = hf_tok()
    reg(F, "jupyter", "notebooks/01-embeddings.ipynb", T("""
        {
         "cells": [
          {
           "cell_type": "markdown",
           "metadata": {},
           "source": ["# Embedding experiments\\n", "Compare sentence-transformers against the hosted endpoint."]
          },
          {
           "cell_type": "code",
           "execution_count": 1,
           "metadata": {},
           "outputs": [],
           "source": [
            "import os\\n",
            "os.environ[\\"HUGGINGFACEHUB_API_TOKEN\\"] = \\"«hf»\\"\\n",
            "os.environ[\\"ANTHROPIC_API_KEY\\"] = \\"«ant»\\"\\n",
            "MODEL = \\"sentence-transformers/all-MiniLM-L6-v2\\""
           ]
          },
          {
           "cell_type": "code",
           "execution_count": 2,
           "metadata": {},
           "outputs": [{"name": "stdout", "output_type": "stream", "text": ["384\\n"]}],
           "source": ["from sentence_transformers import SentenceTransformer\\n", "m = SentenceTransformer(MODEL)\\n", "print(m.get_sentence_embedding_dimension())"]
          }
         ],
         "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
         "nbformat": 4,
         "nbformat_minor": 5
        }
        """, hf=S("Hugging Face token", nb_hf), ant=S("Anthropic API key", anthropic_key())), "hf-ipynb")

    reg(F, "appsettings-json", "src/Notifications.Api/appsettings.Production.json", T("""
        {
          "Logging": {
            "LogLevel": {
              "Default": "Information",
              "Microsoft.AspNetCore": "Warning"
            }
          },
          "AllowedHosts": "*",
          "SendGrid": {
            "ApiKey": "«sg»",
            "FromAddress": "no-reply@«org».com",
            "FromName": "«Org» Notifications"
          },
          "Twilio": {
            "AccountSid": "AC«sid»",
            "AuthToken": "«tw»",
            "FromNumber": "+15005550006"
          }
        }
        """, sg=S("SendGrid API key", sendgrid_key()), org="northwind", Org="Northwind", sid=hexs(32),
        tw=S("Twilio auth token", hexs(32))), "sendgrid-appsettings")

    reg(F, "php", "config/services.php", T("""
        <?php

        return [

            /*
            |--------------------------------------------------------------------------
            | Third Party Services
            |--------------------------------------------------------------------------
            */

            'mailgun' => [
                'domain' => 'mg.«org».io',
                'secret' => '«mg»',
                'endpoint' => env('MAILGUN_ENDPOINT', 'api.eu.mailgun.net'),
                'scheme' => 'https',
            ],

            'postmark' => [
                'token' => env('POSTMARK_TOKEN'),
            ],

            'shopify' => [
                'shop' => '«org»-store.myshopify.com',
                'access_token' => '«shp»',
            ],

        ];
        """, org=org(), mg=S("Mailgun API key", "key-" + hexs(32)),
        shp=S("Shopify admin access token", "shpat_" + hexs(32))), "mailgun-php")

    reg(F, "terraform", "infra/providers.tf", T("""
        terraform {
          required_version = ">= 1.5"
          required_providers {
            digitalocean = {
              source  = "digitalocean/digitalocean"
              version = "~> 2.34"
            }
            github = {
              source  = "integrations/github"
              version = "~> 6.0"
            }
          }
        }

        provider "digitalocean" {
          token = "«do»"
        }

        provider "github" {
          owner = "«org»"
          token = "«gh»"
        }
        """, do=S("DigitalOcean token", "dop_v1_" + hexs(64)), org=org(), gh=S("GitHub classic PAT", gh_token())),
        "do-tf")

    reg(F, "docker-compose", "deploy/docker-compose.yml", T("""
        services:
          api:
            image: ghcr.io/«org»/«app»:1.14.2
            restart: unless-stopped
            ports:
              - "8080:8080"
            environment:
              VAULT_ADDR: https://vault.«org».internal:8200
              VAULT_TOKEN: «vt»
              VAULT_NAMESPACE: admin/«app»
              RUST_LOG: info
            depends_on:
              - redis

          redis:
            image: redis:7-alpine
            volumes:
              - redis-data:/data

        volumes:
          redis-data:
        """, org=org(), app=app(), vt=S("HashiCorp Vault service token", "hvs.CAESI" + rs(86, URLSAFE))),
        "vault-compose")

    reg(F, "netlify-toml", "netlify.toml", T("""
        [build]
          command = "npm run build"
          publish = "dist"

        [build.environment]
          NODE_VERSION = "20"
          NETLIFY_AUTH_TOKEN = "«nf»"
          DATABRICKS_TOKEN = "«db»"

        [[redirects]]
          from = "/api/*"
          to = "/.netlify/functions/:splat"
          status = 200

        [[headers]]
          for = "/*"
          [headers.values]
            X-Frame-Options = "DENY"
            Referrer-Policy = "strict-origin-when-cross-origin"
        """, nf=S("Netlify personal access token", "nfp_" + rs(36)), db=S("Databricks PAT", "dapi" + hexs(32))),
        "netlify-token")

    reg(F, "go", "cmd/sync/main.go", T("""
        package main

        import (
        	"context"
        	"log"
        	"net/http"
        	"time"
        )

        const (
        	shopDomain  = "«org»-outlet.myshopify.com"
        	apiVersion  = "2024-01"
        	accessToken = "«shp»"
        )

        func main() {
        	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
        	defer cancel()
        	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
        		"https://"+shopDomain+"/admin/api/"+apiVersion+"/products.json", nil)
        	if err != nil {
        		log.Fatal(err)
        	}
        	req.Header.Set("X-Shopify-Access-Token", accessToken)
        	resp, err := http.DefaultClient.Do(req)
        	if err != nil {
        		log.Fatal(err)
        	}
        	defer resp.Body.Close()
        	log.Println("status", resp.Status)
        }
        """, org=org(), shp=S("Shopify access token", "shpat_" + hexs(32))), "shopify-go")

    reg(F, "travis-yml", ".travis.yml", T("""
        language: python
        python:
          - "3.11"
          - "3.12"
        install:
          - pip install -e .[test]
        script:
          - pytest -q
        deploy:
          - provider: pypi
            username: __token__
            password: «pypi»
            skip_existing: true
            on:
              tags: true
          - provider: releases
            api_key: «gh»
            file_glob: true
            file: dist/*
            on:
              tags: true
        """, pypi=S("PyPI API token", pypi_tok()), gh=S("GitHub OAuth token", gh_token("gho_"))), "travis-deploy")

    reg(F, "serverless-yml", "services/ingest/serverless.yml", T("""
        service: ingest
        frameworkVersion: "3"

        provider:
          name: aws
          runtime: python3.12
          region: eu-west-1
          memorySize: 512
          environment:
            STAGE: ${sls:stage}
            TABLE_NAME: ${self:service}-${sls:stage}-events
            OPENAI_API_KEY: «oa»
            SLACK_BOT_TOKEN: ${ssm:/ingest/${sls:stage}/slack-bot-token}

        functions:
          ingest:
            handler: handler.ingest
            events:
              - httpApi:
                  path: /events
                  method: post
        """, oa=S("OpenAI API key", openai_key())), "openai-sls")

    reg(F, "dotenv", ".env.local", T("""
        NEXT_PUBLIC_SITE_URL=http://localhost:3000
        NEXT_PUBLIC_POSTHOG_HOST=https://eu.posthog.com
        ANTHROPIC_API_KEY=«ant»
        SLACK_USER_TOKEN=«xp»
        GITHUB_APP_ID=«appid»
        GITHUB_APP_CLIENT_ID=Iv1.«cid»
        GITHUB_APP_CLIENT_SECRET=«csec»
        RESEND_API_KEY=re_«re»
        """, ant=S("Anthropic API key", anthropic_key()), xp=S("Slack user token", slack_user()),
        appid=str(R.randint(100000, 999999)), cid=hexs(16),
        csec=S("GitHub App client secret", hexs(40)), re=S("Resend API key", rs(8) + "_" + rs(24))), "ant-envlocal")

    # ---- negatives
    reg(F, "github-actions", ".github/workflows/ci.yml", T("""
        name: ci
        on: [push, pull_request]

        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v4
                with:
                  node-version: 20
                  registry-url: https://npm.pkg.github.com
              - run: npm ci
                env:
                  NODE_AUTH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
              - run: npm test
              - name: Upload coverage
                uses: codecov/codecov-action@v4
                with:
                  token: ${{ secrets.CODECOV_TOKEN }}
              - name: Notify
                if: failure()
                env:
                  SLACK_BOT_TOKEN: ${{ secrets.SLACK_BOT_TOKEN }}
                run: ./scripts/notify-failure.sh
        """), "gha-refs")

    reg(F, "markdown", "docs/integrations/tokens.md", T("""
        # Configuring API tokens

        The service reads every token from the environment; nothing is stored in the repo.

        | Variable | Where to get it | Looks like |
        |---|---|---|
        | `GITHUB_TOKEN` | Settings -> Developer settings -> Tokens | `ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx` |
        | `SLACK_BOT_TOKEN` | api.slack.com/apps -> OAuth & Permissions | `xoxb-your-bot-token` |
        | `STRIPE_SECRET_KEY` | Dashboard -> Developers -> API keys | `sk_live_...` |
        | `OPENAI_API_KEY` | platform.openai.com/api-keys | `sk-...` |

        Example `.env`:

        ```sh
        GITHUB_TOKEN=ghp_<your token here>
        SLACK_BOT_TOKEN=xoxb-<bot token>
        STRIPE_SECRET_KEY=sk_live_REPLACE_ME
        ```

        Rotate tokens every 90 days. Never paste a token into an issue.
        """), "tokens-doc")

    reg(F, "python", "tools/redact/patterns.py", T('''
        """Patterns used to mask credentials in CI logs before upload."""
        import re

        PATTERNS = {
            "github_classic": re.compile(r"\\bgh[pousr]_[0-9A-Za-z]{36}\\b"),
            "github_fine": re.compile(r"\\bgithub_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}\\b"),
            "slack": re.compile(r"\\bxox[abposr]-[0-9A-Za-z-]{10,}\\b"),
            "stripe": re.compile(r"\\b[rs]k_live_[0-9A-Za-z]{24,99}\\b"),
            "gitlab": re.compile(r"\\bglpat-[0-9A-Za-z_-]{20}\\b"),
            "npm": re.compile(r"\\bnpm_[0-9A-Za-z]{36}\\b"),
        }


        def redact(line: str) -> str:
            for name, rx in PATTERNS.items():
                line = rx.sub(f"[REDACTED:{name}]", line)
            return line
        '''), "redact-patterns")

    reg(F, "python", "tests/test_log_masking.py", T('''
        from tools.redact.patterns import redact


        def test_masks_github_token():
            line = "token=ghp_************************************ accepted"
            assert "ghp_" in redact(line)


        def test_already_masked_slack():
            masked = "xoxb-****-****-************************"
            assert redact(masked) == masked


        def test_stripe_placeholder_untouched():
            assert redact("sk_live_0000000000000000000000000").startswith("[REDACTED")


        def test_plain_text():
            assert redact("nothing to see") == "nothing to see"
        '''), "masking-tests")

    reg(F, "ruby", "config/initializers/stripe.rb", T("""
        # frozen_string_literal: true

        Rails.configuration.stripe = {
          publishable_key: "«pk»",
          secret_key: ENV.fetch("STRIPE_SECRET_KEY"),
          webhook_secret: Rails.application.credentials.dig(:stripe, :webhook_secret)
        }

        Stripe.api_key = Rails.configuration.stripe[:secret_key]
        Stripe.api_version = "2023-10-16"
        Stripe.max_network_retries = 2

        StripeEvent.signing_secret = Rails.configuration.stripe[:webhook_secret]
        StripeEvent.configure do |events|
          events.subscribe "checkout.session.completed", Billing::CheckoutCompleted.new
        end
        """, pk=stripe_pk()), "stripe-rb-env")

    reg(F, "dotenv", ".env.ci", T("""
        # resolved at job start by the 1Password CLI (op run --env-file=.env.ci)
        GITHUB_TOKEN=op://ci/github-bot/token
        NPM_TOKEN=op://ci/npm-publish/credential
        OPENAI_API_KEY=$(op read "op://ci/openai/api key")
        SLACK_BOT_TOKEN=${SLACK_BOT_TOKEN}
        SENTRY_AUTH_TOKEN=${SENTRY_AUTH_TOKEN:-}
        DRY_RUN=true
        LOG_FORMAT=json
        CI=true
        TZ=UTC
        LANG=C.UTF-8
        """), "op-refs")


# =================================================================== private-key
def fam_private_key():
    F = "private-key"
    reg(F, "openssh-private-key", "deploy/keys/id_ed25519", S("OpenSSH private key", openssh_ed25519_pem("deploy@ci-runner")) + "\n",
        "openssh-ed25519")

    reg(F, "pem", "certs/api.«org».key".replace("«org»", org()), S("RSA private key (PKCS#1)", rsa_key_pem()) + "\n", "rsa-pem")

    reg(F, "pem", "config/jwt/private.pem", S("PKCS#8 private key", pkcs8_pem()) + "\n", "pkcs8-pem")

    reg(F, "spring-yaml", "src/main/resources/application-prod.yml", T("""
        server:
          port: 8443
          ssl:
            enabled: true
            key-store-type: PKCS12
            key-store: classpath:tls/server.p12
            key-store-password: ${TLS_KEYSTORE_PASSWORD}

        app:
          jwt:
            issuer: https://auth.«org».com
            ttl: 15m
            private-key: |
        «key»
            public-key-location: classpath:jwt/public.pem
        """, org=org(), key=S("EC private key in YAML block scalar", indent(ec_key_pem(), 6))), "ec-in-yaml")

    key = pkcs8_pem().split("\n")
    parts = ",\n".join('  "%s\\n"' % ln for ln in key)
    reg(F, "javascript", "lib/github-app.js", T("""
        'use strict';

        const { App } = require('@octokit/app');

        // GitHub App "«org»-release-bot" (app id «appid»)
        const privateKey = [
        «parts»
        ].join('');

        const app = new App({
          appId: «appid»,
          privateKey,
          webhooks: { secret: process.env.GITHUB_WEBHOOK_SECRET },
        });

        module.exports = app;
        """, org=org(), appid=str(R.randint(100000, 900000)),
        parts=S("PKCS#8 key as array of JS string pieces", parts)), "concat-js")

    reg(F, "dotenv", "apps/api/.env.production", T("""
        APP_ENV=production
        APP_URL=https://api.«org».com
        JWT_ALGORITHM=RS256
        JWT_PRIVATE_KEY="«key»"
        JWT_PUBLIC_KEY_URL=https://api.«org».com/.well-known/jwks.json
        LOG_CHANNEL=stderr
        QUEUE_CONNECTION=sqs
        CACHE_DRIVER=redis
        SESSION_DRIVER=redis
        """, org=org(), key=S("RSA key with \\n escapes in .env", esc_nl(rsa_key_pem()) + "\\n")), "escaped-env")

    reg(F, "ansible-vars", "ansible/group_vars/deploy.yml", T("""
        ---
        deploy_user: deployer
        deploy_group: www-data
        deploy_path: /srv/«app»
        deploy_repo: git@github.com:«org»/«app».git
        deploy_branch: main
        # key used by the deploy user to pull the repository
        deploy_ssh_private_key: |
        «key»
        deploy_known_hosts:
          - "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
        """, app=app(), org=org(), key=S("OpenSSH key in Ansible var", indent(openssh_rsa_pem(), 2))), "ansible-key")

    crt = cert_pem()
    reg(F, "terraform", "infra/lb/certs.tf", T("""
        resource "aws_iam_server_certificate" "legacy_lb" {
          name_prefix      = "legacy-lb-"
          certificate_body = <<EOT
        «crt»
        EOT
          private_key = <<EOT
        «key»
        EOT

          lifecycle {
            create_before_destroy = true
          }
        }
        """, crt=crt, key=S("EC private key in Terraform heredoc", ec_key_pem())), "tf-heredoc")

    reg(F, "k8s-yaml", "k8s/base/ingress-tls.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: «app»-tls
          namespace: «app»
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        «crt»
          tls.key: |
        «key»
        """, app=app(), crt=indent(cert_pem(), 4), key=S("RSA key in k8s stringData", indent(rsa_key_pem(), 4))),
        "k8s-tls")

    reg(F, "pgp", "release/signing-key.asc", S("PGP private key block", pgp_block("PRIVATE KEY", 900)) + "\n", "pgp-priv")

    pubb = base64.b64encode(ssh_string(b"ssh-ed25519") + ssh_string(rbytes(32))).decode()
    privb = base64.b64encode(rbytes(48)).decode()
    reg(F, "ppk", "ops/keys/bastion.ppk", T("""
        PuTTY-User-Key-File-3: ssh-ed25519
        Encryption: none
        Comment: ops@bastion
        Public-Lines: 2
        «pub1»
        «pub2»
        Private-Lines: 1
        «priv»
        Private-MAC: «mac»
        """, pub1=pubb[:64], pub2=pubb[64:], priv=S("PuTTY private key lines", privb), mac=hexs(64)), "ppk")

    eck = ec_key_pem()
    reg(F, "go", "internal/auth/testkeys_prod.go", T("""
        package auth

        // signingKeyPEM is the ES256 key used to sign session tokens.
        // FIXME(ops): load from KMS instead of compiling it in.
        const signingKeyPEM = `«key»`

        const keyID = "«kid»"

        func init() {
        	if err := loadSigningKey([]byte(signingKeyPEM), keyID); err != nil {
        		panic(err)
        	}
        }
        """, key=S("EC private key in Go raw string", eck), kid=hexs(16)), "go-raw")

    sa_key = pkcs8_pem()
    reg(F, "python", "tools/sign_manifest.py", T('''
        import base64
        import json
        import sys

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        PRIVATE_KEY = b"""«key»
        """


        def sign(path):
            key = serialization.load_pem_private_key(PRIVATE_KEY, password=None)
            data = open(path, "rb").read()
            sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
            return base64.b64encode(sig).decode()


        if __name__ == "__main__":
            print(json.dumps({"file": sys.argv[1], "sig": sign(sys.argv[1])}))
        ''', key=S("PKCS#8 key in Python bytes literal", sa_key)), "py-bytes")

    # ---- negatives
    reg(F, "bash", "scripts/check-no-keys.sh", T("""
        #!/usr/bin/env bash
        # Refuse to build an image that contains private key material.
        set -euo pipefail

        root="${1:-.}"
        pattern='-----BEGIN ([A-Z]+ )?PRIVATE KEY-----'

        if grep -rEl -- "$pattern" "$root" --exclude-dir=.git --exclude='*.md' ; then
          echo "error: private key material found (see files above)" >&2
          exit 1
        fi

        for f in $(find "$root" -name '*.pem' -o -name '*.key'); do
          if openssl pkey -in "$f" -noout 2>/dev/null; then
            echo "error: $f parses as a private key" >&2
            exit 1
          fi
        done
        echo "ok: no private keys"
        """), "grep-keys")

    reg(F, "pem", "config/jwt/public.pem", pubkey_pem() + "\n", "public-pem")

    reg(F, "markdown", "docs/deploy-keys.md", T("""
        # Deploy keys

        1. Generate a key pair: `ssh-keygen -t ed25519 -C "deploy@«org»" -f deploy_key -N ""`
        2. Add `deploy_key.pub` to the repository as a read-only deploy key.
        3. Store the private half in the CI secret `DEPLOY_SSH_KEY`. It looks like:

        ```
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAA...(truncated)...
        -----END OPENSSH PRIVATE KEY-----
        ```

        For the JWT signer, paste the PEM into `JWT_PRIVATE_KEY`:

        ```
        -----BEGIN PRIVATE KEY-----
        <your base64 key here>
        -----END PRIVATE KEY-----
        ```

        Never commit either file; both paths are in `.gitignore`.
        """, org=org()), "keys-doc")

    reg(F, "ansible-vars", "ansible/group_vars/prod/vault.yml", T("""
        ---
        deploy_ssh_private_key: !vault |
                  $ANSIBLE_VAULT;1.1;AES256
                  «v1»
                  «v2»
                  «v3»
                  «v4»
                  «v5»
        tls_key_path: /etc/ssl/private/«app».key
        tls_cert_path: /etc/ssl/certs/«app».crt
        """, v1=hexs(80), v2=hexs(80), v3=hexs(80), v4=hexs(80), v5=hexs(46), app=app()), "vaulted-key")

    reg(F, "terraform", "infra/bastion/main.tf", T("""
        resource "tls_private_key" "bastion" {
          algorithm = "ED25519"
        }

        resource "aws_key_pair" "bastion" {
          key_name   = "bastion-${var.env}"
          public_key = tls_private_key.bastion.public_key_openssh
        }

        resource "aws_secretsmanager_secret_version" "bastion_key" {
          secret_id     = aws_secretsmanager_secret.bastion_key.id
          secret_string = tls_private_key.bastion.private_key_openssh
        }

        provisioner "remote-exec" {
          connection {
            host        = self.public_ip
            user        = "ec2-user"
            private_key = file("~/.ssh/id_ed25519")
          }
        }
        """), "tf-keyref")

    reg(F, "python", "app/crypto/keys.py", T('''
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        PEM_HEADER = "-----BEGIN PRIVATE KEY-----"
        PEM_FOOTER = "-----END PRIVATE KEY-----"


        def generate(passphrase: bytes) -> bytes:
            key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
            return key.private_bytes(
                encoding=serialization.Encoding.PEM,
                format=serialization.PrivateFormat.PKCS8,
                encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
            )


        def looks_like_pem(text: str) -> bool:
            text = text.strip()
            return text.startswith(PEM_HEADER) and text.endswith(PEM_FOOTER)
        '''), "keygen-code")


# =================================================================== cloud-credentials
def fam_cloud():
    F = "cloud-credentials"
    reg(F, "aws-credentials-ini", "ops/aws/credentials", T("""
        [default]
        aws_access_key_id = «k1»
        aws_secret_access_key = «s1»
        region = eu-central-1

        [«org»-prod]
        aws_access_key_id = «k2»
        aws_secret_access_key = «s2»

        [«org»-sso]
        sso_session = «org»
        sso_account_id = «acct»
        sso_role_name = ReadOnly
        region = us-east-1
        """, k1=aws_key_id(), s1=S("AWS secret access key", aws_secret()), org=org(), k2=aws_key_id(),
        s2=S("AWS secret access key", aws_secret()), acct=digits(12)), "aws-creds-ini")

    reg(F, "python", "etl/upload_reports.py", T('''
        import datetime as dt
        import pathlib

        import boto3

        BUCKET = "«org»-reports-prod"

        s3 = boto3.client(
            "s3",
            region_name="eu-west-1",
            aws_access_key_id="«kid»",
            aws_secret_access_key="«sec»",
        )


        def upload(folder: str) -> int:
            n = 0
            prefix = dt.date.today().strftime("%Y/%m/%d")
            for p in pathlib.Path(folder).glob("*.csv"):
                s3.upload_file(str(p), BUCKET, f"{prefix}/{p.name}")
                n += 1
            return n


        if __name__ == "__main__":
            print(upload("out"))
        ''', org=org(), kid=aws_key_id(), sec=S("AWS secret access key", aws_secret())), "boto3-inline")

    reg(F, "csv", "ops/iam/ci-uploader_accessKeys.csv", T("""
        Access key ID,Secret access key
        «kid»,«sec»
        """, kid=aws_key_id(), sec=S("AWS secret key in IAM console CSV (no keyword on line)", aws_secret())),
        "iam-csv")

    reg(F, "go", "pkg/archive/s3.go", T("""
        package archive

        import (
        	"github.com/aws/aws-sdk-go/aws"
        	"github.com/aws/aws-sdk-go/aws/credentials"
        	"github.com/aws/aws-sdk-go/aws/session"
        	"github.com/aws/aws-sdk-go/service/s3"
        )

        func newClient() *s3.S3 {
        	sess := session.Must(session.NewSession(&aws.Config{
        		Region: aws.String("us-west-2"),
        		Credentials: credentials.NewStaticCredentials(
        			"«kid»",
        			"«sec»",
        			""),
        	}))
        	return s3.New(sess)
        }
        """, kid=aws_key_id(), sec=S("AWS secret key positional arg (no keyword)", aws_secret())), "go-static")

    reg(F, "terraform", "infra/aws/provider.tf", T("""
        provider "aws" {
          region     = "ap-southeast-2"
          access_key = "«kid»"
          secret_key = "«sec»"

          default_tags {
            tags = {
              Project   = "«app»"
              ManagedBy = "terraform"
            }
          }
        }

        terraform {
          backend "s3" {
            bucket = "«app»-tfstate"
            key    = "prod/terraform.tfstate"
            region = "ap-southeast-2"
          }
        }
        """, kid=aws_key_id(), sec=S("AWS secret key in Terraform provider", aws_secret()), app=app()), "tf-aws")

    acct = "st" + org() + "prod" + rs(3, LOWER + DIGITS)
    reg(F, "appsettings-json", "src/Web/appsettings.Production.json", T("""
        {
          "ConnectionStrings": {
            "Storage": "DefaultEndpointsProtocol=https;AccountName=«acct»;AccountKey=«key»;EndpointSuffix=core.windows.net",
            "Redis": "«acct».redis.cache.windows.net:6380,ssl=True,abortConnect=False"
          },
          "AzureAd": {
            "Instance": "https://login.microsoftonline.com/",
            "TenantId": "«tid»",
            "ClientId": "«cid»"
          },
          "Logging": {
            "LogLevel": { "Default": "Warning" }
          }
        }
        """, acct=acct, key=S("Azure storage account key", az_storage_key()), tid=uid(), cid=uid()), "az-storage-appsettings")

    sb = "sb-" + app() + "-prod"
    reg(F, "local-settings-json", "functions/local.settings.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=«acct»;AccountKey=«key»;EndpointSuffix=core.windows.net",
            "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
            "ServiceBusConnection": "Endpoint=sb://«sb».servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=«sak»",
            "QueueName": "orders-inbound",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=«ik»;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
          },
          "Host": {
            "LocalHttpPort": 7071,
            "CORS": "*"
          }
        }
        """, acct="st" + rs(10, LOWER + DIGITS), key=S("Azure storage account key", az_storage_key()), sb=sb,
        sak=S("Azure Service Bus SAS key", b64(32)), ik=uid()), "az-localsettings")

    reg(F, "json", "ops/azure/sp-github-deploy.json", T("""
        {
          "appId": "«a»",
          "displayName": "sp-github-deploy",
          "password": "«p»",
          "tenant": "«t»"
        }
        """, a=uid(), p=S("Azure service principal client secret", az_client_secret()), t=uid()), "az-sp-json")

    sa_proj = org() + "-data-" + digits(6)
    reg(F, "gcp-service-account-json", "secrets/gcp/" + sa_proj + "-loader.json", T("""
        {
          "type": "service_account",
          "project_id": "«proj»",
          "private_key_id": "«kid»",
          "private_key": "«key»",
          "client_email": "loader@«proj».iam.gserviceaccount.com",
          "client_id": "«cid»",
          "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token",
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/loader%40«proj».iam.gserviceaccount.com",
          "universe_domain": "googleapis.com"
        }
        """, proj=sa_proj, kid=hexs(40), key=S("GCP service account private key", esc_nl(pkcs8_pem()) + "\\n"),
        cid=digits(21)), "gcp-sa")

    reg(F, "dotenv", "services/reporting/.env", T("""
        # Azure AD app registration "reporting-daemon"
        AZURE_TENANT_ID=«t»
        AZURE_CLIENT_ID=«c»
        AZURE_CLIENT_SECRET=«s»
        AZURE_AUTHORITY_HOST=https://login.microsoftonline.com
        POWERBI_WORKSPACE_ID=«w»
        POWERBI_REPORT_ID=«r»
        REFRESH_CRON=0 */2 * * *
        """, t=uid(), c=uid(), s=S("Azure AD client secret", az_client_secret()), w=uid(), r=uid()), "az-secret-env")

    sacct = "st" + rs(9, LOWER + DIGITS)
    reg(F, "web-config", "LegacyPortal/Web.config", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <appSettings>
            <add key="webpages:Version" value="3.0.0.0" />
            <add key="ClientValidationEnabled" value="true" />
            <add key="BlobContainer" value="uploads" />
            <add key="BlobSasUrl" value="https://«a».blob.core.windows.net/uploads?sv=2022-11-02&amp;ss=b&amp;srt=co&amp;sp=rwdlacx&amp;se=2026-12-31T23:59:59Z&amp;st=2024-01-01T00:00:00Z&amp;spr=https&amp;sig=«sig»" />
            <add key="StorageConnectionString" value="DefaultEndpointsProtocol=https;AccountName=«a»;AccountKey=«k»;EndpointSuffix=core.windows.net" />
          </appSettings>
          <system.web>
            <compilation debug="false" targetFramework="4.8" />
            <httpRuntime targetFramework="4.8" maxRequestLength="51200" />
            <customErrors mode="RemoteOnly" />
          </system.web>
        </configuration>
        """, a=sacct, sig=S("Azure SAS token signature", az_sas_sig()), k=S("Azure storage account key", az_storage_key())),
        "az-sas-webconfig")

    reg(F, "helm-values", "deploy/velero/values.yaml", T("""
        configuration:
          backupStorageLocation:
            - name: default
              provider: aws
              bucket: «org»-velero-backups
              config:
                region: eu-west-1
          volumeSnapshotLocation:
            - name: default
              provider: aws
              config:
                region: eu-west-1

        credentials:
          useSecret: true
          secretContents:
            cloud: |
              [default]
              aws_access_key_id=«kid»
              aws_secret_access_key=«sec»

        initContainers:
          - name: velero-plugin-for-aws
            image: velero/velero-plugin-for-aws:v1.9.0
            volumeMounts:
              - mountPath: /target
                name: plugins
        """, org=org(), kid=aws_key_id(), sec=S("AWS secret key in Helm values", aws_secret())), "velero-values")

    reg(F, "gitlab-ci", "ci/deploy.gitlab-ci.yml", T("""
        .aws-deploy:
          image: amazon/aws-cli:2.15.0
          variables:
            AWS_DEFAULT_REGION: us-east-1
            AWS_ACCESS_KEY_ID: «kid»
            AWS_SECRET_ACCESS_KEY: «sec»
          before_script:
            - aws sts get-caller-identity

        deploy-static:
          extends: .aws-deploy
          stage: deploy
          script:
            - aws s3 sync public/ s3://«org»-www --delete
            - aws cloudfront create-invalidation --distribution-id E«dist» --paths "/*"
          only:
            - main
        """, kid=aws_key_id(), sec=S("AWS secret key in CI variables", aws_secret()), org=org(),
        dist=rs(13, UPPER + DIGITS)), "aws-gitlab")

    reg(F, "javascript", "scripts/backfill-thumbnails.mjs", T("""
        import { S3Client, ListObjectsV2Command } from "@aws-sdk/client-s3";

        const client = new S3Client({
          region: "eu-north-1",
          credentials: {
            accessKeyId: "«kid»",
            secretAccessKey: "«sec»",
            sessionToken: undefined,
          },
        });

        let token;
        do {
          const page = await client.send(new ListObjectsV2Command({
            Bucket: "«org»-media", Prefix: "originals/", ContinuationToken: token,
          }));
          for (const obj of page.Contents ?? []) console.log(obj.Key);
          token = page.NextContinuationToken;
        } while (token);
        """, kid=aws_key_id(), sec=S("AWS secret key in JS SDK config", aws_secret()), org=org()), "aws-js")

    # ---- negatives
    reg(F, "aws-config-ini", "ops/aws/config", T("""
        [default]
        region = eu-central-1
        output = json

        [profile «org»-prod]
        role_arn = arn:aws:iam::«a1»:role/OrganizationAccountAccessRole
        source_profile = default
        mfa_serial = arn:aws:iam::«a2»:mfa/jdoe
        duration_seconds = 3600

        [profile «org»-sso]
        sso_session = «org»
        sso_account_id = «a1»
        sso_role_name = PowerUserAccess

        [sso-session «org»]
        sso_start_url = https://«org».awsapps.com/start
        sso_region = eu-west-1
        sso_registration_scopes = sso:account:access
        """, org=org(), a1=digits(12), a2=digits(12)), "aws-config")

    reg(F, "local-settings-json", "src/Functions/local.settings.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;",
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "CosmosEndpoint": "https://localhost:8081/",
            "InputQueue": "thumbnails"
          }
        }
        """), "azurite")

    reg(F, "csharp", "src/Worker/Program.cs", T("""
        using Azure.Identity;
        using Azure.Storage.Blobs;
        using Microsoft.Extensions.Azure;

        var builder = Host.CreateApplicationBuilder(args);

        builder.Services.AddAzureClients(clients =>
        {
            clients.AddBlobServiceClient(new Uri(builder.Configuration["Storage:BlobUri"]!));
            clients.UseCredential(new DefaultAzureCredential(new DefaultAzureCredentialOptions
            {
                ManagedIdentityClientId = builder.Configuration["AZURE_CLIENT_ID"],
            }));
        });

        builder.Configuration.AddAzureKeyVault(
            new Uri($"https://{builder.Configuration["KeyVaultName"]}.vault.azure.net/"),
            new DefaultAzureCredential());

        builder.Services.AddHostedService<ThumbnailWorker>();
        builder.Build().Run();
        """), "az-managed-identity")

    reg(F, "terraform", "infra/rds/main.tf", T("""
        provider "aws" {
          region     = var.region
          access_key = var.aws_access_key
          secret_key = var.aws_secret_key
        }

        data "aws_ssm_parameter" "db_password" {
          name            = "/${var.env}/rds/master-password"
          with_decryption = true
        }

        resource "aws_db_instance" "main" {
          identifier          = "${var.env}-main"
          engine              = "postgres"
          engine_version      = "16.2"
          instance_class      = "db.t4g.medium"
          allocated_storage   = 50
          username            = "app_admin"
          password            = data.aws_ssm_parameter.db_password.value
          skip_final_snapshot = false
        }
        """), "tf-var-refs")

    proj = org() + "-prod-" + digits(6)
    reg(F, "json", "deploy/gcp/wif-credential-config.json", T("""
        {
          "type": "external_account",
          "audience": "//iam.googleapis.com/projects/«num»/locations/global/workloadIdentityPools/github/providers/github-actions",
          "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
          "token_url": "https://sts.googleapis.com/v1/token",
          "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/deployer@«proj».iam.gserviceaccount.com:generateAccessToken",
          "credential_source": {
            "file": "/var/run/secrets/tokens/gcp-ksa/token",
            "format": { "type": "text" }
          }
        }
        """, num=digits(12), proj=proj), "gcp-wif")

    reg(F, "json", "ops/audit/cloudtrail-sample.json", T("""
        {
          "eventVersion": "1.09",
          "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDA«pid»",
            "arn": "arn:aws:iam::«acct»:user/ci-uploader",
            "accountId": "«acct»",
            "accessKeyId": "«kid»",
            "userName": "ci-uploader"
          },
          "eventTime": "2024-05-02T09:14:55Z",
          "eventSource": "s3.amazonaws.com",
          "eventName": "PutObject",
          "awsRegion": "eu-west-1",
          "sourceIPAddress": "203.0.113.24",
          "requestParameters": { "bucketName": "reports-prod", "key": "2024/05/02/daily.csv" },
          "requestID": "«rid»",
          "eventID": "«eid»"
        }
        """, pid=rs(17, UPPER + "234567"), acct=digits(12), kid=aws_key_id(), rid=rs(16, UPPER + DIGITS), eid=uid()),
        "cloudtrail")


# =================================================================== credential-files
def fam_credfiles():
    F = "credential-files"
    o = org()
    reg(F, "netrc", "home/ci/.netrc", T("""
        # used by curl --netrc and git over https
        machine git.«o».internal
          login ci-bot
          password «p1»

        machine artifacts.«o».internal login deployer password «p2»

        machine api.heroku.com
          login ops@«o».com
          password «p3»

        default
          login anonymous
          password guest@
        """, o=o, p1=S("netrc password", pw()), p2=S("netrc password (one-line form)", pw_url()),
        p3=S("Heroku API key in netrc", uid())), "netrc")

    reg(F, "pgpass", "home/postgres/.pgpass", T("""
        # hostname:port:database:username:password
        db-primary.«o».internal:5432:*:replicator:«p1»
        db-primary.«o».internal:5432:«a»:«a»_rw:«p2»
        db-analytics.«o».internal:5432:warehouse:looker:«p3»
        localhost:5432:*:postgres:postgres
        """, o=org(), a=app(), p1=S("pgpass password", pw("alnum")), p2=S("pgpass password", pw("alnum")),
        p3=S("pgpass password", pw("words"))), "pgpass")

    reg(F, "my-cnf", "home/backup/.my.cnf", T("""
        [client]
        user=backup
        password="«p»"
        host=mysql-01.«o».lan
        port=3306
        default-character-set=utf8mb4

        [mysqldump]
        single-transaction
        quick
        max_allowed_packet=512M

        [mysql]
        prompt=\\\\u@\\\\h [\\\\d]>\\\\_
        """, p=S("MySQL client password", pw()), o=org()), "my-cnf")

    reg(F, "git-credentials", "home/jenkins/.git-credentials", T("""
        https://jenkins-«o»:«t1»@github.com
        https://ci-bot:«t2»@gitlab.«o».internal
        https://x-token-auth:«t3»@bitbucket.org
        """, o=org(), t1=S("GitHub PAT in git-credentials", gh_token()), t2=S("GitLab PAT in git-credentials", glpat()),
        t3=S("Bitbucket access token", "ATCTT3xFfGN0" + rs(183, URLSAFE) + "=" + hexs(8).upper())), "git-credentials")

    reg(F, "pypirc", "home/release/.pypirc", T("""
        [distutils]
        index-servers =
            pypi
            testpypi
            internal

        [pypi]
        username = __token__
        password = «t»

        [testpypi]
        repository = https://test.pypi.org/legacy/
        username = __token__

        [internal]
        repository = https://nexus.«o».internal/repository/pypi-internal/
        username = release-bot
        password = «p»
        """, t=S("PyPI API token", pypi_tok()), o=org(), p=S("Nexus password", pw())), "pypirc")

    reg(F, "npmrc", ".npmrc", T("""
        registry=https://registry.npmjs.org/
        @«o»:registry=https://npm.pkg.github.com/
        //npm.pkg.github.com/:_authToken=«gh»
        //registry.npmjs.org/:_authToken=«npm»
        engine-strict=true
        save-exact=true
        fund=false
        audit-level=high
        """, o=org(), gh=S("GitHub PAT in .npmrc", gh_token()), npm=S("npm token in .npmrc", npm_tok())), "npmrc")

    u1, p1 = "ci-" + app(), pw()
    u2, p2 = "robot$ci-pusher", pw("alnum")
    reg(F, "docker-config-json", "home/runner/.docker/config.json", T("""
        {
          "auths": {
            "https://index.docker.io/v1/": {
              "auth": "«a1»"
            },
            "registry.«o».internal:5000": {
              "auth": "«a2»"
            },
            "ghcr.io": {}
          },
          "credHelpers": {
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"
          },
          "HttpHeaders": {
            "User-Agent": "Docker-Client/24.0.7 (linux)"
          }
        }
        """, a1=S("docker auth base64(user:pass)", base64.b64encode((u1 + ":" + p1).encode()).decode()),
        o=org(), a2=S("docker auth base64(user:pass)", base64.b64encode((u2 + ":" + p2).encode()).decode())),
        "docker-config")

    ca = base64.b64encode(cert_der()).decode()
    reg(F, "kubeconfig", "ops/kube/admin.conf", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: «ca»
            server: https://«ip»:6443
          name: kubernetes
        contexts:
        - context:
            cluster: kubernetes
            user: kubernetes-admin
          name: kubernetes-admin@kubernetes
        current-context: kubernetes-admin@kubernetes
        preferences: {}
        users:
        - name: kubernetes-admin
          user:
            client-certificate-data: «cc»
            client-key-data: «ck»
        """, ca=ca, ip=ip(), cc=base64.b64encode(cert_pem().encode()).decode(),
        ck=S("kubeconfig client-key-data (base64 PEM key)", base64.b64encode((rsa_key_pem() + "\n").encode()).decode())),
        "kubeconfig-cert")

    satok = jwt({"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "ci",
                 "kubernetes.io/serviceaccount/secret.name": "deployer-token-" + rs(5, LOWER + DIGITS),
                 "kubernetes.io/serviceaccount/service-account.name": "deployer",
                 "kubernetes.io/serviceaccount/service-account.uid": uid(), "sub": "system:serviceaccount:ci:deployer"}, "RS256")
    reg(F, "kubeconfig", "ci/kubeconfig-staging.yaml", T("""
        apiVersion: v1
        kind: Config
        clusters:
          - name: staging
            cluster:
              server: https://k8s-staging.«o».internal:6443
              insecure-skip-tls-verify: true
        users:
          - name: ci-deployer
            user:
              token: «tok»
        contexts:
          - name: staging
            context:
              cluster: staging
              user: ci-deployer
              namespace: ci
        current-context: staging
        """, o=org(), tok=S("Kubernetes service-account bearer token", satok)), "kubeconfig-token")

    reg(F, "toml", "home/dev/.cargo/credentials.toml", T("""
        [registry]
        token = "«t»"

        [registries.«o»-internal]
        token = "Bearer «t2»"
        """, t=S("crates.io API token", "cio" + rs(32)), o=org(), t2=S("private cargo registry token", rs(40))),
        "cargo-creds")

    reg(F, "yaml", "home/dev/.gem/credentials", T("""
        ---
        :rubygems_api_key: «k»
        :github: Bearer «g»
        """, k=S("RubyGems API key", "rubygems_" + hexs(48)), g=S("GitHub PAT for gem push", gh_token())), "gem-creds")

    reg(F, "maven-settings-xml", "home/ci/.m2/settings.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
          <servers>
            <server>
              <id>«o»-releases</id>
              <username>deployment</username>
              <password>«p1»</password>
            </server>
            <server>
              <id>ossrh</id>
              <username>«o»-oss</username>
              <password>${env.OSSRH_PASSWORD}</password>
            </server>
            <server>
              <id>github</id>
              <username>«o»-bot</username>
              <password>«p2»</password>
            </server>
          </servers>
          <mirrors>
            <mirror>
              <id>«o»-releases</id>
              <mirrorOf>central</mirrorOf>
              <url>https://nexus.«o».internal/repository/maven-public/</url>
            </mirror>
          </mirrors>
        </settings>
        """, o=org(), p1=S("Nexus deployment password", pw()), p2=S("GitHub PAT as maven password", gh_token())),
        "m2-settings")

    reg(F, "json", "auth.json", T("""
        {
            "http-basic": {
                "repo.packagist.com": {
                    "username": "token",
                    "password": "«pp»"
                },
                "satis.«o».internal": {
                    "username": "composer",
                    "password": "«p»"
                }
            },
            "github-oauth": {
                "github.com": "«gh»"
            }
        }
        """, pp=S("Private Packagist token", hexs(64)), o=org(), p=S("Satis password", pw()),
        gh=S("GitHub OAuth token in composer auth.json", gh_token("gho_"))), "composer-auth")

    reg(F, "yaml", "home/dev/.config/gh/hosts.yml", T("""
        github.com:
            users:
                «u»:
                    oauth_token: «t»
            git_protocol: ssh
            oauth_token: «t2»
            user: «u»
        """, u="jdoe-" + org(), t=S("gh CLI OAuth token", gh_token("gho_")), t2=S("gh CLI OAuth token", gh_token("gho_"))),
        "gh-hosts")

    # ---- negatives
    reg(F, "npmrc", "packages/ui/.npmrc", T("""
        @«o»:registry=https://npm.pkg.github.com/
        //npm.pkg.github.com/:_authToken=${NODE_AUTH_TOKEN}
        //registry.npmjs.org/:_authToken=${NPM_TOKEN}
        always-auth=true
        save-exact=true
        auto-install-peers=true
        strict-peer-dependencies=false
        link-workspace-packages=true
        prefer-workspace-packages=true
        """, o=org()), "npmrc-env")

    reg(F, "docker-config-json", "ci/docker/config.json", T("""
        {
          "auths": {
            "https://index.docker.io/v1/": {},
            "ghcr.io": {}
          },
          "credsStore": "desktop",
          "credHelpers": {
            "«acct».dkr.ecr.us-east-1.amazonaws.com": "ecr-login",
            "europe-docker.pkg.dev": "gcloud"
          },
          "currentContext": "default",
          "plugins": {
            "-x-cli-hints": { "enabled": "true" }
          }
        }
        """, acct=digits(12)), "docker-credstore")

    reg(F, "kubeconfig", "ops/kube/eks-prod.yaml", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: «ca»
            server: https://«h».gr7.eu-west-1.eks.amazonaws.com
          name: arn:aws:eks:eu-west-1:«a»:cluster/prod
        contexts:
        - context:
            cluster: arn:aws:eks:eu-west-1:«a»:cluster/prod
            user: arn:aws:eks:eu-west-1:«a»:cluster/prod
          name: prod
        current-context: prod
        users:
        - name: arn:aws:eks:eu-west-1:«a»:cluster/prod
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
              args: ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod"]
              env:
                - name: AWS_PROFILE
                  value: prod-admin
        """, ca=base64.b64encode(cert_pem().encode()).decode(), h=hexs(32).upper(), a=digits(12)), "kubeconfig-exec")

    reg(F, "pypirc", ".pypirc", T("""
        # Passwords come from keyring (`keyring set https://upload.pypi.org/legacy/ __token__`)
        [distutils]
        index-servers =
            pypi
            testpypi

        [pypi]
        username = __token__

        [testpypi]
        repository = https://test.pypi.org/legacy/
        username = __token__
        """), "pypirc-keyring")

    reg(F, "htpasswd", "deploy/nginx/.htpasswd", "\n".join([
        "admin:$apr1$" + rs(8, ALNUM + "./") + "$" + rs(22, ALNUM + "./"),
        "grafana:$2y$05$" + rs(53, ALNUM + "./"),
        "metrics:{SHA}" + b64(20),
        "ci:$2y$10$" + rs(53, ALNUM + "./"),
        "support:$apr1$" + rs(8, ALNUM + "./") + "$" + rs(22, ALNUM + "./"),
    ]) + "\n", "htpasswd")

    reg(F, "gitconfig", "home/dev/.gitconfig", T("""
        [user]
        	name = Jane Doe
        	email = jane.doe@«o».com
        	signingkey = «fp»
        [commit]
        	gpgsign = true
        [credential]
        	helper = osxkeychain
        [credential "https://dev.azure.com"]
        	useHttpPath = true
        [url "git@github.com:"]
        	insteadOf = https://github.com/
        [pull]
        	rebase = true
        [init]
        	defaultBranch = main
        """, o=org(), fp=hexs(16).upper()), "gitconfig")


# =================================================================== command-line
def fam_cmdline():
    F = "command-line"
    reg(F, "bash", "scripts/backup_db.sh", T("""
        #!/bin/bash
        # nightly backup, run from cron on backup-01
        set -e
        STAMP=$(date +%Y%m%d-%H%M)
        OUT=/var/backups/db/$STAMP
        mkdir -p "$OUT"

        mysqldump -h mysql-01.«o».lan -u backup -p'«p1»' --single-transaction --routines shop > "$OUT/shop.sql"

        PGPASSWORD=«p2» pg_dump -h pg-01.«o».lan -U backup -Fc crm -f "$OUT/crm.dump"

        find /var/backups/db -maxdepth 1 -mtime +14 -exec rm -rf {} \\;
        echo "backup done: $OUT"
        """, o=org(), p1=S("mysqldump -p password", pw()), p2=S("PGPASSWORD inline", pw("alnum"))), "mysqldump")

    reg(F, "bash", "deploy/push.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        HOSTS="web1 web2 web3"
        BUILD=dist/site.tar.gz

        npm run build
        tar czf "$BUILD" -C dist .

        for h in $HOSTS; do
          echo "==> $h"
          sshpass -p '«p»' scp -o StrictHostKeyChecking=no "$BUILD" deploy@$h.«o».lan:/tmp/
          sshpass -p '«p»' ssh deploy@$h.«o».lan 'sudo tar xzf /tmp/site.tar.gz -C /var/www/html'
        done
        """.replace("«p»' ssh", "«q»' ssh"), p=S("sshpass -p password", "__PW__"), q=S("sshpass -p password (repeat)", "__PW__"),
        o=org()).replace("__PW__", pw("human")), "sshpass")

    reg(F, "bash", "ops/healthcheck.sh", T("""
        #!/bin/sh
        # pinged every minute by monit
        BASE=https://admin.«o».com

        code=$(curl -s -o /dev/null -w '%{http_code}' -u admin:«p» "$BASE/api/health")
        if [ "$code" != "200" ]; then
          logger -t healthcheck "admin api returned $code"
          exit 1
        fi

        curl -fsS "$BASE/metrics" > /dev/null || exit 2
        exit 0
        """, o=org(), p=S("curl -u user:password", pw_url())), "curl-u")

    reg(F, "makefile", "Makefile", T("""
        IMAGE ?= registry.«o».io/«a»
        TAG ?= $(shell git rev-parse --short HEAD)

        .PHONY: build push test lint

        build:
        	docker build -t $(IMAGE):$(TAG) .

        login:
        	docker login registry.«o».io -u ci-robot -p «p»

        push: login build
        	docker push $(IMAGE):$(TAG)

        test:
        	go test ./...

        lint:
        	golangci-lint run
        """, o=org(), a=app(), p=S("docker login -p password", pw("alnum"))), "docker-login-make")

    reg(F, "bash", "provision/nginx-auth.sh", T("""
        #!/bin/bash
        # protect the staging site with basic auth
        apt-get install -y apache2-utils nginx

        htpasswd -b -c /etc/nginx/.htpasswd staging «p1»
        htpasswd -b /etc/nginx/.htpasswd qa-team «p2»

        cat > /etc/nginx/snippets/auth.conf <<'EOF'
        auth_basic "Restricted";
        auth_basic_user_file /etc/nginx/.htpasswd;
        EOF

        nginx -t && systemctl reload nginx
        """, p1=S("htpasswd -b password", pw()), p2=S("htpasswd -b password", pw("words"))), "htpasswd-b")

    reg(F, "bash", "scripts/fetch_artifacts.sh", T("""
        #!/bin/bash
        VERSION=${1:-latest}
        DEST=/opt/«a»/releases

        mkdir -p $DEST
        wget --user=reader --password='«p»' \\
             -O $DEST/«a»-$VERSION.tar.gz \\
             https://artifacts.«o».internal/releases/«a»-$VERSION.tar.gz

        sha256sum -c $DEST/«a»-$VERSION.tar.gz.sha256
        tar -xzf $DEST/«a»-$VERSION.tar.gz -C /opt/«a»
        ln -sfn /opt/«a»/«a»-$VERSION /opt/«a»/current
        """, a=app(), o=org(), p=S("wget --password", pw())), "wget-password")

    reg(F, "bash", "scripts/mount_share.sh", T("""
        #!/bin/bash
        # copy the monthly exports to the finance share
        SHARE=//fs01.corp.«o».com/finance
        MONTH=$(date +%Y-%m)

        smbclient "$SHARE" -U 'CORP\\svc_export%«p1»' -c "mkdir exports/$MONTH"
        smbclient "$SHARE" -U 'CORP\\svc_export%«p1b»' -c "prompt; recurse; lcd /srv/exports/$MONTH; cd exports/$MONTH; mput *"

        mount -t cifs "$SHARE" /mnt/finance -o username=svc_export,password=«p2»,domain=CORP,vers=3.0
        """, o=org(), p1=S("smbclient -U user%pass", "__P__"), p1b=S("smbclient -U user%pass (repeat)", "__P__"),
        p2=S("mount.cifs password option", "__P__")).replace("__P__", pw("alnum")), "smbclient")

    reg(F, "bash", "db/migrate.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        cd "$(dirname "$0")"

        for f in migrations/*.sql; do
          echo "applying $f"
          psql "postgresql://migrator:«p»@pg-prod.«o».internal:5432/«a»?sslmode=require" \\
               -v ON_ERROR_STOP=1 -f "$f"
        done
        """, p=S("password in psql URI", pw_url()), o=org(), a=app()), "psql-uri")

    reg(F, "bash", "scripts/restore_mongo.sh", T("""
        #!/bin/bash
        ARCHIVE=$1
        [ -z "$ARCHIVE" ] && { echo "usage: $0 dump.archive"; exit 1; }

        mongosh --host mongo-0.«o».internal --username admin -p '«p1»' --authenticationDatabase admin \\
          --eval 'db.getSiblingDB("events").dropDatabase()'

        mongorestore --host mongo-0.«o».internal --username admin --password '«p2»' \\
          --authenticationDatabase admin --gzip --archive="$ARCHIVE"
        """, o=org(), p1=S("mongosh -p password", "__P__"), p2=S("mongorestore --password", "__P__")).replace("__P__", pw()),
        "mongosh-p")

    reg(F, "bash", "scripts/sync_media.sh", T("""
        #!/bin/bash
        # mirror uploaded media to the legacy FTP host and the CDN origin
        lftp -u media,«p1» sftp://ftp.«o».com -e "mirror -R --delete /srv/media /public/media; quit"

        ncftpput -u cdnsync -p «p2» origin.cdn.«o».com /media /srv/media/*.webp

        rclone sync /srv/media b2:«o»-media --transfers 8
        """, o=org(), p1=S("lftp -u user,password", pw_url()), p2=S("ncftpput -p password", pw("alnum"))), "lftp")

    reg(F, "powershell", "deploy/Deploy-App.ps1", T("""
        param(
            [string]$Server = "app01.corp.«o».com",
            [string]$Package = ".\\out\\«a».zip"
        )

        $ErrorActionPreference = "Stop"

        $user = "CORP\\svc_deploy"
        $secure = ConvertTo-SecureString "«p»" -AsPlainText -Force
        $cred = New-Object System.Management.Automation.PSCredential($user, $secure)

        $session = New-PSSession -ComputerName $Server -Credential $cred
        Copy-Item $Package -Destination "C:\\deploy\\" -ToSession $session
        Invoke-Command -Session $session -ScriptBlock {
            Stop-WebAppPool -Name "«a»"
            Expand-Archive -Path "C:\\deploy\\«a».zip" -DestinationPath "C:\\inetpub\\«a»" -Force
            Start-WebAppPool -Name "«a»"
        }
        Remove-PSSession $session
        """, o=org(), a=app(), p=S("ConvertTo-SecureString -AsPlainText", pw())), "pwsh-securestring")

    reg(F, "batch", "scripts/map_drives.bat", T("""
        @echo off
        REM map shared drives for the build agent
        net use Z: /delete /y >nul 2>&1
        net use Z: \\\\fs01\\builds /user:CORP\\svc_build «p» /persistent:no
        if errorlevel 1 (
            echo failed to map Z:
            exit /b 1
        )
        net use Y: \\\\fs02\\tools /persistent:no
        xcopy /E /I /Y Z:\\latest C:\\agent\\drop
        echo done
        """, p=S("net use /user: password", pw("alnum"))), "net-use")

    reg(F, "jenkinsfile", "Jenkinsfile", T("""
        pipeline {
            agent { label 'linux' }
            environment {
                REGISTRY = 'registry.«o».io'
            }
            stages {
                stage('Build') {
                    steps {
                        sh './gradlew clean build'
                    }
                }
                stage('Publish') {
                    steps {
                        withCredentials([usernamePassword(credentialsId: 'registry', usernameVariable: 'U', passwordVariable: 'P')]) {
                            sh 'echo "$P" | docker login $REGISTRY -u "$U" --password-stdin'
                        }
                        sh 'docker push $REGISTRY/«a»:${BUILD_NUMBER}'
                    }
                }
                stage('Smoke') {
                    steps {
                        sh "curl -fsS -u deployer:«p» https://staging.«o».io/api/health"
                    }
                }
            }
        }
        """, o=org(), a=app(), p=S("curl -u password in Jenkinsfile", pw_url())), "jenkins-curl")

    reg(F, "dockerfile", "docker/worker/Dockerfile", T("""
        FROM python:3.12-slim AS build
        WORKDIR /src
        COPY requirements.txt .
        RUN pip wheel --wheel-dir /wheels -r requirements.txt

        FROM python:3.12-slim
        WORKDIR /app
        RUN curl -fsSL -u "svc-build:«p»" -o /tmp/models.tgz \\
              https://nexus.«o».internal/repository/raw/models/v3.tgz \\
            && tar -xzf /tmp/models.tgz -C /app && rm /tmp/models.tgz
        COPY --from=build /wheels /wheels
        RUN pip install --no-cache-dir /wheels/*
        COPY . .
        USER 1000
        CMD ["python", "-m", "worker"]
        """, p=S("curl -u password in Dockerfile RUN", pw_url()), o=org()), "dockerfile-curl")

    reg(F, "shell-history", "home/ops/.bash_history", T("""
        cd /srv/«a»
        git pull
        sudo systemctl restart «a»
        journalctl -u «a» -n 200 --no-pager
        mysql -h 127.0.0.1 -uroot -p«p1» -e 'show processlist'
        export PGPASSWORD='«p2»'
        psql -h pg-01 -U «a» «a» -c 'select count(*) from jobs'
        redis-cli -h cache-01 -a «p3» info memory
        df -h
        exit
        """, a=app(), p1=S("mysql -p<password> in shell history", pw("alnum")), p2=S("export PGPASSWORD", pw()),
        p3=S("redis-cli -a password", pw("alnum"))), "bash-history")

    # ---- negatives
    reg(F, "bash", "scripts/backup_env.sh", T("""
        #!/bin/bash
        set -euo pipefail
        : "${DB_PASSWORD:?DB_PASSWORD must be set}"
        : "${PGPASSWORD:?}"

        mysqldump -h "$DB_HOST" -u "$DB_USER" -p"$DB_PASSWORD" --single-transaction shop > shop.sql
        pg_dump -h "$PG_HOST" -U backup -Fc crm -f crm.dump
        curl -fsS -u "$ARTIFACT_USER:$ARTIFACT_TOKEN" -T shop.sql "https://artifacts.example.com/backups/"
        sshpass -e ssh backup@"$TARGET" 'ls /backups'
        smbclient "$SHARE" -U "$SMB_USER%$SMB_PASS" -c 'ls'
        """), "env-vars-cli")

    reg(F, "bash", "ci/docker-login.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        # the token file is mounted by the runner from the secret store
        TOKEN_FILE=/run/secrets/registry_token

        docker login registry.example.com -u ci-robot --password-stdin < "$TOKEN_FILE"
        aws ecr get-login-password --region eu-west-1 \\
          | docker login --username AWS --password-stdin "$ECR_REGISTRY"
        gcloud auth print-access-token \\
          | docker login -u oauth2accesstoken --password-stdin https://europe-docker.pkg.dev
        sshpass -f ~/.config/deploy.pass scp build.tgz deploy@web1:/tmp/
        """), "password-stdin")

    reg(F, "powershell", "deploy/Connect-Prod.ps1", T("""
        param([string]$Server = "app01.corp.example.com")

        # prompt interactively; never store the password in the script
        $cred = Get-Credential -UserName "CORP\\svc_deploy" -Message "Deploy account"
        $pfxPassword = Read-Host -Prompt "PFX password" -AsSecureString
        $fromVault = (Get-Secret -Name DeployPassword -Vault CorpVault)

        $session = New-PSSession -ComputerName $Server -Credential $cred
        Import-PfxCertificate -FilePath .\\signing.pfx -CertStoreLocation Cert:\\CurrentUser\\My -Password $pfxPassword
        net use Z: \\\\fs01\\builds /user:CORP\\svc_build *
        $plain = ConvertTo-SecureString $env:DEPLOY_PASSWORD -AsPlainText -Force
        Remove-PSSession $session
        """), "pwsh-prompt")

    reg(F, "markdown", "docs/runbooks/database-access.md", T("""
        # Database access runbook

        Connect interactively; every client below prompts for the password:

        ```bash
        mysql -h mysql-01 -u readonly -p
        psql -h pg-01 -U readonly -W analytics
        mongosh "mongodb://mongo-0:27017" --username readonly --authenticationDatabase admin
        redis-cli -h cache-01 --askpass
        ```

        Generic syntax reminders:

        ```bash
        curl -u USERNAME:PASSWORD https://host/api
        smbclient //server/share -U username%password
        sshpass -p <password> ssh user@host     # don't: use keys
        docker login -u <user> -p <password>    # don't: use --password-stdin
        ```
        """), "runbook-prompts")

    reg(F, "python", "tools/run_remote.py", T('''
        import os
        import shlex
        import subprocess


        def dump(db: str) -> None:
            env = dict(os.environ, PGPASSWORD=os.environ["BACKUP_DB_PASSWORD"])
            cmd = ["pg_dump", "-h", os.environ["PG_HOST"], "-U", "backup", "-Fc", db, "-f", f"{db}.dump"]
            subprocess.run(cmd, env=env, check=True)


        def mysql_cmd(user: str, password: str, query: str) -> list[str]:
            return ["mysql", "-u", user, f"-p{password}", "-e", query]


        if __name__ == "__main__":
            dump("crm")
            print(shlex.join(mysql_cmd("report", "<redacted>", "select 1")))
        '''), "py-subprocess")

    reg(F, "bash", "tests/e2e/run.sh", T("""
        #!/bin/bash
        # local e2e run against the docker-compose stack (throwaway containers)
        docker compose -f tests/e2e/compose.yml up -d
        trap 'docker compose -f tests/e2e/compose.yml down -v' EXIT

        until mysqladmin ping -h 127.0.0.1 -uroot -proot --silent; do sleep 1; done
        PGPASSWORD=postgres psql -h localhost -U postgres -c 'create database e2e'
        curl -fsS -u test:test http://localhost:8080/api/health
        mongosh --quiet -u root -p example --eval 'db.runCommand({ping:1})'
        npm run test:e2e
        """), "e2e-defaults")


# =================================================================== connection-strings
def fam_connstr():
    F = "connection-strings"
    a, o = app(), org()
    reg(F, "rails-database-yml", "config/database.yml", T("""
        default: &default
          adapter: postgresql
          encoding: unicode
          pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>

        development:
          <<: *default
          database: «a»_development

        test:
          <<: *default
          database: «a»_test

        production:
          <<: *default
          url: postgres://«a»:«p»@db.«o».internal:5432/«a»_production
          prepared_statements: false
        """, a=a, o=o, p=S("password in postgres URL", pw_url())), "rails-url")

    reg(F, "properties", "src/main/resources/application-prod.properties", T("""
        spring.application.name=«a»
        server.port=8080
        management.endpoints.web.exposure.include=health,info,prometheus

        spring.datasource.url=jdbc:postgresql://pg-prod.«o».internal:5432/«a»?user=«a»_app&password=«p1»&sslmode=require
        spring.datasource.hikari.maximum-pool-size=20

        reporting.datasource.url=jdbc:sqlserver://sql01.«o».local:1433;databaseName=Reporting;user=report_reader;password=«p2»;encrypt=true;trustServerCertificate=true
        reporting.datasource.driver-class-name=com.microsoft.sqlserver.jdbc.SQLServerDriver

        spring.jpa.hibernate.ddl-auto=validate
        spring.jpa.open-in-view=false
        logging.level.org.hibernate.SQL=warn
        """, a=a, o=o, p1=S("password in JDBC URL query", pw_url()), p2=S("password in SQL Server JDBC URL", pw("alnum"))),
        "jdbc-props")

    reg(F, "appsettings-json", "src/Orders.Api/appsettings.json", T("""
        {
          "ConnectionStrings": {
            "OrdersDb": "Server=tcp:sql-«o»-prod.database.windows.net,1433;Initial Catalog=orders;Persist Security Info=False;User ID=orders_app;Password=«p»;MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;",
            "Cache": "localhost:6379"
          },
          "Serilog": {
            "MinimumLevel": "Information",
            "WriteTo": [ { "Name": "Console" } ]
          },
          "AllowedHosts": "*"
        }
        """, o=o, p=S("ADO.NET Password=", pw())), "adonet-appsettings")

    reg(F, "web-config", "Intranet/Web.config", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <connectionStrings>
            <add name="IntranetEntities"
                 connectionString="metadata=res://*/Model.csdl|res://*/Model.ssdl|res://*/Model.msl;provider=System.Data.SqlClient;provider connection string=&quot;data source=SQLPROD02;initial catalog=Intranet;user id=intranet_web;password=«p»;MultipleActiveResultSets=True;App=EntityFramework&quot;"
                 providerName="System.Data.EntityClient" />
            <add name="Logging" connectionString="Data Source=SQLPROD02;Initial Catalog=Logs;Integrated Security=True" providerName="System.Data.SqlClient" />
          </connectionStrings>
          <system.web>
            <authentication mode="Windows" />
            <compilation targetFramework="4.7.2" />
          </system.web>
        </configuration>
        """, p=S("EF provider connection string password", pw("alnum"))), "ef-webconfig")

    reg(F, "go", "internal/store/mysql.go", T("""
        package store

        import (
        	"database/sql"
        	"time"

        	_ "github.com/go-sql-driver/mysql"
        )

        func Open() (*sql.DB, error) {
        	db, err := sql.Open("mysql", "«a»:«p»@tcp(mysql-primary.«o».svc:3306)/«a»?parseTime=true&charset=utf8mb4")
        	if err != nil {
        		return nil, err
        	}
        	db.SetMaxOpenConns(25)
        	db.SetMaxIdleConns(5)
        	db.SetConnMaxLifetime(5 * time.Minute)
        	return db, db.Ping()
        }
        """, a=a, o=o, p=S("Go MySQL DSN password", pw_url())), "go-mysql-dsn")

    reg(F, "go", "cmd/worker/db.go", T("""
        package main

        import (
        	"context"
        	"log"

        	"github.com/jackc/pgx/v5/pgxpool"
        )

        const dsn = "host=pg-01.«o».internal port=5432 user=worker password=«p» dbname=jobs sslmode=verify-full pool_max_conns=10"

        func mustPool(ctx context.Context) *pgxpool.Pool {
        	pool, err := pgxpool.New(ctx, dsn)
        	if err != nil {
        		log.Fatalf("connect: %v", err)
        	}
        	return pool
        }
        """, o=o, p=S("libpq keyword DSN password", pw("alnum"))), "go-pgx-dsn")

    reg(F, "alembic-ini", "alembic.ini", T("""
        # A generic, single database configuration.

        [alembic]
        script_location = migrations
        prepend_sys_path = .
        version_path_separator = os
        sqlalchemy.url = postgresql+psycopg2://«a»:«p»@pg-prod.«o».internal:5432/«a»

        [post_write_hooks]
        hooks = black
        black.type = console_scripts
        black.entrypoint = black

        [loggers]
        keys = root,sqlalchemy,alembic

        [handlers]
        keys = console

        [formatters]
        keys = generic

        [logger_root]
        level = WARN
        handlers = console
        qualname =

        [logger_sqlalchemy]
        level = WARN
        handlers =
        qualname = sqlalchemy.engine
        """, a=a, o=o, p=S("SQLAlchemy URL password", pw_url())), "alembic-url")

    reg(F, "javascript", "knexfile.js", T("""
        // Update with your config settings.
        module.exports = {
          development: {
            client: 'sqlite3',
            connection: { filename: './dev.sqlite3' },
            useNullAsDefault: true,
          },

          staging: {
            client: 'pg',
            connection: 'postgres://«a»:«p1»@pg-staging.«o».internal:5432/«a»',
            pool: { min: 2, max: 10 },
            migrations: { tableName: 'knex_migrations' },
          },

          production: {
            client: 'pg',
            connection: {
              host: 'pg-prod.«o».internal',
              database: '«a»',
              user: '«a»',
              password: '«p2»',
            },
            pool: { min: 2, max: 20 },
            migrations: { tableName: 'knex_migrations' },
          },
        };
        """, a=a, o=o, p1=S("postgres URL password", pw_url()), p2=S("knex connection password", pw())), "knexfile")

    reg(F, "python", "proj/celery_settings.py", T("""
        from kombu import Queue

        CELERY_BROKER_URL = "amqp://«a»:«p1»@rabbitmq.«o».internal:5672/«a»"
        CELERY_RESULT_BACKEND = "redis://:«p2»@redis.«o».internal:6379/1"
        CELERY_TASK_DEFAULT_QUEUE = "default"
        CELERY_TASK_QUEUES = (
            Queue("default"),
            Queue("reports", routing_key="reports.#"),
        )
        CELERY_TASK_ACKS_LATE = True
        CELERY_WORKER_PREFETCH_MULTIPLIER = 1
        CELERY_TIMEZONE = "UTC"
        """, a=a, o=o, p1=S("AMQP URL password", pw_url()), p2=S("Redis URL password (empty user)", pw("alnum"))),
        "celery-urls")

    reg(F, "elixir", "config/prod.exs", T("""
        import Config

        config :«a», «A».Repo,
          url: "ecto://«a»:«p»@db.«o».internal/«a»_prod",
          pool_size: 15,
          ssl: true

        config :«a», «A»Web.Endpoint,
          url: [host: "«a».«o».com", port: 443, scheme: "https"],
          cache_static_manifest: "priv/static/cache_manifest.json"

        config :logger, level: :info
        """, a=a, A=a.capitalize(), o=o, p=S("Ecto URL password", pw_url())), "ecto-url")

    reg(F, "hocon", "conf/application.conf", T("""
        # https://www.playframework.com/documentation/latest/Configuration
        play.http.context = "/"
        play.i18n.langs = ["en", "de"]

        slick.dbs.default {
          profile = "slick.jdbc.PostgresProfile$"
          db {
            driver = "org.postgresql.Driver"
            url = "jdbc:postgresql://pg.«o».internal:5432/«a»?user=«a»&password=«p»"
            url = ${?DATABASE_URL}
            numThreads = 10
            maxConnections = 10
          }
        }

        akka.http.server.idle-timeout = 60 s
        """, o=o, a=a, p=S("JDBC URL password in HOCON", pw_url())), "hocon-jdbc")

    reg(F, "dotenv", ".env", T("""
        NODE_ENV=production
        PORT=8080
        MONGODB_URI=mongodb+srv://«a»-api:«p»@cluster0.«c».mongodb.net/«a»?retryWrites=true&w=majority&appName=Cluster0
        REDIS_URL=redis://localhost:6379
        SESSION_TTL=86400
        CORS_ORIGIN=https://«a».«o».com
        """, a=a, o=o, c=rs(5, LOWER + DIGITS), p=S("MongoDB Atlas SRV URL password", pw("alnum"))), "mongo-srv")

    reg(F, "python", "reports/export_sqlserver.py", T('''
        import csv
        import sys

        import pyodbc

        CONN = (
            "DRIVER={ODBC Driver 18 for SQL Server};"
            "SERVER=sql02.corp.«o».com,1433;"
            "DATABASE=Finance;"
            "UID=report_export;"
            "PWD=«p»;"
            "Encrypt=yes;TrustServerCertificate=yes"
        )


        def main(query_file):
            with pyodbc.connect(CONN) as cn, open(query_file) as q:
                cur = cn.cursor()
                cur.execute(q.read())
                w = csv.writer(sys.stdout)
                w.writerow([c[0] for c in cur.description])
                w.writerows(cur.fetchall())


        if __name__ == "__main__":
            main(sys.argv[1])
        ''', o=o, p=S("ODBC PWD=", pw("alnum"))), "odbc-pwd")

    reg(F, "docker-compose", "docker-compose.prod.yml", T("""
        version: "3.8"
        services:
          web:
            image: «o»/«a»-web:2.3.1
            environment:
              DATABASE_URL: mysql://«a»:«p1»@mysql.«o».internal:3306/«a»
              AMQP_URL: amqps://«a»:«p2»@b-«b».mq.eu-west-1.amazonaws.com:5671
              SMTP_URL: smtp://apikey:«p3»@smtp.sendgrid.net:587
            ports:
              - "80:8000"
            deploy:
              replicas: 2
        """, o=o, a=a, p1=S("MySQL URL password", pw_url()), p2=S("AMQPS URL password", pw_url()), b=uid(),
        p3=S("SMTP URL password (SendGrid key)", sendgrid_key())), "compose-urls")

    reg(F, "requirements-txt", "requirements.txt", T("""
        --index-url https://pypi.org/simple
        --extra-index-url https://ci-reader:«p»@nexus.«o».internal/repository/pypi-internal/simple
        django==5.0.4
        djangorestframework==3.15.1
        psycopg[binary]==3.1.18
        celery[redis]==5.3.6
        «o»-common==2.7.0
        gunicorn==22.0.0
        sentry-sdk==1.45.0
        """, o=o, p=S("password in pip index URL", pw_url())), "pip-index")

    reg(F, "java", "src/main/java/com/«o»/legacy/FtpExporter.java".replace("«o»", o), T("""
        package com.«o».legacy;

        import java.io.InputStream;
        import java.net.URL;
        import java.net.URLConnection;
        import java.nio.file.Files;
        import java.nio.file.Path;

        public final class FtpExporter {
            private static final String EXPORT_URL =
                "ftp://exports:«p»@ftp.partner-«o».com/outbound/daily.csv;type=i";

            public static void main(String[] args) throws Exception {
                URLConnection conn = new URL(EXPORT_URL).openConnection();
                try (InputStream in = conn.getInputStream()) {
                    Files.copy(in, Path.of("daily.csv"));
                }
            }
        }
        """, o=o, p=S("FTP URL password", pw_url())), "ftp-java")

    # ---- negatives
    reg(F, "docker-compose", "docker-compose.yml", T("""
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: postgres
              POSTGRES_PASSWORD: postgres
              POSTGRES_DB: «a»_dev
            ports:
              - "5432:5432"
          app:
            build: .
            environment:
              DATABASE_URL: postgres://postgres:postgres@db:5432/«a»_dev
              REDIS_URL: redis://redis:6379/0
              AMQP_URL: amqp://guest:guest@rabbitmq:5672/
            depends_on: [db, redis, rabbitmq]
          redis:
            image: redis:7
          rabbitmq:
            image: rabbitmq:3-management
        """, a=a), "compose-local")

    reg(F, "spring-yaml", "src/main/resources/application.yml", T("""
        spring:
          datasource:
            url: jdbc:postgresql://${DB_HOST:localhost}:${DB_PORT:5432}/${DB_NAME:«a»}
            username: ${DB_USER:«a»}
            password: ${DB_PASSWORD}
          data:
            redis:
              url: redis://:${REDIS_PASSWORD}@${REDIS_HOST:localhost}:6379
          rabbitmq:
            addresses: amqp://${RABBIT_USER}:${RABBIT_PASSWORD}@${RABBIT_HOST}:5672
        ---
        spring:
          config:
            activate:
              on-profile: test
          datasource:
            url: jdbc:h2:mem:testdb;MODE=PostgreSQL;DB_CLOSE_DELAY=-1
            username: sa
            password:
        """, a=a), "spring-placeholders")

    reg(F, "markdown", "docs/configuration.md", T("""
        # Configuration

        `DATABASE_URL` follows the libpq URI format:

            postgresql://[user[:password]@][netloc][:port][/dbname][?param1=value1&...]

        Examples:

        | Backend | Example |
        |---|---|
        | PostgreSQL | `postgresql://<username>:<password>@<host>:5432/<db>` |
        | MySQL | `mysql://USER:PASSWORD@HOST:3306/DB` |
        | MongoDB | `mongodb+srv://<user>:<password>@cluster0.example.mongodb.net/` |
        | SQL Server | `Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;` |
        | Redis | `redis://:password@localhost:6379/0` |

        In production the URL is injected from the secret store.
        """), "connstr-doc")

    reg(F, "appsettings-json", "src/Api/appsettings.Development.json", T("""
        {
          "ConnectionStrings": {
            "Default": "Server=(localdb)\\\\mssqllocaldb;Database=«a»_dev;Trusted_Connection=True;MultipleActiveResultSets=true",
            "Reporting": "Server=sql01;Database=Reporting;Integrated Security=SSPI;TrustServerCertificate=True",
            "Redis": "localhost:6379,abortConnect=false",
            "Orders": "@Microsoft.KeyVault(SecretUri=https://kv-«a»-prod.vault.azure.net/secrets/orders-db/)"
          },
          "Logging": {
            "LogLevel": { "Default": "Debug" }
          }
        }
        """, a=a), "integrated-security")

    reg(F, "go", "internal/config/db.go", T("""
        package config

        import (
        	"fmt"
        	"net/url"
        	"os"
        )

        // DSN builds the connection string from the environment.
        func DSN() string {
        	u := &url.URL{
        		Scheme:   "postgres",
        		User:     url.UserPassword(os.Getenv("DB_USER"), os.Getenv("DB_PASSWORD")),
        		Host:     fmt.Sprintf("%s:%s", os.Getenv("DB_HOST"), os.Getenv("DB_PORT")),
        		Path:     os.Getenv("DB_NAME"),
        		RawQuery: "sslmode=require",
        	}
        	return u.String()
        }

        const mysqlFormat = "%s:%s@tcp(%s)/%s?parseTime=true"
        """), "go-dsn-env")

    reg(F, "elixir", "config/runtime.exs", T("""
        import Config

        if config_env() == :prod do
          database_url =
            System.get_env("DATABASE_URL") ||
              raise \"\"\"
              environment variable DATABASE_URL is missing.
              For example: ecto://USER:PASS@HOST/DATABASE
              \"\"\"

          config :«a», «A».Repo,
            url: database_url,
            pool_size: String.to_integer(System.get_env("POOL_SIZE") || "10")

          secret_key_base = System.fetch_env!("SECRET_KEY_BASE")
          config :«a», «A»Web.Endpoint, secret_key_base: secret_key_base
        end
        """, a=a, A=a.capitalize()), "runtime-exs")


# =================================================================== http-auth
def fam_http():
    F = "http-auth"
    o, a = org(), app()
    tok = jwt({"sub": digits(8), "name": "svc-" + a, "scope": "orders:read orders:write", "iat": 1714000000,
               "exp": 1893456000, "iss": "https://auth." + o + ".com"}, "RS256")
    reg(F, "http", "api/orders.http", T("""
        @host = https://api.«o».com
        @token = «t»

        ### list orders
        GET {{host}}/v1/orders?status=open&limit=50
        Authorization: Bearer {{token}}
        Accept: application/json

        ### create order
        POST {{host}}/v1/orders
        Authorization: Bearer {{token}}
        Content-Type: application/json

        {
          "customerId": "c_1029",
          "items": [{ "sku": "SKU-1", "qty": 2 }]
        }
        """, o=o, t=S("long-lived JWT bearer token in REST Client variable", tok)), "http-jwt")

    basic = base64.b64encode(("integration:" + pw()).encode()).decode()
    reg(F, "http", "http/partner-api.http", T("""
        ### Partner sandbox -- ping
        GET https://partner.«o».net/api/ping
        Authorization: Basic «b»

        ### submit shipment
        POST https://partner.«o».net/api/shipments
        Authorization: Basic «b2»
        Content-Type: application/xml

        <shipment>
          <ref>SO-44120</ref>
          <carrier>DHL</carrier>
        </shipment>
        """, o=o, b=S("HTTP Basic credentials", basic), b2=S("HTTP Basic credentials (repeat)", basic)), "http-basic")

    reg(F, "postman-collection", "postman/«a».postman_collection.json".replace("«a»", a), T("""
        {
          "info": {
            "_postman_id": "«pid»",
            "name": "«a» API",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
          },
          "auth": {
            "type": "bearer",
            "bearer": [
              {
                "key": "token",
                "value": "«tok»",
                "type": "string"
              }
            ]
          },
          "item": [
            {
              "name": "List invoices",
              "request": {
                "method": "GET",
                "header": [],
                "url": {
                  "raw": "{{baseUrl}}/invoices?page=1",
                  "host": ["{{baseUrl}}"],
                  "path": ["invoices"],
                  "query": [{ "key": "page", "value": "1" }]
                }
              }
            },
            {
              "name": "Partner callback",
              "request": {
                "auth": {
                  "type": "basic",
                  "basic": [
                    { "key": "password", "value": "«bp»", "type": "string" },
                    { "key": "username", "value": "partner-cb", "type": "string" }
                  ]
                },
                "method": "POST",
                "url": "{{baseUrl}}/callbacks/partner"
              }
            }
          ],
          "variable": [
            { "key": "baseUrl", "value": "https://api.«o».com/v2" }
          ]
        }
        """, pid=uid(), a=a, tok=S("Postman bearer token", rs(40, URLSAFE)), bp=S("Postman basic auth password", pw()),
        o=o), "postman-bearer")

    reg(F, "postman-environment", "postman/prod.postman_environment.json", T("""
        {
          "id": "«id»",
          "name": "prod",
          "values": [
            { "key": "baseUrl", "value": "https://api.«o».com", "type": "default", "enabled": true },
            { "key": "apiKey", "value": "«k»", "type": "secret", "enabled": true },
            { "key": "tenant", "value": "«o»", "type": "default", "enabled": true },
            { "key": "accessToken", "value": "", "type": "secret", "enabled": true }
          ],
          "_postman_variable_scope": "environment",
          "_postman_exported_at": "2024-04-11T08:21:40.512Z",
          "_postman_exported_using": "Postman/10.24.16"
        }
        """, id=uid(), o=o, k=S("API key in Postman environment", hexs(40))), "postman-env")

    reg(F, "python", "integrations/weather.py", T('''
        import requests

        BASE_URL = "https://api.weather-partner.io/v3"
        HEADERS = {
            "X-API-Key": "«k»",
            "Accept": "application/json",
            "User-Agent": "«o»-«a»/1.0",
        }


        def forecast(lat: float, lon: float, days: int = 3) -> dict:
            r = requests.get(f"{BASE_URL}/forecast", headers=HEADERS,
                             params={"lat": lat, "lon": lon, "days": days}, timeout=10)
            r.raise_for_status()
            return r.json()


        def alerts(region: str) -> list:
            r = requests.get(f"{BASE_URL}/alerts/{region}", headers=HEADERS, timeout=10)
            r.raise_for_status()
            return r.json()["alerts"]
        ''', k=S("X-API-Key header value", rs(32)), o=o, a=a), "x-api-key-py")

    reg(F, "javascript", "src/services/azureOpenAI.js", T("""
        const ENDPOINT = "https://«o»-openai.openai.azure.com";
        const DEPLOYMENT = "gpt-4o";

        export async function complete(messages) {
          const res = await fetch(
            `${ENDPOINT}/openai/deployments/${DEPLOYMENT}/chat/completions?api-version=2024-02-01`,
            {
              method: "POST",
              headers: {
                "Content-Type": "application/json",
                "api-key": "«k»",
              },
              body: JSON.stringify({ messages, temperature: 0.2 }),
            }
          );
          if (!res.ok) throw new Error(`azure openai: ${res.status}`);
          return (await res.json()).choices[0].message.content;
        }
        """, o=o, k=S("Azure OpenAI api-key header", hexs(32))), "api-key-header-js")

    reg(F, "nginx-conf", "deploy/nginx/conf.d/upstream-search.conf", T("""
        upstream search_backend {
            server search-1.«o».internal:9200;
            server search-2.«o».internal:9200;
            keepalive 16;
        }

        server {
            listen 8080;
            server_name search-proxy.«o».internal;

            location / {
                proxy_pass http://search_backend;
                proxy_set_header Host $host;
                proxy_set_header Authorization "Basic «b»";
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                proxy_http_version 1.1;
                proxy_set_header Connection "";
            }
        }
        """, o=o, b=S("Basic credentials in nginx proxy header", base64.b64encode(("elastic:" + pw("alnum")).encode()).decode())),
        "nginx-basic")

    reg(F, "har", "tests/fixtures/checkout-session.har", T("""
        {
          "log": {
            "version": "1.2",
            "creator": { "name": "WebInspector", "version": "537.36" },
            "entries": [
              {
                "startedDateTime": "2024-03-18T10:02:11.204Z",
                "request": {
                  "method": "GET",
                  "url": "https://api.«o».com/v1/cart",
                  "httpVersion": "http/2.0",
                  "headers": [
                    { "name": "accept", "value": "application/json" },
                    {
                      "name": "authorization",
                      "value": "Bearer «t»"
                    },
                    { "name": "cookie", "value": "sid=«sid»; theme=dark" }
                  ],
                  "queryString": []
                },
                "response": { "status": 200, "statusText": "", "httpVersion": "http/2.0" },
                "time": 87.2
              }
            ]
          }
        }
        """, o=o, t=S("captured bearer token in HAR", jwt({"sub": uid(), "sid": rs(12), "exp": 1893456000}, "HS256")),
        sid=S("captured session cookie in HAR", rs(48, URLSAFE))), "har-bearer")

    reg(F, "javascript", "load/k6-checkout.js", T("""
        import http from "k6/http";
        import { check, sleep } from "k6";

        export const options = { vus: 20, duration: "2m" };

        const params = {
          headers: {
            Authorization: "Bearer «t»",
            "Content-Type": "application/json",
          },
        };

        export default function () {
          const res = http.get("https://staging-api.«o».com/v1/catalog?limit=20", params);
          check(res, { "status is 200": (r) => r.status === 200 });
          sleep(1);
        }
        """, t=S("opaque bearer token", rs(64, HEX)), o=o), "k6-bearer")

    reg(F, "vscode-settings-json", ".vscode/settings.json", T("""
        {
          "editor.formatOnSave": true,
          "rest-client.environmentVariables": {
            "$shared": {
              "version": "v2"
            },
            "staging": {
              "host": "https://staging.«o».com",
              "token": "«t1»"
            },
            "prod": {
              "host": "https://api.«o».com",
              "token": "«t2»"
            }
          },
          "files.exclude": { "**/node_modules": true }
        }
        """, o=o, t1=S("REST Client env token", rs(48, URLSAFE)), t2=S("REST Client env token", rs(48, URLSAFE))),
        "vscode-restclient")

    # ---- negatives
    reg(F, "http", "api/auth-flow.http", T("""
        @host = {{$dotenv API_HOST}}

        ### login
        # @name login
        POST {{host}}/auth/login
        Content-Type: application/json

        {
          "username": "{{$dotenv API_USER}}",
          "password": "{{$dotenv API_PASSWORD}}"
        }

        ### me
        GET {{host}}/auth/me
        Authorization: Bearer {{login.response.body.$.accessToken}}

        ### with processEnv
        GET {{host}}/admin/stats
        X-API-Key: {{$processEnv ADMIN_API_KEY}}
        """), "http-vars")

    reg(F, "postman-collection", "postman/public-api.postman_collection.json", T("""
        {
          "info": {
            "name": "Public API",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
          },
          "auth": {
            "type": "bearer",
            "bearer": [{ "key": "token", "value": "{{access_token}}", "type": "string" }]
          },
          "item": [
            {
              "name": "Get token",
              "event": [{ "listen": "test", "script": { "exec": [
                "pm.collectionVariables.set('access_token', pm.response.json().access_token);"
              ], "type": "text/javascript" } }],
              "request": { "method": "POST", "url": "{{baseUrl}}/oauth/token" }
            }
          ],
          "variable": [
            { "key": "baseUrl", "value": "https://api.example.com" },
            { "key": "access_token", "value": "" }
          ]
        }
        """), "postman-vars")

    reg(F, "openapi-yaml", "api/openapi.yaml", T("""
        openapi: 3.0.3
        info:
          title: Orders API
          version: 2.1.0
        servers:
          - url: https://api.example.com/v2
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
          parameters:
            Authorization:
              name: Authorization
              in: header
              required: true
              schema: { type: string }
              example: "Bearer <access-token>"
        security:
          - bearerAuth: []
        paths: {}
        """), "openapi-schemes")

    reg(F, "javascript", "src/api/client.js", T("""
        import axios from "axios";

        const basic = btoa(`${import.meta.env.VITE_API_USER}:${import.meta.env.VITE_API_PASS}`);

        export const api = axios.create({
          baseURL: import.meta.env.VITE_API_URL,
          headers: { Authorization: `Basic ${basic}` },
        });

        api.interceptors.request.use((cfg) => {
          const token = localStorage.getItem("access_token");
          if (token) cfg.headers.Authorization = `Bearer ${token}`;
          cfg.headers["X-API-Key"] = window.__APP_CONFIG__.publicKey;
          return cfg;
        });
        """), "axios-env")

    reg(F, "python", "tests/test_basic_auth.py", T('''
        import base64

        import pytest

        from app.auth import parse_basic


        # RFC 7617 example and obvious fakes
        @pytest.mark.parametrize("header,expected", [
            ("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ("Aladdin", "open sesame")),
            ("Basic dXNlcjpwYXNzd29yZA==", ("user", "password")),
            ("Basic dGVzdDp0ZXN0", ("test", "test")),
        ])
        def test_parse_basic(header, expected):
            assert parse_basic(header) == expected


        def test_rejects_bearer():
            with pytest.raises(ValueError):
                parse_basic("Bearer abc.def.ghi")
        '''), "basic-fixtures")


# =================================================================== webhooks-bots
def fam_webhooks():
    F = "webhooks-bots"
    o = org()
    reg(F, "alertmanager-yaml", "monitoring/alertmanager.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url: «u»

        route:
          receiver: slack-ops
          group_by: [alertname, cluster]
          group_wait: 30s
          repeat_interval: 4h
          routes:
            - matchers: [severity="critical"]
              receiver: pagerduty

        receivers:
          - name: slack-ops
            slack_configs:
              - channel: "#ops-alerts"
                send_resolved: true
                title: '{{ .CommonAnnotations.summary }}'
          - name: pagerduty
            pagerduty_configs:
              - routing_key_file: /etc/alertmanager/secrets/pd-routing-key
        """, u=S("Slack incoming webhook URL", slack_webhook())), "slack-alertmanager")

    reg(F, "python", "tools/notify.py", T('''
        import json
        import sys
        import urllib.request

        WEBHOOK = "«u»"


        def post(content: str) -> None:
            body = json.dumps({"content": content, "username": "build-bot"}).encode()
            req = urllib.request.Request(WEBHOOK, data=body, headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=10).read()


        if __name__ == "__main__":
            post(" ".join(sys.argv[1:]) or "build finished")
        ''', u=S("Discord webhook URL", discord_webhook(pick(["discord.com", "discordapp.com"])))), "discord-webhook")

    reg(F, "python", "bot/main.py", T('''
        import logging

        from telegram import Update
        from telegram.ext import Application, CommandHandler, ContextTypes

        logging.basicConfig(level=logging.INFO)

        BOT_TOKEN = "«t»"
        ADMIN_CHAT_ID = «chat»


        async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text("Hi! Send /status to get the build status.")


        async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text("all green")


        def main() -> None:
            app = Application.builder().token(BOT_TOKEN).build()
            app.add_handler(CommandHandler("start", start))
            app.add_handler(CommandHandler("status", status))
            app.run_polling()


        if __name__ == "__main__":
            main()
        ''', t=S("Telegram bot token", telegram_tok()), chat="-100" + digits(10)), "telegram-py")

    reg(F, "ini", "config/bot.ini", T("""
        [bot]
        token = «t»
        poll_interval = 2
        admins = 18841239, 29911734

        [storage]
        path = /var/lib/reminder-bot/state.db
        backup = true

        [messages]
        greeting = Hello! I'll remind you about your meetings.
        unknown = Sorry, I don't understand that command.
        """, t=S("Telegram bot token (service not named)", telegram_tok())), "bot-ini-unnamed")

    reg(F, "javascript", "src/index.js", T("""
        const { Client, GatewayIntentBits, Events } = require('discord.js');

        const client = new Client({
          intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
        });

        client.once(Events.ClientReady, (c) => {
          console.log(`Ready! Logged in as ${c.user.tag}`);
        });

        client.on(Events.MessageCreate, async (msg) => {
          if (msg.author.bot) return;
          if (msg.content === '!ping') await msg.reply('pong');
        });

        client.login('«t»');
        """, t=S("Discord bot token", discord_bot())), "discord-bot-js")

    reg(F, "powershell", "scripts/Send-DeployNotice.ps1", T("""
        param(
            [Parameter(Mandatory)] [string]$Version,
            [string]$Environment = "production"
        )

        $uri = "«u»"

        $card = @{
            "@type"    = "MessageCard"
            "@context" = "http://schema.org/extensions"
            summary    = "Deployed $Version"
            themeColor = "0076D7"
            sections   = @(@{ activityTitle = "Deployed **$Version** to $Environment" })
        } | ConvertTo-Json -Depth 5

        Invoke-RestMethod -Method Post -Uri $uri -Body $card -ContentType "application/json"
        """, u=S("Microsoft Teams incoming webhook URL", teams_webhook(o))), "teams-webhook")

    reg(F, "gitlab-ci", "ci/notify.gitlab-ci.yml", T("""
        notify:failure:
          stage: .post
          image: curlimages/curl:8.7.1
          when: on_failure
          variables:
            HOOK: «u»
          script:
            - >
              curl -sS -X POST -H 'Content-type: application/json'
              --data "{\\"text\\":\\"Pipeline $CI_PIPELINE_URL failed on $CI_COMMIT_REF_NAME\\"}"
              "$HOOK"
        """, u=S("Slack webhook URL (variable named HOOK)", slack_webhook())), "slack-hook-gitlab")

    reg(F, "appsettings-json", "src/Alerts/appsettings.json", T("""
        {
          "Alerts": {
            "Channel": "teams",
            "FlowUrl": "https://prod-«n».westeurope.logic.azure.com:443/workflows/«w»/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=«sig»",
            "MinimumSeverity": "Warning"
          },
          "Logging": {
            "LogLevel": { "Default": "Information" }
          }
        }
        """, n="%02d" % R.randint(1, 99), w=hexs(32), sig=S("Logic App / Power Automate trigger URL signature", rs(43, URLSAFE))),
        "logicapp-sig")

    reg(F, "dotenv", "bots/moderator/.env", T("""
        TOKEN=«t»
        PREFIX=!
        OWNER_ID=«oid»
        LOG_CHANNEL=«lc»
        DATABASE=./data/mod.sqlite
        """, t=S("Discord bot token (service not named)", discord_bot()), oid=digits(18), lc=digits(19)), "bot-env-unnamed")

    reg(F, "python", "slack_app/socket_mode.py", T('''
        from slack_bolt import App
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = App(token="«bot»")


        @app.command("/oncall")
        def oncall(ack, respond):
            ack()
            respond("Primary on-call this week: @jdoe")


        @app.event("app_mention")
        def mention(event, say):
            say(f"Hi <@{event['user']}>!")


        if __name__ == "__main__":
            SocketModeHandler(app, "«xapp»").start()
        ''', bot=S("Slack bot token", slack_bot()), xapp=S("Slack app-level token", slack_app())), "slack-socket")

    # ---- negatives
    reg(F, "markdown", "docs/alerts.md", T("""
        # Slack and Discord alerts

        Create an incoming webhook at https://api.slack.com/messaging/webhooks and store it
        in the `SLACK_WEBHOOK_URL` secret. It looks like:

            https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX

        For Discord use *Server Settings -> Integrations -> Webhooks*; the URL has the form
        `https://discord.com/api/webhooks/<id>/<token>`.

        Test locally:

        ```bash
        curl -X POST -H 'Content-type: application/json' \\
          --data '{"text":"hello"}' "$SLACK_WEBHOOK_URL"
        ```
        """), "webhook-doc")

    reg(F, "python", "bot/telegram_bot.py", T('''
        """Reminder bot.

        Get a token from @BotFather; it looks like 123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11
        and goes into the TELEGRAM_BOT_TOKEN environment variable.
        """
        import os

        from telegram.ext import Application, CommandHandler


        async def start(update, context):
            await update.message.reply_text("hi")


        def main():
            token = os.environ["TELEGRAM_BOT_TOKEN"]
            app = Application.builder().token(token).build()
            app.add_handler(CommandHandler("start", start))
            app.run_polling()


        if __name__ == "__main__":
            main()
        '''), "telegram-env")

    reg(F, "helm-values", "charts/notifier/values.yaml", T("""
        replicaCount: 1
        image:
          repository: ghcr.io/example/notifier
          tag: "0.9.3"

        notifications:
          teams:
            enabled: false
            webhookUrl: ""
          slack:
            enabled: true
            existingSecret: notifier-slack
            secretKey: webhook-url
          discord:
            enabled: false
            webhookUrl: ""   # set with --set-file or an existing secret

        resources:
          limits: { cpu: 100m, memory: 128Mi }
        """), "notifier-values")

    reg(F, "alertmanager-yaml", "deploy/alertmanager/config.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url_file: /etc/alertmanager/secrets/slack-webhook
        route:
          receiver: default
        receivers:
          - name: default
            slack_configs:
              - channel: "#alerts"
                send_resolved: true
            webhook_configs:
              - url: http://alert-relay.monitoring.svc:8080/discord
                http_config:
                  authorization:
                    credentials_file: /etc/alertmanager/secrets/relay-token
        """), "alertmanager-files")

    reg(F, "javascript", "scripts/notify-discord.js", T("""
        #!/usr/bin/env node
        const url = process.env.DISCORD_WEBHOOK_URL;
        if (!url) {
          console.error("DISCORD_WEBHOOK_URL is not set");
          process.exit(1);
        }

        const [, , ...words] = process.argv;
        fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ content: words.join(" ") || "deploy finished" }),
        }).then((r) => {
          if (!r.ok) throw new Error(`discord returned ${r.status}`);
        });
        """), "discord-env")


# =================================================================== generic
def fam_generic():
    F = "generic"
    o, a = org(), app()
    reg(F, "python", a + "/settings.py", T("""
        from pathlib import Path

        BASE_DIR = Path(__file__).resolve().parent.parent

        SECRET_KEY = '«sk»'

        DEBUG = False
        ALLOWED_HOSTS = ['«a».«o».com']

        INSTALLED_APPS = [
            'django.contrib.admin',
            'django.contrib.auth',
            'django.contrib.contenttypes',
            'django.contrib.sessions',
            'django.contrib.messages',
            'django.contrib.staticfiles',
            '«a»',
        ]

        DATABASES = {
            'default': {
                'ENGINE': 'django.db.backends.postgresql',
                'NAME': '«a»',
                'USER': '«a»',
                'PASSWORD': '«p»',
                'HOST': 'db.«o».internal',
                'PORT': '5432',
            }
        }

        EMAIL_HOST = 'smtp.«o».com'
        EMAIL_HOST_USER = 'noreply@«o».com'
        EMAIL_HOST_PASSWORD = '«ep»'
        """, sk=S("Django SECRET_KEY", django_key()), a=a, o=o, p=S("Django DB password", pw()),
        ep=S("SMTP password", pw("human"))), "django-settings")

    reg(F, "dotenv", "laravel/.env", T("""
        APP_NAME=«A»
        APP_ENV=production
        APP_KEY=«k»
        APP_DEBUG=false
        APP_URL=https://«a».«o».com

        LOG_CHANNEL=stack

        DB_CONNECTION=mysql
        DB_HOST=127.0.0.1
        DB_PORT=3306
        DB_DATABASE=«a»
        DB_USERNAME=«a»
        DB_PASSWORD=«p»

        MAIL_MAILER=smtp
        MAIL_HOST=smtp.mailgun.org
        MAIL_PORT=587
        MAIL_USERNAME=postmaster@mg.«o».com
        MAIL_PASSWORD=«mp»
        MAIL_ENCRYPTION=tls

        PUSHER_APP_ID=«pid»
        PUSHER_APP_KEY=«pk»
        PUSHER_APP_SECRET=«ps»
        PUSHER_APP_CLUSTER=eu
        """, A=a.capitalize(), a=a, o=o, k=S("Laravel APP_KEY", "base64:" + b64(32)), p=S("DB_PASSWORD", pw()),
        mp=S("MAIL_PASSWORD", pw("alnum")), pid=digits(7), pk=hexs(20), ps=S("Pusher app secret", hexs(20))),
        "laravel-env")

    reg(F, "yaml", "config/secrets.yml", T("""
        # Be sure to restart your server when you modify this file.

        development:
          secret_key_base: <%= ENV.fetch("SECRET_KEY_BASE_DEV", "dev") %>

        test:
          secret_key_base: <%= ENV.fetch("SECRET_KEY_BASE_TEST", "test") %>

        production:
          secret_key_base: «k»
          devise_pepper: «pep»
        """, k=S("Rails production secret_key_base", hexs(128)), pep=S("Devise pepper", hexs(128))), "rails-secrets")

    reg(F, "spring-yaml", "src/main/resources/application.yml", T("""
        server:
          port: 8080
        spring:
          datasource:
            url: jdbc:mysql://mysql.«o».internal:3306/«a»
            username: «a»
            password: «p»
          mail:
            host: smtp.office365.com
            port: 587
            username: alerts@«o».com
            password: ${MAIL_PASSWORD}
        jwt:
          secret: «js»
          expiration-ms: 86400000
        encryption:
          aes-key: «ak»
        """, o=o, a=a, p=S("Spring datasource password", pw()), js=S("JWT HMAC signing secret", b64(48)),
        ak=S("AES key (base64)", b64(32))), "spring-app-yml")

    b = lambda s: base64.b64encode(s.encode()).decode()
    reg(F, "k8s-yaml", "k8s/overlays/prod/secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: «a»-env
          namespace: «a»
          labels:
            app.kubernetes.io/name: «a»
        type: Opaque
        data:
          DB_USER: «u»
          DB_PASSWORD: «p»
          STRIPE_SECRET_KEY: «s»
          SESSION_SECRET: «ss»
          LOG_LEVEL: «ll»
        """, a=a, u=b(a), p=S("base64 DB password in Secret data", b(pw())), s=S("base64 Stripe key in Secret data", b(stripe_sk())),
        ss=S("base64 session secret in Secret data", b(rs(48))), ll=b("info")), "k8s-secret-data")

    reg(F, "jupyter", "notebooks/churn-analysis.ipynb", T("""
        {
         "cells": [
          {
           "cell_type": "code",
           "execution_count": 1,
           "metadata": {},
           "outputs": [],
           "source": [
            "import pandas as pd\\n",
            "import sqlalchemy as sa\\n",
            "\\n",
            "user = \\"analyst\\"\\n",
            "password = \\"«p»\\"\\n",
            "engine = sa.create_engine(f\\"postgresql://{user}:{password}@warehouse.«o».internal/analytics\\")"
           ]
          },
          {
           "cell_type": "code",
           "execution_count": 2,
           "metadata": {},
           "outputs": [
            {"data": {"text/plain": ["(48213, 17)"]}, "execution_count": 2, "metadata": {}, "output_type": "execute_result"}
           ],
           "source": ["df = pd.read_sql(\\"select * from churn_features\\", engine)\\n", "df.shape"]
          }
         ],
         "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}, "language_info": {"name": "python", "version": "3.11.6"}},
         "nbformat": 4,
         "nbformat_minor": 5
        }
        """, p=S("password in notebook cell", pw()), o=o), "ipynb-password")

    salts = {k: S("WordPress " + k, wp_salt().replace("'", "")) for k in
             ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT", "SECURE_AUTH_SALT",
              "LOGGED_IN_SALT", "NONCE_SALT"]}
    reg(F, "php", "wp-config.php", T("""
        <?php
        /**
         * The base configuration for WordPress
         *
         * @package WordPress
         */

        // ** Database settings - You can get this info from your web host ** //
        define( 'DB_NAME', '«o»_wp' );
        define( 'DB_USER', '«o»_wp' );
        define( 'DB_PASSWORD', '«p»' );
        define( 'DB_HOST', 'localhost' );
        define( 'DB_CHARSET', 'utf8mb4' );
        define( 'DB_COLLATE', '' );

        define( 'AUTH_KEY',         '«AUTH_KEY»' );
        define( 'SECURE_AUTH_KEY',  '«SECURE_AUTH_KEY»' );
        define( 'LOGGED_IN_KEY',    '«LOGGED_IN_KEY»' );
        define( 'NONCE_KEY',        '«NONCE_KEY»' );
        define( 'AUTH_SALT',        '«AUTH_SALT»' );
        define( 'SECURE_AUTH_SALT', '«SECURE_AUTH_SALT»' );
        define( 'LOGGED_IN_SALT',   '«LOGGED_IN_SALT»' );
        define( 'NONCE_SALT',       '«NONCE_SALT»' );

        $table_prefix = 'wp_';

        define( 'WP_DEBUG', false );

        if ( ! defined( 'ABSPATH' ) ) {
        	define( 'ABSPATH', __DIR__ . '/' );
        }

        require_once ABSPATH . 'wp-settings.php';
        """, o=o, p=S("WordPress DB_PASSWORD", pw()), **salts), "wp-config")

    reg(F, "helm-values", "deploy/helm/«a»/values-prod.yaml".replace("«a»", a), T("""
        replicaCount: 3

        image:
          repository: ghcr.io/«o»/«a»
          tag: "4.2.0"

        ingress:
          enabled: true
          hosts:
            - host: «a».«o».com
              paths: [{ path: /, pathType: Prefix }]

        postgresql:
          enabled: true
          auth:
            username: «a»
            password: «p1»
            postgresPassword: «p2»
            database: «a»

        redis:
          architecture: standalone
          auth:
            enabled: true
            password: "«p3»"

        resources:
          requests: { cpu: 250m, memory: 512Mi }
        """, o=o, a=a, p1=S("Helm postgresql.auth.password", pw("alnum")), p2=S("Helm postgresPassword", pw("alnum")),
        p3=S("Helm redis.auth.password", pw())), "helm-values-pw")

    reg(F, "ansible-inventory", "inventories/production/hosts.ini", T("""
        [web]
        web01.«o».lan ansible_host=«i1»
        web02.«o».lan ansible_host=«i2»

        [db]
        db01.«o».lan ansible_host=«i3» ansible_ssh_pass=«p1»

        [legacy]
        erp01.«o».lan ansible_host=«i4» ansible_user=Administrator ansible_password=«p2» ansible_connection=winrm

        [all:vars]
        ansible_user=deploy
        ansible_become=true
        ansible_become_pass=«p3»
        ansible_python_interpreter=/usr/bin/python3
        """, o=o, i1=ip(), i2=ip(), i3=ip(), i4=ip(), p1=S("ansible_ssh_pass", pw("alnum")), p2=S("ansible_password (winrm)", pw()),
        p3=S("ansible_become_pass", pw())), "ansible-ini")

    reg(F, "gradle-properties", "gradle.properties", T("""
        org.gradle.jvmargs=-Xmx4g -Dfile.encoding=UTF-8
        org.gradle.parallel=true
        org.gradle.caching=true
        android.useAndroidX=true
        kotlin.code.style=official

        GROUP=com.«o».sdk
        VERSION_NAME=3.8.1

        signing.keyId=«kid»
        signing.password=«sp»
        signing.secretKeyRingFile=/home/ci/.gnupg/secring.gpg

        ossrhUsername=«o»-release
        ossrhPassword=«op»
        """, o=o, kid=hexs(8).upper(), sp=S("GPG signing password", pw()), op=S("Sonatype OSSRH password", pw("alnum"))),
        "gradle-props")

    reg(F, "android-local-properties", "android/local.properties", T("""
        ## This file must *NOT* be checked into Version Control Systems,
        # as it contains information specific to your local configuration.
        #
        # Location of the SDK. This is only used by Gradle.
        sdk.dir=/Users/jdoe/Library/Android/sdk
        flutter.sdk=/Users/jdoe/dev/flutter
        flutter.buildMode=release
        flutter.versionName=2.4.0
        flutter.versionCode=84

        storeFile=/Users/jdoe/keys/upload-keystore.jks
        storePassword=«sp»
        keyAlias=upload
        keyPassword=«kp»
        """, sp=S("Android keystore storePassword", pw()), kp=S("Android keyPassword", pw())), "android-local")

    reg(F, "plist", "ios/«A»/Config/Secrets.plist".replace("«A»", a.capitalize()), T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
        	<key>APIBaseURL</key>
        	<string>https://api.«o».com</string>
        	<key>OAuthClientID</key>
        	<string>ios-«a»</string>
        	<key>OAuthClientSecret</key>
        	<string>«cs»</string>
        	<key>SentryDSN</key>
        	<string>https://«wk»@o«so».ingest.sentry.io/«sp»</string>
        	<key>Environment</key>
        	<string>production</string>
        </dict>
        </plist>
        """, o=o, a=a, cs=S("OAuth client secret in plist", rs(40, URLSAFE)), wk=hexs(32), so=digits(6), sp=digits(7)),
        "plist-secret")

    reg(F, "pom-xml", "pom.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>com.«o»</groupId>
          <artifactId>«a»-db</artifactId>
          <version>1.7.0</version>

          <properties>
            <java.version>17</java.version>
            <db.url>jdbc:postgresql://pg-prod.«o».internal:5432/«a»</db.url>
            <db.user>flyway</db.user>
            <db.password>«p»</db.password>
          </properties>

          <build>
            <plugins>
              <plugin>
                <groupId>org.flywaydb</groupId>
                <artifactId>flyway-maven-plugin</artifactId>
                <version>10.11.0</version>
                <configuration>
                  <url>${db.url}</url>
                  <user>${db.user}</user>
                  <password>${db.password}</password>
                </configuration>
              </plugin>
            </plugins>
          </build>
        </project>
        """, o=o, a=a, p=S("DB password in pom.xml property", pw())), "pom-password")

    reg(F, "csharp", "src/Common/Crypto/TokenProtector.cs", T("""
        using System;
        using System.Security.Cryptography;
        using System.Text;

        namespace «A».Common.Crypto
        {
            public static class TokenProtector
            {
                // 256-bit key shared with the mobile app
                private const string EncryptionKey = "«k»";
                private const string HmacKey = "«h»";

                public static byte[] Encrypt(string plain)
                {
                    using var aes = Aes.Create();
                    aes.Key = Convert.FromBase64String(EncryptionKey);
                    aes.GenerateIV();
                    using var enc = aes.CreateEncryptor();
                    var data = Encoding.UTF8.GetBytes(plain);
                    return enc.TransformFinalBlock(data, 0, data.Length);
                }
            }
        }
        """, A=a.capitalize(), k=S("hard-coded AES key", b64(32)), h=S("hard-coded HMAC key", hexs(64))), "cs-aes-key")

    reg(F, "java", "src/main/java/com/«o»/auth/JwtUtil.java".replace("«o»", o), T("""
        package com.«o».auth;

        import io.jsonwebtoken.Jwts;
        import io.jsonwebtoken.security.Keys;
        import java.nio.charset.StandardCharsets;
        import java.util.Date;
        import javax.crypto.SecretKey;

        public class JwtUtil {
            private static final String SECRET = "«s»";
            private static final long TTL_MS = 3_600_000L;

            private final SecretKey key = Keys.hmacShaKeyFor(SECRET.getBytes(StandardCharsets.UTF_8));

            public String issue(String subject) {
                return Jwts.builder()
                    .subject(subject)
                    .issuedAt(new Date())
                    .expiration(new Date(System.currentTimeMillis() + TTL_MS))
                    .signWith(key)
                    .compact();
            }
        }
        """, o=o, s=S("JWT HMAC secret in Java constant", rs(64))), "java-jwt")

    reg(F, "toml", "config/production.toml", T("""
        [server]
        bind = "0.0.0.0:8080"
        workers = 8

        [database]
        host = "pg.«o».internal"
        port = 5432
        user = "«a»"
        password = "«p»"
        name = "«a»"
        max_connections = 32

        [auth]
        jwt_secret = "«j»"
        token_ttl_secs = 3600

        [telemetry]
        otlp_endpoint = "http://otel-collector:4317"
        """, o=o, a=a, p=S("DB password in TOML", pw()), j=S("JWT secret in TOML", hexs(64))), "rust-config-toml")

    reg(F, "json", "config/production.json", T("""
        {
          "port": 8080,
          "db": {
            "host": "mongo.«o».internal",
            "name": "«a»",
            "user": "«a»",
            "pass": "«p»"
          },
          "session": {
            "name": "«a».sid",
            "secret": "«s»",
            "maxAge": 604800000
          },
          "cors": { "origins": ["https://«a».«o».com"] }
        }
        """, o=o, a=a, p=S("DB pass in node-config JSON", pw()), s=S("express-session secret", rs(40, ALNUM + "!#%&*"))),
        "node-config")

    reg(F, "docker-compose", "stack/docker-compose.yml", T("""
        version: "3.9"
        services:
          mariadb:
            image: mariadb:11
            environment:
              MARIADB_ROOT_PASSWORD: «p1»
              MARIADB_DATABASE: nextcloud
              MARIADB_USER: nextcloud
              MARIADB_PASSWORD: «p2»
            volumes:
              - db:/var/lib/mysql
          nextcloud:
            image: nextcloud:28-apache
            environment:
              MYSQL_HOST: mariadb
              NEXTCLOUD_ADMIN_USER: admin
              NEXTCLOUD_ADMIN_PASSWORD: «p3»
            ports: ["8080:80"]
        volumes:
          db:
        """, p1=S("MariaDB root password", pw("alnum")), p2=S("MariaDB user password", pw("alnum")),
        p3=S("Nextcloud admin password", pw())), "compose-passwords")

    reg(F, "hocon", "conf/prod.conf", T("""
        include "application.conf"

        play.http.secret.key = "«k»"
        play.filters.hosts.allowed = [".«o».com"]

        db.default {
          driver = org.postgresql.Driver
          url = "jdbc:postgresql://pg.«o».internal/«a»"
          username = «a»
          password = "«p»"
        }
        """, k=S("Play application secret", rs(64)), o=o, a=a, p=S("HOCON db password", pw())), "play-secret")

    reg(F, "travis-yml", "ci/.travis.yml", T("""
        language: node_js
        node_js:
          - 20
        env:
          global:
            - NODE_ENV=test
            - DEPLOY_USER=deploy
            - DEPLOY_PASSWORD=«p»
            - secure: "«enc»"
        script:
          - npm test
        after_success:
          - ./scripts/deploy.sh
        """, p=S("plain DEPLOY_PASSWORD in travis env", pw("alnum")), enc=b64(256)), "travis-plain")

    reg(F, "typescript", "src/environments/environment.prod.ts", T("""
        export const environment = {
          production: true,
          apiUrl: 'https://api.«o».com',
          mapsApiUrl: 'https://maps.«o».com/tiles',
          adminUser: 'admin',
          adminPassword: '«p»',
          clientSecret: '«cs»',
          featureFlags: { newCheckout: true },
        };
        """, o=o, p=S("admin password in Angular env", pw()), cs=S("OAuth client secret in frontend env", rs(32))),
        "angular-env")

    reg(F, "terraform", "infra/db/variables.tf", T("""
        variable "env" {
          type    = string
          default = "prod"
        }

        variable "db_username" {
          type    = string
          default = "admin"
        }

        variable "db_password" {
          type      = string
          sensitive = true
          default   = "«p»"
        }

        variable "instance_class" {
          type    = string
          default = "db.r6g.large"
        }
        """, p=S("Terraform variable default password", pw())), "tf-default-pw")

    # ---- negatives
    reg(F, "python", "config/settings/base.py", T("""
        import os

        from django.core.management.utils import get_random_secret_key

        SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()
        DEBUG = os.environ.get("DEBUG", "0") == "1"

        DATABASES = {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": os.environ["DB_NAME"],
                "USER": os.environ["DB_USER"],
                "PASSWORD": os.environ["DB_PASSWORD"],
                "HOST": os.environ.get("DB_HOST", "localhost"),
            }
        }

        AUTH_PASSWORD_VALIDATORS = [
            {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        ]
        """), "django-env")

    reg(F, "spring-yaml", "config-repo/«a»-prod.yml".replace("«a»", a), T("""
        # values encrypted with the config server key (POST /encrypt)
        spring:
          datasource:
            username: «a»
            password: '{cipher}«c1»'
        jwt:
          secret: '{cipher}«c2»'
        mail:
          password: ${vcap.services.smtp.credentials.password}
        """, a=a, c1=hexs(160), c2=hexs(192)), "spring-cipher")

    reg(F, "k8s-yaml", "k8s/prod/sealed-secret.yaml", T("""
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata:
          name: «a»-env
          namespace: «a»
        spec:
          encryptedData:
            DB_PASSWORD: «e1»
            STRIPE_SECRET_KEY: «e2»
          template:
            metadata:
              name: «a»-env
              namespace: «a»
            type: Opaque
        """, a=a, e1="Ag" + rs(690, B64CH) + "==", e2="Ag" + rs(690, B64CH) + "=="), "sealed-secret")

    reg(F, "sops-yaml", "secrets/prod.enc.yaml".replace("secrets/", "deploy/secrets/"), T("""
        db:
            password: ENC[AES256_GCM,data:«d1»,iv:«i1»,tag:«t1»,type:str]
        stripe:
            secret_key: ENC[AES256_GCM,data:«d2»,iv:«i2»,tag:«t2»,type:str]
        sops:
            kms: []
            age:
                - recipient: age1«rec»
                  enc: |
                    -----BEGIN AGE ENCRYPTED FILE-----
                    «a1»
                    «a2»
                    -----END AGE ENCRYPTED FILE-----
            lastmodified: "2024-04-02T11:20:13Z"
            mac: ENC[AES256_GCM,data:«m»,iv:«i3»,tag:«t3»,type:str]
            unencrypted_suffix: _unencrypted
            version: 3.8.1
        """, d1=b64(18), i1=b64(32), t1=b64(16), d2=b64(80), i2=b64(32), t2=b64(16), rec=rs(58, "023456789acdefghjklmnpqrstuvwxyz"),
        a1=b64(48), a2=b64(36), m=b64(64), i3=b64(32), t3=b64(16)), "sops")

    reg(F, "python", "accounts/validators.py", T('''
        import re

        from django.core.exceptions import ValidationError
        from django.utils.translation import gettext as _

        MIN_PASSWORD_LENGTH = 12
        PASSWORD_REGEX = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d)(?=.*[^\\w\\s]).{12,}$")
        BANNED = {"password", "Password1!", "letmein", "qwerty123", "changeme"}


        class ComplexityValidator:
            def validate(self, password, user=None):
                if password in BANNED:
                    raise ValidationError(_("This password is too common."))
                if not PASSWORD_REGEX.match(password):
                    raise ValidationError(_("Password must mix cases, digits and symbols."))

            def get_help_text(self):
                return _("Your password must contain at least %d characters.") % MIN_PASSWORD_LENGTH
        '''), "password-policy")

    reg(F, "json", "src/i18n/en.json", T("""
        {
          "login": {
            "title": "Sign in",
            "username": "Username",
            "password": "Password",
            "forgotPassword": "Forgot your password?",
            "submit": "Sign in"
          },
          "reset": {
            "token": "Reset token",
            "tokenExpired": "This reset token has expired.",
            "newPassword": "New password",
            "secretQuestion": "Secret question",
            "apiKeyHelp": "Your API key is shown once. Store it somewhere safe."
          }
        }
        """), "i18n")


# =================================================================== key-material-files
def jks_bytes():
    alias = pick(["upload", "release", "androiddebugkey", "server", "signing"]).encode()
    head = b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01" + len(alias).to_bytes(2, "big") + alias
    head += (1700000000000 + R.randint(0, 10**10)).to_bytes(8, "big")
    key = rbytes(R.randint(1200, 1800))
    return head + len(key).to_bytes(4, "big") + key + b"\x00\x00\x00\x01\x00\x05X.509" + rbytes(R.randint(700, 1100)) + rbytes(20)


def p12_bytes():
    body = b"\x02\x01\x03\x30\x82" + rbytes(2) + b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\xa0\x82" + rbytes(R.randint(2400, 3600))
    return b"\x30\x82" + len(body).to_bytes(2, "big") + body


def fam_keyfiles():
    F = "key-material-files"
    regbin(F, "jks", "android/app/upload-keystore.jks", jks_bytes(), "Java keystore (JKS) with private key", "jks")
    regbin(F, "p12", "certs/client-" + org() + ".p12", p12_bytes(), "PKCS#12 client certificate + key", "p12")
    regbin(F, "pfx", "deploy/iis/wildcard.pfx", p12_bytes(), "PFX with TLS private key", "pfx")
    regbin(F, "keystore", "android/app/release.keystore", jks_bytes(), "Android release keystore", "keystore")
    regbin(F, "p12", "ios/certs/AppleDistribution.p12", p12_bytes(), "Apple distribution certificate + key", "ios-p12")
    regbin(F, "jks", "src/main/resources/saml/samlKeystore.jks", jks_bytes(), "SAML signing keystore", "saml-jks")
    # ---- negatives (binary, no secret)
    regbin(F, "der", "certs/root-ca.der", cert_der(), None, "der-cert")
    regbin(F, "png", "assets/img/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x80\x00\x00\x00\x80\x08\x06\x00\x00\x00"
           + rbytes(4) + b"\x00\x00\x10\x00IDAT" + rbytes(4096) + b"\x00\x00\x00\x00IEND\xaeB`\x82", None, "png")
    regbin(F, "jar", "libs/vendor-sdk-2.1.0.jar", b"PK\x03\x04\x14\x00\x08\x08\x08\x00" + rbytes(2000) + b"META-INF/MANIFEST.MF" + rbytes(1500), None, "jar")
    regbin(F, "woff2", "assets/fonts/inter-var.woff2", b"wOF2\x00\x01\x00\x00" + rbytes(3000), None, "woff2")
    regbin(F, "cer", "certs/intermediate.cer", cert_der(), None, "cer")


# =================================================================== public-material (all negatives)
def fam_public():
    F = "public-material"
    o = org()
    reg(F, "pem", "certs/ca-bundle.crt", "# Subject: CN=" + o.capitalize() + " Root CA 2021\n" + cert_pem() + "\n\n# Subject: CN="
        + o.capitalize() + " Issuing CA 01\n" + cert_pem() + "\n", "ca-bundle")
    reg(F, "ssh-public-key", "keys/id_ed25519.pub", ssh_ed25519_pub("jane@laptop") + "\n", "ed25519-pub")
    reg(F, "authorized-keys", "ansible/roles/users/files/authorized_keys", "\n".join([
        "# managed by ansible -- do not edit",
        ssh_ed25519_pub("jane@laptop"),
        ssh_rsa_pub("build@ci-01"),
        'no-port-forwarding,no-X11-forwarding,command="/usr/local/bin/backup-only" ' + ssh_ed25519_pub("backup@nas"),
        'from="10.0.0.0/8" ' + ecdsa_pub("ops@bastion"),
    ]) + "\n", "authorized-keys")
    reg(F, "known-hosts", "ci/known_hosts", "\n".join([
        "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        "gitlab.com " + ecdsa_pub(),
        "|1|" + b64(20) + "|" + b64(20) + " " + ssh_ed25519_pub(""),
        "|1|" + b64(20) + "|" + b64(20) + " " + ssh_rsa_pub("", 2048),
        "[git." + o + ".internal]:2222 " + ssh_ed25519_pub(""),
    ]) + "\n", "known-hosts")
    reg(F, "pgp", "KEYS", "This file contains the PGP keys of the release managers.\n\npub   rsa4096 2021-03-02 [SC]\n      "
        + hexs(40).upper() + "\nuid           [ultimate] Release Manager <release@" + o + ".org>\n\n" + pgp_block("PUBLIC KEY") + "\n",
        "gpg-pub")
    reg(F, "javascript", "web/static/js/checkout.js", T("""
        // Stripe.js: the publishable key is safe to expose in the browser
        const stripe = Stripe("«pk»");
        const elements = stripe.elements({ appearance: { theme: "stripe" } });

        const card = elements.create("payment");
        card.mount("#payment-element");

        document.querySelector("#pay").addEventListener("click", async () => {
          const { error } = await stripe.confirmPayment({
            elements,
            confirmParams: { return_url: window.location.origin + "/thanks" },
          });
          if (error) document.querySelector("#error").textContent = error.message;
        });
        """, pk=stripe_pk()), "stripe-pk")
    reg(F, "html", "web/templates/login.html", T("""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Sign in</title>
          <meta name="google-signin-client_id" content="«cid».apps.googleusercontent.com">
          <script src="https://accounts.google.com/gsi/client" async defer></script>
          <script src="https://www.google.com/recaptcha/api.js?render=6L«rk»"></script>
        </head>
        <body>
          <div id="g_id_onload" data-client_id="«cid».apps.googleusercontent.com" data-login_uri="/auth/google"></div>
          <div class="g_id_signin" data-type="standard"></div>
          <script src="https://www.paypal.com/sdk/js?client-id=A«pp»&currency=EUR"></script>
        </body>
        </html>
        """, cid=digits(12) + "-" + rs(32, LOWER + DIGITS), rk=rs(38, URLSAFE), pp=rs(79, URLSAFE)), "oauth-client-ids")
    reg(F, "javascript", "src/authConfig.js", T("""
        export const msalConfig = {
          auth: {
            clientId: "«c»",
            authority: "https://login.microsoftonline.com/«t»",
            redirectUri: "/",
            postLogoutRedirectUri: "/",
          },
          cache: { cacheLocation: "sessionStorage", storeAuthStateInCookie: false },
        };

        export const loginRequest = {
          scopes: ["User.Read", "api://«api»/orders.read"],
        };
        """, c=uid(), t=uid(), api=uid()), "msal-ids")
    reg(F, "javascript", "src/firebase.js", T("""
        import { initializeApp } from "firebase/app";
        import { getAuth } from "firebase/auth";
        import { getFirestore } from "firebase/firestore";

        const firebaseConfig = {
          apiKey: "AIza«k»",
          authDomain: "«p».firebaseapp.com",
          projectId: "«p»",
          storageBucket: "«p».appspot.com",
          messagingSenderId: "«s»",
          appId: "1:«s»:web:«id»",
          measurementId: "G-«m»",
        };

        export const app = initializeApp(firebaseConfig);
        export const auth = getAuth(app);
        export const db = getFirestore(app);
        """, k=rs(35, URLSAFE), p=o + "-app-" + rs(5, LOWER + DIGITS), s=digits(12), id=hexs(22), m=rs(10, UPPER + DIGITS)),
        "firebase-web")
    reg(F, "typescript", "sentry.client.config.ts", T("""
        import * as Sentry from "@sentry/nextjs";

        Sentry.init({
          dsn: "https://«k»@o«org».ingest.sentry.io/«proj»",
          tracesSampleRate: 0.1,
          replaysSessionSampleRate: 0.0,
          replaysOnErrorSampleRate: 1.0,
          environment: process.env.NEXT_PUBLIC_VERCEL_ENV,
          integrations: [Sentry.replayIntegration()],
        });
        """, k=hexs(32), org=digits(6), proj=digits(7)), "sentry-dsn")
    reg(F, "markdown", "docs/aws-setup.md", T("""
        # AWS credentials for local development

        Run `aws configure` and enter your own keys. The values below are the examples from
        the AWS documentation and do not work:

        ```
        $ aws configure
        AWS Access Key ID [None]: AKIAIOSFODNN7EXAMPLE
        AWS Secret Access Key [None]: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        Default region name [None]: us-west-2
        Default output format [None]: json
        ```

        The resulting `~/.aws/credentials`:

        ```ini
        [default]
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        ```
        """), "aws-doc-example")
    reg(F, "dotenv", ".env.example", T("""
        # Copy to .env and fill in
        APP_ENV=local
        APP_KEY=
        APP_URL=http://localhost:8000

        DB_HOST=127.0.0.1
        DB_PORT=5432
        DB_DATABASE=app
        DB_USERNAME=app
        DB_PASSWORD=

        STRIPE_KEY=pk_test_xxxxxxxxxxxxxxxxxxxxxxxx
        STRIPE_SECRET=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx
        GITHUB_TOKEN=your-github-token
        SENTRY_DSN=
        AWS_ACCESS_KEY_ID=
        AWS_SECRET_ACCESS_KEY=
        """), "env-example")
    n = base64.urlsafe_b64encode(rbytes(256)).decode().rstrip("=")
    reg(F, "json", "public/.well-known/jwks.json", T("""
        {
          "keys": [
            {
              "kty": "RSA",
              "use": "sig",
              "alg": "RS256",
              "kid": "«kid»",
              "n": "«n»",
              "e": "AQAB"
            },
            {
              "kty": "EC",
              "use": "sig",
              "crv": "P-256",
              "kid": "«kid2»",
              "x": "«x»",
              "y": "«y»"
            }
          ]
        }
        """, kid=hexs(16), n=n, kid2=hexs(16), x=b64url(rbytes(32)), y=b64url(rbytes(32))), "jwks")
    reg(F, "markdown", "SECURITY.md", T("""
        # Security Policy

        ## Reporting a Vulnerability

        Please email security@«o».com. Encrypt sensitive reports with our PGP key:

        - Fingerprint: `«fp»`
        - Key: https://«o».com/.well-known/security.asc

        We aim to acknowledge reports within 2 business days.

        ## Supported Versions

        | Version | Supported |
        |---|---|
        | 4.x | yes |
        | 3.x | security fixes only |
        | < 3 | no |
        """, o=o, fp=" ".join(hexs(4).upper() for _ in range(10))), "security-md")
    reg(F, "pem", "app/src/main/res/raw/server_pub.pem", pubkey_pem() + "\n", "pub-pem-android")
    reg(F, "k8s-yaml", "k8s/base/ca-configmap.yaml", T("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: corp-ca
          namespace: kube-system
        data:
          ca.crt: |
        «c»
        """, c=indent(cert_pem(), 4)), "ca-configmap")
    reg(F, "javascript", "website/docusaurus.config.js", T("""
        // @ts-check
        /** @type {import('@docusaurus/types').Config} */
        const config = {
          title: "«O» Docs",
          url: "https://docs.«o».com",
          baseUrl: "/",
          themeConfig: {
            algolia: {
              appId: "«app»",
              // public search-only key
              apiKey: "«key»",
              indexName: "«o»",
            },
            navbar: { title: "«O»" },
          },
        };

        module.exports = config;
        """, O=o.capitalize(), o=o, app=rs(10, UPPER + DIGITS), key=hexs(32)), "algolia-search-key")
    reg(F, "javascript", "src/map.js", T("""
        import mapboxgl from "mapbox-gl";

        mapboxgl.accessToken = "pk.«p».«s»";

        export function createMap(container) {
          return new mapboxgl.Map({
            container,
            style: "mapbox://styles/mapbox/streets-v12",
            center: [13.405, 52.52],
            zoom: 11,
          });
        }
        """, p=b64url(json.dumps({"u": o + "-maps", "a": rs(25, LOWER + DIGITS)}).encode()), s=rs(22, URLSAFE)),
        "mapbox-pk")
    reg(F, "plist", "ios/App/GoogleService-Info.plist", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
        <plist version="1.0">
        <dict>
        	<key>API_KEY</key>
        	<string>AIza«k»</string>
        	<key>GCM_SENDER_ID</key>
        	<string>«s»</string>
        	<key>PLIST_VERSION</key>
        	<string>1</string>
        	<key>BUNDLE_ID</key>
        	<string>com.«o».app</string>
        	<key>PROJECT_ID</key>
        	<string>«o»-app</string>
        	<key>GOOGLE_APP_ID</key>
        	<string>1:«s»:ios:«g»</string>
        </dict>
        </plist>
        """, k=rs(35, URLSAFE), s=digits(12), o=o, g=hexs(22)), "google-service-plist")
    reg(F, "json", "android/app/google-services.json", T("""
        {
          "project_info": {
            "project_number": "«s»",
            "project_id": "«o»-app",
            "storage_bucket": "«o»-app.appspot.com"
          },
          "client": [
            {
              "client_info": {
                "mobilesdk_app_id": "1:«s»:android:«g»",
                "android_client_info": { "package_name": "com.«o».app" }
              },
              "oauth_client": [],
              "api_key": [{ "current_key": "AIza«k»" }],
              "services": { "appinvite_service": { "other_platform_oauth_client": [] } }
            }
          ],
          "configuration_version": "1"
        }
        """, s=digits(12), o=o, g=hexs(22), k=rs(35, URLSAFE)), "google-services-json")
    reg(F, "xml", "app/src/main/res/xml/network_security_config.xml", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <network-security-config>
            <domain-config cleartextTrafficPermitted="false">
                <domain includeSubdomains="true">api.«o».com</domain>
                <pin-set expiration="2026-01-01">
                    <pin digest="SHA-256">«p1»</pin>
                    <pin digest="SHA-256">«p2»</pin>
                </pin-set>
            </domain-config>
        </network-security-config>
        """, o=o, p1=b64(32), p2=b64(32)), "cert-pins")
    reg(F, "terraform", "infra/keys.tf", T("""
        resource "aws_key_pair" "ops" {
          key_name   = "ops-2024"
          public_key = "«k»"
        }

        resource "aws_key_pair" "ci" {
          key_name   = "ci-runner"
          public_key = file("${path.module}/keys/ci.pub")
        }
        """, k=ssh_rsa_pub("ops@" + o, 2048)), "tf-keypair")
    reg(F, "cloud-init", "infra/cloud-init/user-data.yaml", T("""
        #cloud-config
        hostname: runner-01
        users:
          - name: ops
            groups: [sudo]
            shell: /bin/bash
            sudo: ["ALL=(ALL) NOPASSWD:ALL"]
            ssh_authorized_keys:
              - «k1»
              - «k2»
        package_update: true
        packages: [docker.io, git]
        runcmd:
          - systemctl enable --now docker
        """, k1=ssh_ed25519_pub("ops@" + o), k2=ssh_ed25519_pub("ci@" + o)), "cloud-init-keys")
    reg(F, "pem", "certs/fullchain.pem", cert_pem() + "\n" + cert_pem() + "\n", "fullchain")
    reg(F, "pgp", "releases/v2.4.0/SHA256SUMS.asc", T("""
        -----BEGIN PGP SIGNED MESSAGE-----
        Hash: SHA256

        «h1»  «a»-2.4.0-linux-amd64.tar.gz
        «h2»  «a»-2.4.0-darwin-arm64.tar.gz
        «h3»  «a»-2.4.0-windows-amd64.zip
        -----BEGIN PGP SIGNATURE-----

        «sig»
        =«crc»
        -----END PGP SIGNATURE-----
        """, h1=hexs(64), h2=hexs(64), h3=hexs(64), a=app(), sig="\n".join(wrap(b64(560), 64)), crc=b64(3)), "pgp-sig")
    reg(F, "json", "azure/app-manifest.json", T("""
        {
          "id": "«id»",
          "appId": "«app»",
          "displayName": "«o»-portal",
          "signInAudience": "AzureADMyOrg",
          "identifierUris": ["api://«app»"],
          "keyCredentials": [
            {
              "customKeyIdentifier": "«thumb»",
              "displayName": "CN=«o»-portal",
              "endDateTime": "2026-03-01T00:00:00Z",
              "keyId": "«kid»",
              "type": "AsymmetricX509Cert",
              "usage": "Verify",
              "key": "«cert»"
            }
          ],
          "passwordCredentials": [],
          "replyUrlsWithType": [{ "url": "https://portal.«o».com/signin-oidc", "type": "Web" }]
        }
        """, id=uid(), app=uid(), o=o, thumb=hexs(40).upper(), kid=uid(), cert=base64.b64encode(cert_der(700)).decode()),
        "az-manifest-cert")
    reg(F, "yaml", "github-app/app.yml", T("""
        # GitHub App manifest
        name: «o»-release-bot
        url: https://github.com/«o»
        hook_attributes:
          url: https://bots.«o».com/github/events
        redirect_url: https://bots.«o».com/github/setup
        public: false
        default_permissions:
          contents: write
          pull_requests: write
          issues: read
        default_events: [pull_request, push, release]
        app_id: «id»
        client_id: Iv1.«cid»
        """, o=o, id=digits(6), cid=hexs(16)), "gh-app-ids")
    reg(F, "dotenv", "sms/.env.defaults", T("""
        # non-secret defaults; TWILIO_AUTH_TOKEN comes from the vault
        TWILIO_ACCOUNT_SID=AC«sid»
        TWILIO_MESSAGING_SERVICE_SID=MG«mg»
        TWILIO_FROM=+15005550006
        SMS_RATE_LIMIT=30
        SMS_ENABLED=true
        """, sid=hexs(32), mg=hexs(32)), "twilio-sid")
    reg(F, "pem", "cosign.pub", T("""
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE«k»
        «k2»
        -----END PUBLIC KEY-----
        """, k=rs(28, B64CH), k2=rs(58, B64CH) + "=="), "cosign-pub")
    reg(F, "yaml", "ansible/roles/ssh/vars/main.yml", T("""
        ---
        ssh_host_keys_pub:
          ed25519: "«k1»"
          rsa: "«k2»"
        ssh_trusted_user_ca_keys:
          - "«k3»"
        sshd_password_authentication: "no"
        sshd_permit_root_login: "prohibit-password"
        """, k1=ssh_ed25519_pub("root@bastion"), k2=ssh_rsa_pub("root@bastion", 2048), k3=ssh_ed25519_pub("user-ca")),
        "host-pubkeys")
    reg(F, "json", "public/.well-known/openid-configuration", T("""
        {
          "issuer": "https://auth.«o».com",
          "authorization_endpoint": "https://auth.«o».com/oauth2/authorize",
          "token_endpoint": "https://auth.«o».com/oauth2/token",
          "userinfo_endpoint": "https://auth.«o».com/oauth2/userinfo",
          "jwks_uri": "https://auth.«o».com/.well-known/jwks.json",
          "response_types_supported": ["code", "id_token", "code id_token"],
          "subject_types_supported": ["public"],
          "id_token_signing_alg_values_supported": ["RS256", "ES256"],
          "scopes_supported": ["openid", "profile", "email", "offline_access"],
          "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
          "code_challenge_methods_supported": ["S256"]
        }
        """, o=o), "oidc-discovery")
    reg(F, "markdown", "docs/api-keys.md", T("""
        # Public vs secret keys

        | Key | Where it may appear | Example |
        |---|---|---|
        | Stripe publishable | browser bundle | `«pk»` |
        | Google Maps JS (HTTP-referrer restricted) | web pages | `AIza«k»` |
        | OAuth client id | login page | `«cid».apps.googleusercontent.com` |
        | Sentry DSN | client SDK init | `https://«sk»@o«so».ingest.sentry.io/«sp»` |

        Secret keys (`sk_live_...`, client secrets, service-account JSON) are only ever read
        from the secret manager at runtime.
        """, pk=stripe_pk(), k=rs(35, URLSAFE), cid=digits(12) + "-" + rs(32, LOWER + DIGITS), sk=hexs(32), so=digits(6),
        sp=digits(7)), "public-keys-doc")
    reg(F, "yaml", "config/oauth_clients.yml", T("""
        # public OAuth clients (PKCE, no client secret)
        clients:
          - name: web-spa
            client_id: «c1»
            redirect_uris: ["https://app.«o».com/callback"]
            token_endpoint_auth_method: none
          - name: ios
            client_id: «c2»
            redirect_uris: ["com.«o».app:/oauth2redirect"]
            token_endpoint_auth_method: none
          - name: cli
            client_id: «c3»
            grant_types: ["urn:ietf:params:oauth:grant-type:device_code"]
            token_endpoint_auth_method: none
        """, c1=rs(32, LOWER + DIGITS), c2=rs(32, LOWER + DIGITS), c3=rs(32, LOWER + DIGITS), o=o), "public-oauth-clients")


# =================================================================== non-secrets (all negatives)
def fam_nonsecrets():
    F = "non-secrets"
    o, a = org(), app()
    reg(F, "github-actions", ".github/workflows/deploy.yml", T("""
        name: deploy
        on:
          workflow_dispatch:
          push:
            branches: [main]
        permissions:
          id-token: write
          contents: read
        jobs:
          deploy:
            runs-on: ubuntu-latest
            environment: production
            steps:
              - uses: actions/checkout@v4
              - uses: aws-actions/configure-aws-credentials@v4
                with:
                  role-to-assume: arn:aws:iam::«acct»:role/gha-deploy
                  aws-region: eu-west-1
              - uses: docker/login-action@v3
                with:
                  registry: ghcr.io
                  username: ${{ github.actor }}
                  password: ${{ secrets.GITHUB_TOKEN }}
              - run: ./deploy.sh
                env:
                  DATABASE_URL: ${{ secrets.DATABASE_URL }}
                  STRIPE_SECRET_KEY: ${{ secrets.STRIPE_SECRET_KEY }}
                  SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}
        """, acct=digits(12)), "gha-secrets")

    reg(F, "helm-template", "charts/«a»/templates/secret.yaml".replace("«a»", a), T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ include "app.fullname" . }}
          labels:
            {{- include "app.labels" . | nindent 4 }}
        type: Opaque
        data:
          DB_PASSWORD: {{ .Values.db.password | b64enc | quote }}
          API_KEY: {{ required "apiKey is required" .Values.apiKey | b64enc | quote }}
          {{- if .Values.smtp.enabled }}
          SMTP_PASSWORD: {{ .Values.smtp.password | b64enc | quote }}
          {{- end }}
          JWT_SECRET: {{ randAlphaNum 48 | b64enc | quote }}
        """), "helm-template")

    reg(F, "docker-compose", "compose.yaml", T("""
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: ${POSTGRES_USER:-app}
              POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}
            secrets:
              - db_root
          api:
            image: ghcr.io/«o»/«a»:${TAG:-latest}
            environment:
              DATABASE_URL: postgres://${POSTGRES_USER:-app}:${POSTGRES_PASSWORD}@db:5432/app
              JWT_SECRET_FILE: /run/secrets/jwt_secret
            secrets:
              - jwt_secret
        secrets:
          db_root:
            file: ./secrets/db_root.txt
          jwt_secret:
            external: true
        """, o=o, a=a), "compose-interp")

    reg(F, "spring-yaml", "src/main/resources/bootstrap.yml", T("""
        spring:
          application:
            name: «a»
          cloud:
            vault:
              uri: https://vault.«o».internal:8200
              authentication: KUBERNETES
              kubernetes:
                role: «a»
              kv:
                enabled: true
                backend: secret
          config:
            import: vault://secret/data/«a»
        app:
          db-password: ${vault.db.password}
          api-key: vault:secret/data/«a»#api_key
        """, a=a, o=o), "vault-refs")

    reg(F, "json", "infra/ecs/task-definition.json", T("""
        {
          "family": "«a»",
          "networkMode": "awsvpc",
          "containerDefinitions": [
            {
              "name": "«a»",
              "image": "«acct».dkr.ecr.eu-west-1.amazonaws.com/«a»:latest",
              "secrets": [
                { "name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:«acct»:secret:prod/«a»/db-«s1»:password::" },
                { "name": "STRIPE_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:«acct»:parameter/prod/«a»/stripe-key" }
              ],
              "environment": [
                { "name": "NODE_ENV", "value": "production" }
              ]
            }
          ],
          "requiresCompatibilities": ["FARGATE"],
          "cpu": "512",
          "memory": "1024"
        }
        """, a=a, acct=digits(12), s1=rs(6)), "ecs-secret-refs")

    reg(F, "k8s-yaml", "k8s/prod/external-secret.yaml", T("""
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: «a»-env
        spec:
          refreshInterval: 1h
          secretStoreRef:
            kind: ClusterSecretStore
            name: gcp-secret-manager
          target:
            name: «a»-env
          data:
            - secretKey: DB_PASSWORD
              remoteRef:
                key: «a»-db-password
                version: latest
            - secretKey: STRIPE_SECRET_KEY
              remoteRef:
                key: «a»-stripe-secret-key
        """, a=a), "external-secret")

    vault_lines = "\n".join(hexs(80) for _ in range(8)) + "\n" + hexs(34)
    reg(F, "ansible-vault", "ansible/group_vars/prod/secrets.yml", "$ANSIBLE_VAULT;1.1;AES256\n" + vault_lines + "\n", "ansible-vault-file")

    reg(F, "json", "package-lock.json", T("""
        {
          "name": "«a»-web",
          "version": "1.4.0",
          "lockfileVersion": 3,
          "requires": true,
          "packages": {
            "node_modules/axios": {
              "version": "1.6.8",
              "resolved": "https://registry.npmjs.org/axios/-/axios-1.6.8.tgz",
              "integrity": "sha512-«i1»"
            },
            "node_modules/follow-redirects": {
              "version": "1.15.6",
              "resolved": "https://registry.npmjs.org/follow-redirects/-/follow-redirects-1.15.6.tgz",
              "integrity": "sha512-«i2»"
            },
            "node_modules/form-data": {
              "version": "4.0.0",
              "resolved": "https://registry.npmjs.org/form-data/-/form-data-4.0.0.tgz",
              "integrity": "sha512-«i3»"
            }
          }
        }
        """, a=a, i1=b64(64), i2=b64(64), i3=b64(64)), "integrity")

    mods = ["github.com/jackc/pgx/v5 v5.5.5", "github.com/google/uuid v1.6.0", "golang.org/x/crypto v0.22.0",
            "github.com/go-chi/chi/v5 v5.0.12", "go.uber.org/zap v1.27.0", "github.com/stretchr/testify v1.9.0"]
    gosum = []
    for m in mods:
        gosum.append("%s h1:%s" % (m, b64(32)))
        gosum.append("%s/go.mod h1:%s" % (m, b64(32)))
    reg(F, "go-sum", "go.sum", "\n".join(gosum) + "\n", "go-sum")

    reg(F, "text", ".git-blame-ignore-revs", T("""
        # Run black over the whole codebase
        «h1»
        # Switch to ruff formatting
        «h2»
        # Reindent templates
        «h3»
        # Rename package «a» -> «a»_core
        «h4»
        """, h1=hexs(40), h2=hexs(40), h3=hexs(40), h4=hexs(40), a=a), "blame-ignore")

    crates = ["serde 1.0.197", "tokio 1.37.0", "hyper 1.2.0", "ring 0.17.8", "sqlx 0.7.4"]
    lock = ["# This file is automatically @generated by Cargo.", "# It is not intended for manual editing.", "version = 3", ""]
    for c in crates:
        n, v = c.split()
        lock += ["[[package]]", 'name = "%s"' % n, 'version = "%s"' % v,
                 'source = "registry+https://github.com/rust-lang/crates.io-index"', 'checksum = "%s"' % hexs(64), ""]
    reg(F, "cargo-lock", "Cargo.lock", "\n".join(lock), "cargo-lock")

    sln_guid = lambda: "{" + uid().upper() + "}"
    g0 = "{" + "FAE04EC0-301F-11D3-BF4B-00C04F79EFBC" + "}"
    reg(F, "sln", "«A».sln".replace("«A»", a.capitalize()), T("""
        Microsoft Visual Studio Solution File, Format Version 12.00
        # Visual Studio Version 17
        VisualStudioVersion = 17.8.34330.188
        MinimumVisualStudioVersion = 10.0.40219.1
        Project("«g0»") = "«A».Api", "src\\«A».Api\\«A».Api.csproj", "«g1»"
        EndProject
        Project("«g0»") = "«A».Core", "src\\«A».Core\\«A».Core.csproj", "«g2»"
        EndProject
        Global
        	GlobalSection(SolutionConfigurationPlatforms) = preSolution
        		Debug|Any CPU = Debug|Any CPU
        		Release|Any CPU = Release|Any CPU
        	EndGlobalSection
        	GlobalSection(ExtensibilityGlobals) = postSolution
        		SolutionGuid = «g3»
        	EndGlobalSection
        EndGlobal
        """, g0=g0, A=a.capitalize(), g1=sln_guid(), g2=sln_guid(), g3=sln_guid()), "sln-guids")

    reg(F, "css", "src/styles/icons.css", T("""
        .icon-check {
          width: 16px;
          height: 16px;
          background-image: url("data:image/png;base64,«img»");
        }

        .icon-spinner {
          background: url("data:image/svg+xml;base64,«svg»") no-repeat center;
        }
        """, img=base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rbytes(300)).decode(),
        svg=base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" stroke="#333" fill="none"/></svg>').decode()),
        "data-uri")

    vec = []
    for i in range(3):
        vec.append('    {"tcId": %d, "key": "%s", "iv": "%s", "aad": "%s", "msg": "%s", "ct": "%s", "tag": "%s", "result": "valid"}'
                   % (i + 1, hexs(32 if i < 2 else 64), hexs(24), hexs(16 * i), hexs(32), hexs(32), hexs(32)))
    reg(F, "json", "tests/vectors/aes_gcm_test.json", '{\n  "algorithm": "AES-GCM",\n  "source": "NIST SP 800-38D / Wycheproof style vectors",\n  "tests": [\n'
        + ",\n".join(vec) + '\n  ]\n}\n', "crypto-vectors")

    reg(F, "python", "tests/conftest.py", T('''
        import pytest

        from app import create_app
        from app.models import User, db

        TEST_DB = "postgresql://test:test@localhost:5432/app_test"


        @pytest.fixture
        def app():
            app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": TEST_DB, "SECRET_KEY": "test"})
            with app.app_context():
                db.create_all()
                db.session.add(User(email="admin@example.com", password="admin"))
                db.session.add(User(email="test@example.com", password="test"))
                db.session.commit()
                yield app
                db.drop_all()


        @pytest.fixture
        def client(app):
            return app.test_client()


        def login(client, email="test@example.com", password="test"):
            return client.post("/login", data={"email": email, "password": password})
        '''), "test-fixtures")

    reg(F, "rails-database-yml", "config/database.yml", T("""
        default: &default
          adapter: postgresql
          encoding: unicode
          host: localhost
          username: postgres
          password: postgres
          pool: 5

        development:
          <<: *default
          database: «a»_development

        test:
          <<: *default
          database: «a»_test

        production:
          <<: *default
          url: <%= ENV["DATABASE_URL"] %>
        """, a=a), "local-defaults")

    reg(F, "terraform", "infra/secrets.tf", T("""
        resource "random_password" "db" {
          length           = 32
          special          = true
          override_special = "!#$%&*()-_=+[]{}<>:?"
        }

        resource "aws_secretsmanager_secret" "db" {
          name = "${var.env}/«a»/db"
        }

        resource "aws_secretsmanager_secret_version" "db" {
          secret_id = aws_secretsmanager_secret.db.id
          secret_string = jsonencode({
            username = var.db_username
            password = random_password.db.result
          })
        }

        output "db_secret_arn" {
          value = aws_secretsmanager_secret.db.arn
        }
        """, a=a), "tf-random-password")

    reg(F, "dotenv", "deploy/.env.runtime", T("""
        # evaluated by the entrypoint (set -a; . ./.env.runtime)
        DB_PASSWORD=$(cat /run/secrets/db_password)
        REDIS_PASSWORD="$(vault kv get -field=password secret/«a»/redis)"
        API_TOKEN=`aws ssm get-parameter --name /«a»/api-token --with-decryption --query Parameter.Value --output text`
        SESSION_SECRET=${SESSION_SECRET:?missing}
        GCP_KEY=$(gcloud secrets versions access latest --secret=«a»-sa-key)
        LOG_LEVEL=info
        """, a=a), "cmd-subst")

    reg(F, "jinja", "ansible/roles/app/templates/config.ini.j2", T("""
        [database]
        host = {{ db_host }}
        port = {{ db_port | default(5432) }}
        user = {{ db_user }}
        password = {{ db_password }}

        [smtp]
        host = {{ smtp_host }}
        user = {{ smtp_user }}
        password = {{ vault_smtp_password }}

        [security]
        secret_key = {{ lookup('community.hashi_vault.hashi_vault', 'secret=secret/data/app:secret_key') }}
        api_token = {{ lookup('env', 'API_TOKEN') }}
        """), "jinja-template")

    reg(F, "jenkinsfile", "ci/Jenkinsfile.release", T("""
        pipeline {
            agent any
            environment {
                NEXUS = credentials('nexus-deploy')
                SONAR_TOKEN = credentials('sonar-token')
                SIGNING_KEY = credentials('gpg-signing-key')
            }
            stages {
                stage('Release') {
                    steps {
                        withCredentials([string(credentialsId: 'github-token', variable: 'GH_TOKEN')]) {
                            sh './gradlew publish -PnexusUser=$NEXUS_USR -PnexusPassword=$NEXUS_PSW'
                            sh 'gh release create v${VERSION} --notes-file CHANGES.md'
                        }
                        sshagent(credentials: ['deploy-ssh']) {
                            sh 'ssh deploy@web1 ./deploy.sh'
                        }
                    }
                }
            }
        }
        """), "jenkins-credentials")

    reg(F, "azure-pipelines", "azure-pipelines.yml", T("""
        trigger:
          - main

        pool:
          vmImage: ubuntu-latest

        variables:
          - group: «a»-prod-secrets
          - name: buildConfiguration
            value: Release

        steps:
          - task: AzureKeyVault@2
            inputs:
              azureSubscription: «a»-prod
              KeyVaultName: kv-«a»-prod
              SecretsFilter: "DbPassword,StorageKey"
          - script: dotnet ef database update --connection "Server=$(SqlServer);Database=«a»;User Id=$(SqlUser);Password=$(DbPassword)"
            displayName: migrate
          - script: dotnet publish -c $(buildConfiguration)
        """, a=a), "azdo-vars")

    reg(F, "python", "app/secrets.py", T('''
        import json
        import os

        import boto3
        import keyring
        from google.cloud import secretmanager


        def api_key() -> str:
            return os.environ.get("API_KEY") or keyring.get_password("«a»", "api_key")


        def db_credentials() -> dict:
            sm = boto3.client("secretsmanager")
            return json.loads(sm.get_secret_value(SecretId="prod/«a»/db")["SecretString"])


        def stripe_key(project: str = "«o»-prod") -> str:
            client = secretmanager.SecretManagerServiceClient()
            name = f"projects/{project}/secrets/stripe-secret-key/versions/latest"
            return client.access_secret_version(name=name).payload.data.decode()
        ''', a=a, o=o), "secret-manager-code")

    reg(F, "gitlab-ci", ".gitlab-ci.yml", T("""
        stages: [build, deploy]

        build-image:
          stage: build
          image: docker:24
          services: [docker:24-dind]
          script:
            - echo "$CI_REGISTRY_PASSWORD" | docker login $CI_REGISTRY -u $CI_REGISTRY_USER --password-stdin
            - docker build -t $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA .
            - docker push $CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA

        deploy:
          stage: deploy
          image: alpine/helm:3.14.0
          script:
            - >
              helm upgrade --install «a» charts/«a»
              --set image.tag=$CI_COMMIT_SHORT_SHA
              --set db.password=$DB_PASSWORD
          environment: production
        """, a=a), "gitlab-vars")

    reg(F, "sql", "db/seeds/users.sql", T("""
        -- seed users for the staging environment; passwords are bcrypt hashes
        INSERT INTO users (id, email, password_hash, role, created_at) VALUES
          ('«u1»', 'admin@«o».com', '$2y$10$«h1»', 'admin', now()),
          ('«u2»', 'editor@«o».com', '$2y$10$«h2»', 'editor', now()),
          ('«u3»', 'viewer@«o».com', '$2b$12$«h3»', 'viewer', now());

        INSERT INTO api_clients (id, name, secret_sha256) VALUES
          ('«u4»', 'reporting', '«sha»');
        """, u1=uid(), u2=uid(), u3=uid(), u4=uid(), o=o, h1=rs(53, ALNUM + "./"), h2=rs(53, ALNUM + "./"),
        h3=rs(53, ALNUM + "./"), sha=hexs(64)), "hashes-sql")

    reg(F, "json", "build/build-info.json", T("""
        {
          "version": "3.12.0",
          "commit": "«c»",
          "shortCommit": "«cs»",
          "branch": "main",
          "builtAt": "2024-05-06T14:22:09Z",
          "image": "ghcr.io/«o»/«a»@sha256:«d»",
          "assets": {
            "main.js": "main.«h1».js",
            "vendor.js": "vendor.«h2».js",
            "styles.css": "styles.«h3».css"
          },
          "sbomDigest": "sha256:«d2»"
        }
        """, c="__C__", cs="__CS__", o=o, a=a, d=hexs(64), h1=hexs(20), h2=hexs(20), h3=hexs(20), d2=hexs(64))
        .replace("__C__", "c0ffee" + hexs(34)).replace("__CS__", hexs(7)), "build-digests")

    reg(F, "kustomize", "k8s/overlays/prod/kustomization.yaml", T("""
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: «a»
        resources:
          - ../../base
        secretGenerator:
          - name: «a»-env
            envs:
              - secrets.env
            type: Opaque
          - name: «a»-tls
            files:
              - tls.crt=certs/tls.crt
              - tls.key=certs/tls.key
        images:
          - name: «a»
            newTag: 3.12.0
        """, a=a), "kustomize-refs")

    reg(F, "netlify-toml", "site/netlify.toml", T("""
        [build]
          base = "site/"
          command = "hugo --gc --minify"
          publish = "public"

        [build.environment]
          HUGO_VERSION = "0.125.4"
          HUGO_ENV = "production"

        [context.deploy-preview.environment]
          HUGO_ENV = "preview"

        [[plugins]]
          package = "@netlify/plugin-lighthouse"

        [[headers]]
          for = "/*"
          [headers.values]
            Content-Security-Policy = "default-src 'self'; script-src 'self' 'sha256-«csp»'"
        """, csp=b64(32)), "netlify-plain")

    reg(F, "travis-yml", ".travis.yml", T("""
        language: go
        go:
          - "1.22.x"
        env:
          global:
            - GO111MODULE=on
            - secure: "«e1»"
            - secure: "«e2»"
        script:
          - make test
        deploy:
          provider: releases
          api_key:
            secure: "«e3»"
          file: dist/*
          on:
            tags: true
        """, e1=b64(256), e2=b64(256), e3=b64(256)), "travis-secure")

    reg(F, "serverless-yml", "serverless.yml", T("""
        service: «a»-api
        frameworkVersion: "3"

        provider:
          name: aws
          runtime: nodejs20.x
          stage: ${opt:stage, 'dev'}
          environment:
            DB_HOST: ${ssm:/«a»/${sls:stage}/db-host}
            DB_PASSWORD: ${ssm:/aws/reference/secretsmanager/«a»/${sls:stage}/db-password}
            STRIPE_SECRET_KEY: ${env:STRIPE_SECRET_KEY}
            JWT_SECRET: ${file(./secrets.${sls:stage}.yml):jwtSecret}

        functions:
          api:
            handler: dist/handler.main
            events:
              - httpApi: "*"
        """, a=a), "sls-refs")

    reg(F, "hocon", "src/main/resources/application.conf", T("""
        app {
          http {
            host = "0.0.0.0"
            port = 8080
            port = ${?PORT}
          }
          db {
            url = "jdbc:postgresql://localhost:5432/«a»"
            url = ${?DB_URL}
            user = "«a»"
            user = ${?DB_USER}
            password = ${?DB_PASSWORD}
          }
          jwt.secret = ${JWT_SECRET}
        }
        """, a=a), "hocon-env")

    reg(F, "jupyter", "notebooks/explore.ipynb", T("""
        {
         "cells": [
          {
           "cell_type": "code",
           "execution_count": 1,
           "metadata": {},
           "outputs": [],
           "source": [
            "import getpass, hashlib\\n",
            "password = getpass.getpass(\\"Warehouse password: \\")\\n",
            "token = os.environ.get(\\"WAREHOUSE_TOKEN\\")"
           ]
          },
          {
           "cell_type": "code",
           "execution_count": 2,
           "metadata": {},
           "outputs": [{"name": "stdout", "output_type": "stream", "text": ["«h»\\n"]}],
           "source": ["print(hashlib.sha256(open('data/export.parquet','rb').read()).hexdigest())"]
          }
         ],
         "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
         "nbformat": 4,
         "nbformat_minor": 5
        }
        """, h=hexs(64)), "ipynb-getpass")

    reg(F, "local-settings-json", "api/local.settings.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "FUNCTIONS_WORKER_RUNTIME": "node",
            "CosmosDbConnection": "",
            "OpenAIKey": "<your key>",
            "SendGridApiKey": "@Microsoft.KeyVault(VaultName=kv-«a»;SecretName=sendgrid-key)"
          }
        }
        """, a=a), "localsettings-empty")

    reg(F, "elixir", "config/dev.exs", T("""
        import Config

        config :«a», «A».Repo,
          username: "postgres",
          password: "postgres",
          hostname: "localhost",
          database: "«a»_dev",
          show_sensitive_data_on_connection_error: true,
          pool_size: 10

        config :«a», «A»Web.Endpoint,
          http: [ip: {127, 0, 0, 1}, port: 4000],
          check_origin: false,
          code_reloader: true,
          debug_errors: true,
          secret_key_base: System.get_env("SECRET_KEY_BASE", "dev-only-secret-key-base-change-me")
        """, a=a, A=a.capitalize()), "exs-dev-defaults")

    reg(F, "properties", "src/main/resources/messages.properties", T("""
        login.title=Sign in
        login.username=User name
        login.password=Password
        login.password.forgot=Forgot your password?
        login.error.badCredentials=Invalid user name or password.
        account.apiKey.label=API key
        account.apiKey.hint=Create an API key in the developer console.
        account.token.expired=Your session token has expired. Please sign in again.
        reset.secretQuestion=Secret question
        reset.password.policy=At least 12 characters, including a digit and a symbol.
        """), "messages-props")

    reg(F, "yaml", "config/uuids.yml", T("""
        # stable identifiers for seeded tenants and feature flags
        tenants:
          default: «u1»
          demo: «u2»
          internal: «u3»
        flags:
          new_checkout: «u4»
          dark_mode: «u5»
        correlation_header: X-Request-Id
        trace_id_example: «trace»
        """, u1=uid(), u2=uid(), u3=uid(), u4=uid(), u5=uid(), trace=hexs(32)), "uuids")

    reg(F, "appsettings-json", "src/Web/appsettings.json", T("""
        {
          "ConnectionStrings": {
            "Default": ""
          },
          "Jwt": {
            "Issuer": "https://auth.«o».com",
            "Audience": "«a»",
            "SigningKey": ""
          },
          "KeyVault": {
            "Uri": "https://kv-«a»-prod.vault.azure.net/"
          },
          "Smtp": { "Host": "smtp.«o».com", "User": "", "Password": "" }
        }
        """, o=o, a=a), "appsettings-empty")


# =================================================================== assembly + self-check
KEYSTORE_FORMATS = {"jks", "p12", "pfx", "keystore"}
JSON_FORMATS = {"json", "postman-collection", "postman-environment", "jupyter", "har", "docker-config-json",
                "gcp-service-account-json", "local-settings-json", "appsettings-json", "vscode-settings-json"}


def build():
    for fam in (fam_provider_token, fam_private_key, fam_cloud, fam_credfiles, fam_cmdline, fam_connstr,
                fam_http, fam_webhooks, fam_generic, fam_keyfiles, fam_public, fam_nonsecrets):
        fam()
    order = list(range(len(FILES)))
    random.Random(SEED + 1).shuffle(order)
    records, problems = [], []
    for n, idx in enumerate(order, 1):
        f = FILES[idx]
        rid = "f%04d-%s" % (n, f["short"])
        if "bin" in f:
            data = f["bin"]
            labels = [{"line": 0, "what": f["secret_what"]}] if f["secret_what"] else []
            try:
                data.decode("utf-8")
                problems.append(rid + ": binary file decodes as UTF-8")
            except UnicodeDecodeError:
                pass
        else:
            text, labels = finalize(f["text"])
            if not text.endswith("\n"):
                text += "\n"
            data = text.encode("utf-8")
            lines = text.split("\n")
            for lab in labels:
                ln = lab["line"]
                if ln < 1 or ln > len(lines) or not lines[ln - 1].strip():
                    problems.append("%s: label on missing/blank line %d" % (rid, ln))
            if len({lab["line"] for lab in labels}) != len(labels):
                problems.append(rid + ": two labels on one line")
            if MARK_OPEN in text or MARK_CLOSE in text or "\u00ab" in text:
                problems.append(rid + ": leftover marker")
            if f["format"] in JSON_FORMATS:
                try:
                    json.loads(text)
                except ValueError as e:
                    problems.append("%s: invalid JSON (%s)" % (rid, e))
        for lab in labels:
            if lab["line"] == 0 and f["format"] not in KEYSTORE_FORMATS:
                problems.append(rid + ": line-0 label on a non-keystore file")
        records.append({"id": rid, "family": f["family"], "format": f["format"], "path": f["path"],
                        "text_b64": base64.b64encode(data).decode(), "secrets": labels,
                        "_nlines": None if "bin" in f else data.decode().count("\n")})
    ids = [r["id"] for r in records]
    if len(set(ids)) != len(ids):
        problems.append("duplicate ids")
    return records, problems


def summary(records):
    fam = {}
    for r in records:
        d = fam.setdefault(r["family"], [0, 0, 0])
        d[0 if r["secrets"] else 1] += 1
        d[2] += len(r["secrets"])
    out = ["family                 pos  neg  labels"]
    for k in sorted(fam):
        out.append("%-22s %4d %4d %6d" % (k, *fam[k]))
    pos = sum(1 for r in records if r["secrets"])
    out.append("files %d, with secrets %d (%.0f%%), labels %d, formats %d" % (
        len(records), pos, 100.0 * pos / len(records), sum(len(r["secrets"]) for r in records),
        len({r["format"] for r in records})))
    odd = [(r["id"], r["_nlines"]) for r in records if r["_nlines"] is not None and not 10 <= r["_nlines"] <= 80]
    out.append("text files outside 10-80 lines: %d %s" % (len(odd), odd))
    return "\n".join(out)


def main():
    records, problems = build()
    print(summary(records), file=sys.stderr)
    if problems:
        print("SELF-CHECK FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print("self-check ok", file=sys.stderr)
    if "--check" in sys.argv:
        return
    for r in records:
        r.pop("_nlines")
        sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
