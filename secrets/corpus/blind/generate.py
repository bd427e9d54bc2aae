#!/usr/bin/env python3
"""Blind, labelled secret-detection corpus for pushguard.

Written independently of pushguard's rules, tests and other corpora, from the
token formats' own documentation and from the shape of real-world config files.
Deterministic: fixed seed, python3 stdlib only.  Prints JSON lines to stdout.

    python3 generate.py > blind.jsonl

Every value below comes from the seeded RNG; none is a real credential.
NEVER tune a detector against this corpus: it exists to measure, not to train.
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

SEED = 0x5EC7B11D
R = random.Random(SEED)

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # 0-9A-Za-z
ALNUM = string.ascii_letters + string.digits
B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
B64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
HEX = "0123456789abcdef"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


# ---------------------------------------------------------------- primitives
def rs(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


def b62(n):
    return rs(B62, n)


def hx(n):
    return rs(HEX, n)


def HX(n):
    return rs("0123456789ABCDEF", n)


def b64url(n):
    return rs(B64URL, n)


def digits(n):
    return str(R.randint(1, 9)) + rs(string.digits, n - 1)


def rbytes(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def b64bytes(n):
    return base64.b64encode(rbytes(n)).decode()


def uid():
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def password(kind=None):
    kind = kind or R.choice(["strong", "strong", "human", "long"])
    if kind == "strong":
        body = rs(ALNUM, R.randint(12, 18))
        pos = R.randrange(len(body))
        return body[:pos] + R.choice("!#%*-_.@") + body[pos:]
    if kind == "long":
        return rs(ALNUM, R.randint(24, 32))
    words = ["Harbor", "Falcon", "Copper", "Maple", "Orbit", "Quartz", "Tundra",
             "Violet", "Nimbus", "Saffron", "Granite", "Juniper", "Meadow"]
    return R.choice(words) + R.choice(words).lower() + str(R.randint(10, 99)) + R.choice("!#$%&*")


def urlsafe_password():
    body = rs(ALNUM, R.randint(14, 20))
    return body


def crc_b62(s, width=6):
    n = zlib.crc32(s.encode()) & 0xFFFFFFFF
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


# ---------------------------------------------------------------- token formats
def gh_token(prefix="ghp_"):
    body = b62(30)
    return prefix + body + crc_b62(body)


def gh_fine():
    return "github_pat_" + b62(22) + "_" + b62(59)


def npm_token():
    body = b62(30)
    return "npm_" + body + crc_b62(body)


def glpat():
    return "glpat-" + rs(ALNUM + "-_", 20)


def slack_bot():
    return "xoxb-%s-%s-%s" % (digits(12), digits(13), b62(24))


def slack_user():
    return "xoxp-%s-%s-%s-%s" % (digits(12), digits(12), digits(13), hx(32))


def stripe(prefix="sk_live_"):
    return prefix + "51" + b62(97)


def openai_proj():
    return "sk-proj-" + b64url(74) + "T3BlbkFJ" + b64url(74)


def anthropic():
    return "sk-ant-api03-" + b64url(93) + "AA"


def sendgrid():
    return "SG." + b64url(22) + "." + b64url(43)


def google_api():
    return "AIza" + rs(ALNUM + "-_", 35)


def twilio_sid(p="AC"):
    return p + hx(32)


def shopify(p="shpat_"):
    return p + hx(32)


def mailgun():
    return hx(32) + "-" + hx(8) + "-" + hx(8)


def hf_token():
    return "hf_" + rs(string.ascii_letters, 34)


def do_token():
    return "dop_v1_" + hx(64)


def doppler(env="prd"):
    return "dp.st.%s.%s" % (env, b62(43))


def vault_token(long=False):
    if long:
        return "hvs.CAESI" + b64url(18) + "Gh4KHGh2cy4" + b62(24)
    return "hvs." + b62(24)


def pypi_token():
    return "pypi-AgEIcHlwaS5vcmc" + b64url(R.choice([140, 152, 164]))


def databricks():
    return "dapi" + hx(32)


def sentry_user():
    return "sntryu_" + hx(64)


def sentry_org(org):
    payload = json.dumps({"iat": R.randint(1690000000, 1730000000), "url": "https://sentry.io",
                          "region_url": "https://us.sentry.io", "org": org}, separators=(",", ":"))
    return "sntrys_" + base64.b64encode(payload.encode()).decode().rstrip("=") + "_" + rs(ALNUM + "+/", 43)


def postman():
    return "PMAK-" + hx(24) + "-" + hx(34)


def aws_akid(p="AKIA"):
    return p + rs(B32, 16)


def aws_secret():
    s = rs(ALNUM + "/+", 40)
    return s


def aws_session():
    return "IQoJb3JpZ2luX2VjE" + rs(ALNUM + "/+", R.choice([380, 412, 444])) + "="


def azure_storage_key():
    return b64bytes(64)


def azure_client_secret():
    return rs(ALNUM, 3) + str(R.randint(0, 9)) + "Q~" + rs(ALNUM + "_.~-", 34)


def discord_webhook():
    return "https://discord.com/api/webhooks/%s/%s" % (digits(19), b64url(68))


def discord_bot():
    uidn = digits(19)
    return base64.b64encode(uidn.encode()).decode().rstrip("=") + "." + b64url(6) + "." + b64url(38)


def telegram_bot():
    return "%s:AA%s" % (digits(10), b64url(33))


def slack_webhook():
    return "https://hooks.slack.com/services/T%s/B%s/%s" % (
        rs(string.ascii_uppercase + string.digits, 8), rs(string.ascii_uppercase + string.digits, 10), b62(24))


def teams_webhook(tenant="contoso"):
    return "https://%s.webhook.office.com/webhookb2/%s@%s/IncomingWebhook/%s/%s/V2%s" % (
        tenant, uid(), uid(), hx(32), uid(), b64url(45))


def django_key():
    return rs("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50)


def wp_salt():
    return rs(ALNUM + "!@#%^&*()-_[]{}<>~+=,.;:/?|", 64)


def jwt_like():
    h = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    p = base64.urlsafe_b64encode(json.dumps(
        {"sub": uid(), "iat": R.randint(1690000000, 1730000000), "scope": "api:write"},
        separators=(",", ":")).encode()).decode().rstrip("=")
    return h + "." + p + "." + b64url(43)


# ---------------------------------------------------------------- PEM material
def wrap64(s):
    return "\n".join(s[i:i + 64] for i in range(0, len(s), 64))


KEY_PREFIX = {
    "RSA PRIVATE KEY": ("MIIEowIBAAKCAQEA", 1190),
    "PRIVATE KEY": ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ", 1216),
    "EC PRIVATE KEY": ("MHcCAQEEI", 112),
    "DSA PRIVATE KEY": ("MIIBuwIBAAKBgQD", 592),
    "OPENSSH PRIVATE KEY": ("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
                            "QyNTUxOQAAACA", 400),
    "ENCRYPTED PRIVATE KEY": ("MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI", 1280),
    "CERTIFICATE": ("MIIDdzCCAl+gAwIBAgIU", 1240),
    "PUBLIC KEY": ("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", 392),
    "RSA PUBLIC KEY": ("MIIBCgKCAQEA", 360),
    "CERTIFICATE REQUEST": ("MIICijCCAXICAQAwRTELMAkGA1UEBhMCQVUx", 1040),
    "X509 CRL": ("MIIBzjCBtwIBATANBgkqhkiG9w0BAQsFADBF", 560),
}


def pem(kind, extra_headers=""):
    prefix, total = KEY_PREFIX[kind]
    total -= total % 4
    body = prefix + rs(ALNUM + "+/", total - len(prefix))
    if kind in ("EC PRIVATE KEY",):
        body = body[:-2] + "=="
    return "-----BEGIN %s-----\n%s%s\n-----END %s-----" % (kind, extra_headers, wrap64(body), kind)


def pgp_block(private):
    kind = "PGP PRIVATE KEY BLOCK" if private else "PGP PUBLIC KEY BLOCK"
    start = "lQVYBG" if private else "mQINBG"
    body = start + rs(ALNUM + "+/", 1500 if private else 1100)
    crc = "=" + rs(ALNUM + "+/", 4)
    return "-----BEGIN %s-----\n\n%s\n%s\n-----END %s-----" % (kind, wrap64(body), crc, kind)


def ssh_pub(kind="ssh-ed25519", comment="deploy@ci"):
    if kind == "ssh-ed25519":
        return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + rs(ALNUM + "+/", 43) + " " + comment
    if kind == "ecdsa-sha2-nistp256":
        return "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB" + rs(ALNUM + "+/", 87) + "= " + comment
    return "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + rs(ALNUM + "+/", 510) + "= " + comment


# ---------------------------------------------------------------- case assembly
_PENDING = []
CASES = []
MARK = re.compile("\x01(\\d+)\x02")


def S(value, what):
    """Mark a secret value; its line is computed when the case is added."""
    _PENDING.append(what)
    return "\x01%d\x02%s" % (len(_PENDING) - 1, value)


def T(tmpl, **kw):
    """Dedent a template and substitute «name» placeholders."""
    out = textwrap.dedent(tmpl).lstrip("\n")
    for k, v in kw.items():
        out = out.replace("«%s»" % k, str(v))
    left = re.findall("«[a-z0-9_]+»", out)
    if left:
        raise SystemExit("unfilled placeholder %s" % left)
    return out


def add(family, fmt, path, text, short):
    labels = {}
    while True:
        m = MARK.search(text)
        if not m:
            break
        line = text.count("\n", 0, m.start()) + 1
        what = _PENDING[int(m.group(1))]
        labels.setdefault(line, []).append(what)
        text = text[:m.start()] + text[m.end():]
    secrets = [{"line": ln, "what": "; ".join(w)} for ln, w in sorted(labels.items())]
    CASES.append({"family": family, "format": fmt, "path": path,
                  "data": text.encode("utf-8"), "secrets": secrets, "short": short, "binary": False})


def add_bin(family, fmt, path, data, short, what=None):
    secrets = [{"line": 0, "what": what}] if what else []
    CASES.append({"family": family, "format": fmt, "path": path, "data": data,
                  "secrets": secrets, "short": short, "binary": True})


# =====================================================================
# provider-token
# =====================================================================
def provider_tokens():
    F = "provider-token"
    add(F, "github-actions", ".github/workflows/release.yml", T("""
        name: release
        on:
          push:
            tags: ["v*"]
        permissions:
          contents: write
        jobs:
          publish:
            runs-on: ubuntu-latest
            env:
              GH_TOKEN: «tok»
              GO_VERSION: "1.22"
            steps:
              - uses: actions/checkout@v4
                with:
                  fetch-depth: 0
              - uses: actions/setup-go@v5
                with:
                  go-version: ${{ env.GO_VERSION }}
              - name: goreleaser
                uses: goreleaser/goreleaser-action@v6
                with:
                  version: latest
                  args: release --clean
        """, tok=S(gh_token(), "GitHub classic PAT")), "gh-actions-ghp")

    add(F, "python", "scripts/sync_issues.py", T('''
        #!/usr/bin/env python3
        """Mirror open issues from the upstream repo into our tracker."""
        import logging
        import sys

        import requests

        log = logging.getLogger("sync")
        API = "https://api.github.com"
        REPO = "acme-platform/billing-service"
        TOKEN = "«tok»"


        def fetch_issues(state="open"):
            headers = {"Authorization": f"Bearer {TOKEN}",
                       "Accept": "application/vnd.github+json",
                       "X-GitHub-Api-Version": "2022-11-28"}
            page, out = 1, []
            while True:
                r = requests.get(f"{API}/repos/{REPO}/issues", headers=headers,
                                 params={"state": state, "per_page": 100, "page": page}, timeout=30)
                r.raise_for_status()
                batch = r.json()
                if not batch:
                    return out
                out.extend(batch)
                page += 1


        if __name__ == "__main__":
            logging.basicConfig(level=logging.INFO)
            issues = fetch_issues()
            log.info("fetched %d issues", len(issues))
            sys.exit(0)
        ''', tok=S(gh_fine(), "GitHub fine-grained PAT")), "py-github-pat")

    add(F, "gitlab-ci", ".gitlab-ci.yml", T("""
        stages:
          - build
          - release

        variables:
          DOCKER_DRIVER: overlay2
          GITLAB_API_TOKEN: «tok»
          CHART_DIR: deploy/chart

        build:
          stage: build
          image: golang:1.22
          script:
            - go build -o bin/app ./cmd/app
          artifacts:
            paths: [bin/]

        release:
          stage: release
          image: registry.gitlab.com/gitlab-org/release-cli:latest
          rules:
            - if: $CI_COMMIT_TAG
          script:
            - >
              curl --fail --header "PRIVATE-TOKEN: ${GITLAB_API_TOKEN}"
              --upload-file bin/app
              "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages/generic/app/${CI_COMMIT_TAG}/app"
        """, tok=S(glpat(), "GitLab personal access token")), "gitlab-glpat")

    add(F, "javascript", "src/config/slack.js", T("""
        'use strict';

        const { App, LogLevel } = require('@slack/bolt');

        const config = {
          channel: process.env.SLACK_CHANNEL || '#deploys',
          botToken: '«tok»',
          signingSecret: process.env.SLACK_SIGNING_SECRET,
          logLevel: LogLevel.INFO,
        };

        function createApp() {
          return new App({
            token: config.botToken,
            signingSecret: config.signingSecret,
            logLevel: config.logLevel,
          });
        }

        module.exports = { config, createApp };
        """, tok=S(slack_bot(), "Slack bot token")), "js-slack-xoxb")

    add(F, "ruby", "lib/tasks/notify.rake", T("""
        require 'slack-ruby-client'

        namespace :notify do
          desc 'Post the nightly report to #ops'
          task nightly: :environment do
            Slack.configure do |config|
              config.token = '«tok»'
            end
            client = Slack::Web::Client.new
            report = NightlyReport.build(Date.yesterday)
            client.chat_postMessage(channel: '#ops', text: report.summary, as_user: true)
            Rails.logger.info("posted nightly report for #{Date.yesterday}")
          end
        end
        """, tok=S(slack_user(), "Slack user token")), "rake-slack-xoxp")

    add(F, "dotenv", ".env", T("""
        APP_NAME=Storefront
        APP_ENV=production
        APP_DEBUG=false
        APP_URL=https://shop.example-store.io

        LOG_CHANNEL=stack
        LOG_LEVEL=warning

        DB_CONNECTION=mysql
        DB_HOST=127.0.0.1
        DB_PORT=3306
        DB_DATABASE=storefront
        DB_USERNAME=storefront

        CACHE_DRIVER=redis
        QUEUE_CONNECTION=redis
        SESSION_DRIVER=redis

        STRIPE_KEY=«pk»
        STRIPE_SECRET=«sk»
        STRIPE_WEBHOOK_TOLERANCE=300
        """, pk=stripe("pk_live_"), sk=S(stripe("sk_live_"), "Stripe live secret key")), "laravel-env-stripe")

    add(F, "go", "internal/billing/stripe.go", T("""
        package billing

        import (
        	"context"
        	"fmt"

        	"github.com/stripe/stripe-go/v76"
        	"github.com/stripe/stripe-go/v76/refund"
        )

        // restricted key with refunds:write only
        const refundKey = "«rk»"

        type Refunder struct{}

        func (Refunder) Refund(ctx context.Context, chargeID string, amount int64) (string, error) {
        	stripe.Key = refundKey
        	params := &stripe.RefundParams{
        		Charge: stripe.String(chargeID),
        		Amount: stripe.Int64(amount),
        	}
        	params.Context = ctx
        	r, err := refund.New(params)
        	if err != nil {
        		return "", fmt.Errorf("refund %s: %w", chargeID, err)
        	}
        	return r.ID, nil
        }
        """, rk=S(stripe("rk_live_"), "Stripe restricted key")), "go-stripe-rk")

    nb_key = openai_proj()
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Summarise support tickets\n", "\n", "Quick experiment with the chat API."]},
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": ["import pandas as pd\n", "from openai import OpenAI\n"]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
             "source": ["client = OpenAI(api_key=\"@@KEY@@\")\n", "df = pd.read_csv('tickets.csv')\n", "df.head()"]},
            {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
             "source": ["def summarise(text):\n", "    r = client.chat.completions.create(model='gpt-4o-mini',\n",
                        "        messages=[{'role': 'user', 'content': 'Summarise: ' + text}])\n",
                        "    return r.choices[0].message.content\n"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python", "version": "3.11.6"}},
        "nbformat": 4, "nbformat_minor": 5}
    txt = json.dumps(nb, indent=1).replace("@@KEY@@", S(nb_key, "OpenAI project key"))
    add(F, "ipynb", "notebooks/ticket_summaries.ipynb", txt + "\n", "ipynb-openai")

    add(F, "typescript", "src/lib/llm.ts", T("""
        import Anthropic from "@anthropic-ai/sdk";

        const anthropic = new Anthropic({
          apiKey: "«key»",
          maxRetries: 3,
        });

        export interface Draft {
          subject: string;
          body: string;
        }

        export async function draftReply(ticket: string): Promise<Draft> {
          const msg = await anthropic.messages.create({
            model: "claude-3-5-sonnet-latest",
            max_tokens: 1024,
            messages: [{ role: "user", content: `Draft a polite reply to:\\n${ticket}` }],
          });
          const text = msg.content.map((b) => ("text" in b ? b.text : "")).join("");
          const [subject, ...rest] = text.split("\\n");
          return { subject, body: rest.join("\\n").trim() };
        }
        """, key=S(anthropic(), "Anthropic API key")), "ts-anthropic")

    add(F, "bash", "scripts/publish.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail

        cd "$(dirname "$0")/.."

        VERSION=$(node -p "require('./package.json').version")
        echo "publishing @acme/ui-kit@${VERSION}"

        npm ci
        npm run build
        npm test -- --ci

        echo "//registry.npmjs.org/:_authToken=«tok»" > .npmrc.publish
        npm publish --access public --userconfig .npmrc.publish
        rm -f .npmrc.publish

        git tag "v${VERSION}"
        git push origin "v${VERSION}"
        """, tok=S(npm_token(), "npm automation token")), "sh-npm-token")

    add(F, "python", "shop/settings/production.py", T("""
        from .base import *  # noqa

        DEBUG = False
        ALLOWED_HOSTS = ["shop.example-store.io", "www.example-store.io"]

        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        EMAIL_HOST = "smtp.sendgrid.net"
        EMAIL_PORT = 587
        EMAIL_USE_TLS = True
        EMAIL_HOST_USER = "apikey"
        EMAIL_HOST_PASSWORD = "«sg»"
        DEFAULT_FROM_EMAIL = "Example Store <orders@example-store.io>"

        SECURE_HSTS_SECONDS = 31536000
        SECURE_SSL_REDIRECT = True
        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True

        LOGGING["root"]["level"] = "WARNING"  # noqa: F405
        """, sg=S(sendgrid(), "SendGrid API key")), "django-sendgrid")

    add(F, "python", "geo/services/geocode.py", T('''
        """Server-side geocoding used by the address importer (not shipped to browsers)."""
        from functools import lru_cache

        import httpx

        GEOCODE_URL = "https://maps.googleapis.com/maps/api/geocode/json"
        GOOGLE_MAPS_SERVER_KEY = "«key»"


        @lru_cache(maxsize=4096)
        def geocode(address: str):
            resp = httpx.get(GEOCODE_URL, params={"address": address, "key": GOOGLE_MAPS_SERVER_KEY}, timeout=10)
            resp.raise_for_status()
            body = resp.json()
            if body["status"] != "OK":
                return None
            loc = body["results"][0]["geometry"]["location"]
            return loc["lat"], loc["lng"]
        ''', key=S(google_api(), "Google Maps API key (server-side)")), "py-google-server")

    add(F, "csharp", "src/Notifier/Program.cs", T("""
        using System;
        using Twilio;
        using Twilio.Rest.Api.V2010.Account;
        using Twilio.Types;

        namespace Notifier
        {
            internal static class Program
            {
                private const string AccountSid = "«sid»";
                private const string AuthToken = "«tok»";

                private static int Main(string[] args)
                {
                    if (args.Length < 2)
                    {
                        Console.Error.WriteLine("usage: notifier <to> <message>");
                        return 2;
                    }
                    TwilioClient.Init(AccountSid, AuthToken);
                    var message = MessageResource.Create(
                        body: args[1],
                        from: new PhoneNumber("+15017122661"),
                        to: new PhoneNumber(args[0]));
                    Console.WriteLine(message.Sid);
                    return 0;
                }
            }
        }
        """, sid=twilio_sid("AC"), tok=S(hx(32), "Twilio auth token")), "cs-twilio")

    add(F, "ruby", "config/initializers/shopify_app.rb", T("""
        ShopifyApp.configure do |config|
          config.application_name = "Inventory Sync"
          config.old_secret = ""
          config.scope = "read_products,write_inventory"
          config.embedded_app = true
          config.after_authenticate_job = false
          config.api_version = "2024-01"
          config.shop_session_repository = 'Shop'
          config.reauth_on_access_scope_changes = true
        end

        # admin API access for the back-office sync worker
        SHOPIFY_ADMIN_TOKEN = "«tok»"
        SHOPIFY_SHOP_DOMAIN = "acme-outfitters.myshopify.com"
        """, tok=S(shopify("shpat_"), "Shopify admin API access token")), "rb-shopify")

    add(F, "php", "config/services.php", T("""
        <?php

        return [

            'mailgun' => [
                'domain' => 'mg.example-store.io',
                'secret' => '«mg»',
                'endpoint' => 'api.eu.mailgun.net',
                'scheme' => 'https',
            ],

            'postmark' => [
                'token' => env('POSTMARK_TOKEN'),
            ],

            'ses' => [
                'key' => env('AWS_ACCESS_KEY_ID'),
                'secret' => env('AWS_SECRET_ACCESS_KEY'),
                'region' => env('AWS_DEFAULT_REGION', 'us-east-1'),
            ],

        ];
        """, mg=S(mailgun(), "Mailgun API key")), "php-mailgun")

    add(F, "dockerfile", "inference/Dockerfile", T("""
        FROM python:3.11-slim

        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PYTHONUNBUFFERED=1 \\
            HF_HOME=/models \\
            HF_TOKEN=«tok»

        RUN apt-get update && apt-get install -y --no-install-recommends git \\
            && rm -rf /var/lib/apt/lists/*

        WORKDIR /app
        COPY requirements.txt .
        RUN pip install --no-cache-dir -r requirements.txt
        RUN python -c "from huggingface_hub import snapshot_download; snapshot_download('acme/intent-classifier')"

        COPY . .
        EXPOSE 8080
        CMD ["uvicorn", "server:app", "--host", "0.0.0.0", "--port", "8080"]
        """, tok=S(hf_token(), "Hugging Face token")), "dockerfile-hf")

    add(F, "terraform", "infra/do/main.tf", T("""
        terraform {
          required_providers {
            digitalocean = {
              source  = "digitalocean/digitalocean"
              version = "~> 2.34"
            }
          }
        }

        provider "digitalocean" {
          token = "«tok»"
        }

        resource "digitalocean_droplet" "web" {
          count    = 2
          image    = "ubuntu-22-04-x64"
          name     = "web-${count.index}"
          region   = "fra1"
          size     = "s-2vcpu-4gb"
          ssh_keys = [data.digitalocean_ssh_key.ops.id]
        }

        data "digitalocean_ssh_key" "ops" {
          name = "ops"
        }
        """, tok=S(do_token(), "DigitalOcean personal access token")), "tf-digitalocean")

    add(F, "docker-compose", "docker-compose.yml", T("""
        version: "3.9"

        services:
          api:
            image: ghcr.io/acme/orders-api:1.14.2
            command: ["doppler", "run", "--", "node", "dist/server.js"]
            environment:
              DOPPLER_TOKEN: «tok»
              NODE_ENV: production
              PORT: "3000"
            ports:
              - "3000:3000"
            depends_on:
              - redis
            restart: unless-stopped

          redis:
            image: redis:7-alpine
            volumes:
              - redis-data:/data

        volumes:
          redis-data:
        """, tok=S(doppler("prd"), "Doppler service token")), "compose-doppler")

    add(F, "jenkinsfile", "Jenkinsfile", T("""
        pipeline {
            agent { label 'linux' }
            environment {
                VAULT_ADDR  = 'https://vault.internal.acme.io:8200'
                VAULT_TOKEN = '«tok»'
                APP         = 'ledger'
            }
            stages {
                stage('Fetch config') {
                    steps {
                        sh 'vault kv get -format=json secret/${APP}/prod > config.json'
                    }
                }
                stage('Build') {
                    steps {
                        sh './gradlew clean build -x test'
                    }
                }
                stage('Deploy') {
                    when { branch 'main' }
                    steps {
                        sh './scripts/deploy.sh prod'
                    }
                }
            }
            post {
                always { cleanWs() }
            }
        }
        """, tok=S(vault_token(long=True), "HashiCorp Vault token")), "jenkins-vault")

    add(F, "github-actions", ".github/workflows/pypi.yml", T("""
        name: Upload Python Package

        on:
          release:
            types: [published]

        jobs:
          deploy:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-python@v5
                with:
                  python-version: "3.x"
              - name: Build
                run: |
                  python -m pip install --upgrade build
                  python -m build
              - name: Publish package
                uses: pypa/gh-action-pypi-publish@release/v1
                with:
                  user: __token__
                  password: «tok»
        """, tok=S(pypi_token(), "PyPI API token")), "gh-actions-pypi")

    add(F, "ini", "ops/.databrickscfg", T("""
        ; Databricks CLI profiles used by the nightly ETL runner
        [DEFAULT]
        host  = https://adb-4417281912345678.9.azuredatabricks.net
        token = «t1»

        [staging]
        host  = https://adb-7781203345512098.18.azuredatabricks.net
        token = «t2»
        jobs-api-version = 2.1
        """, t1=S(databricks(), "Databricks PAT"), t2=S(databricks(), "Databricks PAT")), "databrickscfg")

    add(F, "properties", "android/sentry.properties", T("""
        defaults.url=https://sentry.io/
        defaults.org=acme-mobile
        defaults.project=android-app
        auth.token=«tok»
        cli.executable=node_modules/@sentry/cli/bin/sentry-cli
        """, tok=S(sentry_org("acme-mobile"), "Sentry organization auth token")), "sentry-properties")

    add(F, "circleci", ".circleci/config.yml", T("""
        version: 2.1

        orbs:
          node: circleci/node@5.2.0

        jobs:
          build-and-upload:
            docker:
              - image: cimg/node:20.11
            environment:
              SENTRY_ORG: acme
              SENTRY_PROJECT: web
              SENTRY_AUTH_TOKEN: «tok»
            steps:
              - checkout
              - node/install-packages:
                  pkg-manager: yarn
              - run: yarn build
              - run:
                  name: Upload source maps
                  command: npx @sentry/cli sourcemaps upload --release "$CIRCLE_SHA1" dist

        workflows:
          main:
            jobs:
              - build-and-upload:
                  filters:
                    branches:
                      only: main
        """, tok=S(sentry_user(), "Sentry user auth token")), "circleci-sentry")

    add(F, "makefile", "Makefile", T("""
        SHELL := /bin/bash
        COLLECTION_ID := 18812345-2f1c9a4e-7d3b-4c55-9a61-0e4b8f3c2d1a
        POSTMAN_API_KEY := «tok»

        .PHONY: test lint api-test clean

        test:
        	go test ./... -race -count=1

        lint:
        	golangci-lint run ./...

        api-test:
        	newman run "https://api.getpostman.com/collections/$(COLLECTION_ID)?apikey=$(POSTMAN_API_KEY)" \\
        		--environment env/staging.json --reporters cli,junit

        clean:
        	rm -rf bin/ coverage.out
        """, tok=S(postman(), "Postman API key")), "makefile-postman")

    add(F, "helm-values", "deploy/charts/renovate/values.yaml", T("""
        image:
          repository: ghcr.io/renovatebot/renovate
          tag: 37.140.0
          pullPolicy: IfNotPresent

        cronjob:
          schedule: "0 */2 * * *"
          concurrencyPolicy: Forbid

        renovate:
          config: |
            {
              "platform": "github",
              "autodiscover": true,
              "autodiscoverFilter": ["acme-platform/*"]
            }

        secrets:
          RENOVATE_TOKEN: «tok»

        resources:
          requests:
            cpu: 500m
            memory: 1Gi
        """, tok=S(gh_token("ghp_"), "GitHub classic PAT")), "helm-renovate-ghp")

    add(F, "markdown", "docs/model-download.md", T("""
        # Downloading the fine-tuned model

        The weights live in a private repo on the Hub. On a fresh GPU box:

        ```bash
        pip install -U "huggingface_hub[cli]"
        huggingface-cli login --token «tok»
        huggingface-cli download acme/support-intent-v3 --local-dir /models/intent
        ```

        Then point the server at it:

        ```bash
        MODEL_DIR=/models/intent uvicorn server:app --port 8080
        ```

        ## Troubleshooting

        * `401 Unauthorized` – your account is not in the `acme` org.
        * Out of disk – the model needs about 14 GB.
        """, tok=S(hf_token(), "Hugging Face token")), "md-hf-login")

    add(F, "kubernetes", "k8s/chatops/configmap.yaml", T("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: chatops-config
          namespace: tools
          labels:
            app.kubernetes.io/name: chatops
        data:
          LOG_LEVEL: info
          SLACK_APP_TOKEN: «app»
          SLACK_BOT_TOKEN: «bot»
          DEFAULT_CHANNEL: "#platform-alerts"
        """, app=S("xapp-1-A%s-%s-%s" % (rs(string.ascii_uppercase + string.digits, 10), digits(13), hx(64)), "Slack app-level token"),
        bot=S(slack_bot(), "Slack bot token")), "k8s-cm-slack")

    add(F, "swift", "App/Sources/Payments/PaymentsClient.swift", T("""
        import Foundation

        enum PaymentsConfig {
            static let baseURL = URL(string: "https://api.stripe.com/v1")!
            static let secretKey = "«sk»"
        }

        final class PaymentsClient {
            private let session: URLSession

            init(session: URLSession = .shared) {
                self.session = session
            }

            func createCustomer(email: String) async throws -> Data {
                var req = URLRequest(url: PaymentsConfig.baseURL.appendingPathComponent("customers"))
                req.httpMethod = "POST"
                req.setValue("Bearer \\(PaymentsConfig.secretKey)", forHTTPHeaderField: "Authorization")
                req.httpBody = "email=\\(email)".data(using: .utf8)
                let (data, _) = try await session.data(for: req)
                return data
            }
        }
        """, sk=S(stripe("sk_live_"), "Stripe live secret key")), "swift-stripe")

    add(F, "kotlin", "build.gradle.kts", T("""
        plugins {
            kotlin("jvm") version "1.9.22"
            `maven-publish`
        }

        group = "io.acme.platform"
        version = "2.3.1"

        repositories {
            mavenCentral()
        }

        publishing {
            repositories {
                maven {
                    url = uri("https://gitlab.com/api/v4/projects/41234567/packages/maven")
                    name = "GitLab"
                    credentials(HttpHeaderCredentials::class) {
                        name = "Private-Token"
                        value = "«tok»"
                    }
                    authentication {
                        create("header", HttpHeaderAuthentication::class)
                    }
                }
            }
        }
        """, tok=S(glpat(), "GitLab personal access token")), "gradle-kts-glpat")

    # ---------------- hard negatives
    add(F, "yaml", ".secret-patterns.yml", T("""
        # Patterns our pre-commit hook rejects. Keep in sync with the wiki page.
        patterns:
          - name: github-classic
            regex: 'ghp_[0-9A-Za-z]{36}'
          - name: github-fine-grained
            regex: 'github_pat_[0-9A-Za-z]{22}_[0-9A-Za-z]{59}'
          - name: gitlab
            regex: 'glpat-[0-9A-Za-z_-]{20}'
          - name: slack
            regex: 'xox[baprs]-[0-9A-Za-z-]{10,72}'
          - name: stripe-live
            regex: '(sk|rk)_live_[0-9A-Za-z]{24,99}'
          - name: openai
            regex: 'sk-(proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}'
        allowlist:
          paths:
            - '^docs/'
            - '_test\\.go$'
        """), "neg-pattern-file")

    add(F, "python", "auth/token_kind.py", T('''
        """Classify a pasted credential so the UI can show the right help text."""

        PREFIXES = {
            "ghp_": "GitHub personal access token (classic)",
            "github_pat_": "GitHub fine-grained token",
            "glpat-": "GitLab personal access token",
            "xoxb-": "Slack bot token",
            "xoxp-": "Slack user token",
            "sk_live_": "Stripe secret key",
            "hf_": "Hugging Face token",
            "dop_v1_": "DigitalOcean token",
        }


        def classify(token: str) -> str:
            for prefix, kind in PREFIXES.items():
                if token.startswith(prefix):
                    return kind
            return "unknown"


        def test_classify():
            assert classify("ghp_" + "x" * 36).startswith("GitHub")
            assert classify("glpat-" + "0" * 20) == "GitLab personal access token"
            assert classify("nope") == "unknown"
        '''), "neg-prefix-table")

    add(F, "markdown", "docs/integrations.md", T("""
        # Integrations

        ## Slack

        Create a Slack app, install it to the workspace and copy the **Bot User OAuth
        Token**. It starts with `xoxb-` and looks like `xoxb-123456789012-...`.
        Store it in the `SLACK_BOT_TOKEN` secret; never paste it in an issue.

        ## GitHub

        A fine-grained token (`github_pat_...`) with *Contents: read* is enough.
        In logs the token is shown redacted, e.g. `ghp_************************************`.

        ## Stripe

        Use a restricted key (`rk_live_…`) rather than the full secret key.
        The dashboard only shows the last four characters: `sk_live_…Xy4Q`.

        ## OpenAI

        Project keys look like `sk-proj-…`. Set `OPENAI_API_KEY` in the environment.
        """), "neg-docs-redacted")

    add(F, "yaml", "api/openapi.yaml", T("""
        openapi: 3.0.3
        info:
          title: Payments proxy
          version: 1.4.0
        components:
          securitySchemes:
            stripeKey:
              type: http
              scheme: bearer
              description: A Stripe secret key, e.g. `sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`.
          schemas:
            Credential:
              type: object
              properties:
                token:
                  type: string
                  pattern: '^(ghp|gho|ghs)_[A-Za-z0-9]{36}$'
                  example: ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
                provider:
                  type: string
                  enum: [github, gitlab, stripe]
        paths:
          /v1/charges:
            post:
              security:
                - stripeKey: []
              responses:
                "200":
                  description: ok
        """), "neg-openapi-example")

    add(F, "text", "logs/ci-run-4821.log", T("""
        2024-03-14T09:12:01.331Z [INFO] Checking out acme-platform/billing-service@4f2c1e9
        2024-03-14T09:12:02.004Z [INFO] Using token ghp_****************************** (masked)
        2024-03-14T09:12:02.118Z [INFO] Fetching submodules
        2024-03-14T09:12:05.772Z [WARN] GITLAB_API_TOKEN is not set, skipping mirror push
        2024-03-14T09:12:05.773Z [INFO] npm token: npm_***
        2024-03-14T09:12:19.410Z [INFO] Build finished in 17.3s
        2024-03-14T09:12:19.411Z [INFO] Uploading artifacts (3 files, 18.2 MiB)
        2024-03-14T09:12:22.905Z [INFO] Slack notification sent with token xoxb-***-***-***
        2024-03-14T09:12:22.906Z [INFO] Done.
        2024-03-14T09:12:22.907Z [INFO] Exit code 0
        """), "neg-masked-log")

    add(F, "changelog", "CHANGELOG.md", T("""
        # Changelog

        ## 3.2.0 - 2024-02-01

        ### Added
        - Vault tokens with the new `hvs.` / `hvb.` prefixes are accepted by `vault-login`.
        - Support Doppler service tokens (`dp.st.<env>.<...>`).

        ### Changed
        - The Sentry uploader now reads `SENTRY_AUTH_TOKEN` (`sntrys_` org tokens) instead of
          `SENTRY_API_KEY`.
        - PyPI uploads use API tokens (`pypi-` prefix) with username `__token__`.

        ### Fixed
        - Databricks profiles whose token starts with `dapi` were rejected as "malformed".

        ## 3.1.4 - 2024-01-09

        ### Fixed
        - Crash when `~/.databrickscfg` is missing.
        """), "neg-changelog-prefixes")


# =====================================================================
# private-key
# =====================================================================
def private_keys():
    F = "private-key"
    add(F, "ssh-private-key", "deploy/keys/id_rsa",
        S(pem("RSA PRIVATE KEY"), "RSA private key (PKCS#1)") + "\n", "id-rsa")
    add(F, "ssh-private-key", "ops/bastion/id_ed25519",
        S(pem("OPENSSH PRIVATE KEY"), "OpenSSH private key") + "\n", "id-ed25519")
    add(F, "pem", "nginx/ssl/server.key", S(pem("PRIVATE KEY"), "PKCS#8 private key") + "\n", "server-key")
    add(F, "pem", "certs/signer-p256.pem", T("""
        -----BEGIN EC PARAMETERS-----
        BggqhkjOPQMBBw==
        -----END EC PARAMETERS-----
        «k»
        """, k=S(pem("EC PRIVATE KEY"), "EC private key")), "ec-key")
    add(F, "pem", "legacy/sftp/ssh_host_dsa_key", S(pem("DSA PRIVATE KEY"), "DSA private key") + "\n", "dsa-key")

    key = pem("PRIVATE KEY")
    crt = pem("CERTIFICATE")
    ind = lambda s: "\n".join("    " + l for l in s.splitlines())
    add(F, "kubernetes", "k8s/ingress/tls-secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: shop-tls
          namespace: storefront
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        «crt»
          tls.key: |
        «key»
        """, crt=ind(crt), key="    " + S(ind(key)[4:], "PKCS#8 private key in Secret stringData")),
        "k8s-tls-stringdata")

    k = pem("RSA PRIVATE KEY").replace("\n", "\\n")
    add(F, "json", "config/jwt.json", T("""
        {
          "issuer": "https://auth.acme.io",
          "audience": "acme-api",
          "algorithm": "RS256",
          "accessTokenTtlSeconds": 900,
          "refreshTokenTtlSeconds": 1209600,
          "keyId": "2024-01-rotation",
          "privateKey": "«k»",
          "clockSkewSeconds": 30
        }
        """, k=S(k, "RSA private key, JSON-escaped")), "json-jwt-key")

    add(F, "go", "internal/testutil/certs.go", T("""
        package testutil

        import (
        	"crypto/tls"
        	"testing"
        )

        // staging client identity used by the integration harness
        const clientCertPEM = `«crt»`

        const clientKeyPEM = `«key»`

        func ClientCert(t *testing.T) tls.Certificate {
        	t.Helper()
        	c, err := tls.X509KeyPair([]byte(clientCertPEM), []byte(clientKeyPEM))
        	if err != nil {
        		t.Fatalf("load client cert: %v", err)
        	}
        	return c
        }
        """, crt=pem("CERTIFICATE"), key=S(pem("EC PRIVATE KEY"), "EC private key in Go raw string")), "go-embedded-key")

    add(F, "python", "app/signing.py", T('''
        import base64

        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        _SIGNING_KEY = "«k»"


        def _key():
            return serialization.load_pem_private_key(_SIGNING_KEY.encode(), password=None)


        def sign(payload: bytes) -> str:
            sig = _key().sign(payload, padding.PKCS1v15(), hashes.SHA256())
            return base64.urlsafe_b64encode(sig).decode().rstrip("=")
        ''', k=S(pem("PRIVATE KEY").replace("\n", "\\n"), "PKCS#8 private key, \\n-escaped")), "py-escaped-key")

    add(F, "pgp", "release/signing-key.asc", T("""
        «k»
        """, k=S(pgp_block(True), "PGP private key block")), "pgp-private")

    pub = rs(ALNUM + "+/", 68)
    add(F, "ppk", "tools/putty/deploy.ppk", T("""
        PuTTY-User-Key-File-3: ssh-ed25519
        Encryption: none
        Comment: deploy@build01
        Public-Lines: 2
        AAAAC3NzaC1lZDI1NTE5AAAAI«p1»
        «p2»
        Private-Lines: 1
        AAAAI«priv»
        Private-MAC: «mac»
        """, p1=pub[:43], p2=pub[43:], priv=rs(ALNUM + "+/", 38) + "=", mac=hx(64)).replace(
        "PuTTY-User-Key-File-3", S("PuTTY-User-Key-File-3", "PuTTY private key file (unencrypted)"), 1), "ppk")

    add(F, "yaml", "config/saml.yml", T("""
        saml:
          entity_id: https://app.acme.io/saml/metadata
          acs_url: https://app.acme.io/saml/acs
          idp_metadata_url: https://login.microsoftonline.com/3f5a1c2e-0000-4d9b-9a7e-acme00000001/federationmetadata/2007-06/federationmetadata.xml
          want_assertions_signed: true
          sp_private_key_passphrase: «pp»
          sp_private_key: |
            «k»
        """, pp=S(password("strong"), "passphrase of the encrypted key"),
        k=S(pem("ENCRYPTED PRIVATE KEY").replace("\n", "\n    "), "encrypted PKCS#8 private key with its passphrase beside it")),
        "yaml-encrypted-key")

    add(F, "ansible", "inventories/prod/group_vars/bastion.yml", T("""
        ---
        bastion_user: ops
        bastion_port: 2222
        bastion_allowed_cidrs:
          - 10.20.0.0/16
          - 10.30.0.0/16
        bastion_deploy_key: |
          «k»
        bastion_banner: "Authorised access only"
        """, k=S(pem("OPENSSH PRIVATE KEY").replace("\n", "\n  "), "OpenSSH private key in Ansible vars")),
        "ansible-ssh-key")

    add(F, "terraform", "infra/provision/bootstrap.tf", T("""
        resource "null_resource" "bootstrap" {
          triggers = {
            instance_id = aws_instance.app.id
          }

          connection {
            type        = "ssh"
            host        = aws_instance.app.public_ip
            user        = "ubuntu"
            private_key = <<-EOT
            «k»
            EOT
          }

          provisioner "remote-exec" {
            inline = [
              "sudo apt-get update",
              "sudo apt-get install -y docker.io",
            ]
          }
        }
        """, k=S(pem("RSA PRIVATE KEY").replace("\n", "\n    "), "RSA private key in Terraform heredoc")),
        "tf-heredoc-key")

    # ---------------- hard negatives
    add(F, "go", "cmd/genkey/main.go", T("""
        package main

        import (
        	"crypto/rand"
        	"crypto/rsa"
        	"crypto/x509"
        	"encoding/pem"
        	"flag"
        	"log"
        	"os"
        )

        func main() {
        	out := flag.String("out", "key.pem", "where to write the key")
        	bits := flag.Int("bits", 3072, "key size")
        	flag.Parse()

        	key, err := rsa.GenerateKey(rand.Reader, *bits)
        	if err != nil {
        		log.Fatal(err)
        	}
        	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
        	if err != nil {
        		log.Fatal(err)
        	}
        	defer f.Close()
        	if err := pem.Encode(f, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}); err != nil {
        		log.Fatal(err)
        	}
        }
        """), "neg-genkey-go")

    add(F, "python", "tests/test_keyfile.py", T('''
        import pytest

        from deploy.keys import load_key, KeyFormatError

        OPENSSH_HEADER = b"-----BEGIN OPENSSH PRIVATE KEY-----"
        PKCS1_HEADER = b"-----BEGIN RSA PRIVATE KEY-----"


        def test_rejects_public_key(tmp_path):
            p = tmp_path / "id.pub"
            p.write_text("ssh-ed25519 AAAA... test@example")
            with pytest.raises(KeyFormatError):
                load_key(p)


        def test_detects_header(tmp_path):
            p = tmp_path / "id"
            p.write_bytes(OPENSSH_HEADER + b"\\n...\\n-----END OPENSSH PRIVATE KEY-----\\n")
            with pytest.raises(KeyFormatError, match="truncated"):
                load_key(p)
        '''), "neg-key-header-test")

    add(F, "markdown", "docs/tls.md", T("""
        # TLS for the ingress

        Create the secret from your key and certificate:

        ```yaml
        apiVersion: v1
        kind: Secret
        type: kubernetes.io/tls
        metadata:
          name: shop-tls
        stringData:
          tls.crt: |
            -----BEGIN CERTIFICATE-----
            <your certificate>
            -----END CERTIFICATE-----
          tls.key: |
            -----BEGIN PRIVATE KEY-----
            <your private key>
            -----END PRIVATE KEY-----
        ```

        Or let cert-manager do it (recommended).
        """), "neg-key-placeholder-doc")

    add(F, "gitignore", ".gitignore", T("""
        # build
        /bin/
        /dist/
        *.exe

        # secrets and key material - never commit
        *.pem
        *.key
        *.p12
        *.pfx
        *.jks
        id_rsa
        id_ed25519
        .env
        .env.*
        !.env.example

        # editors
        .idea/
        .vscode/
        *.swp
        """), "neg-gitignore")

    add(F, "ruby", "lib/ssh_key_validator.rb", T("""
        # Validates keys users paste into the "Deploy keys" form.
        class SshKeyValidator < ActiveModel::EachValidator
          PRIVATE_MARKERS = [
            '-----BEGIN RSA PRIVATE KEY-----',
            '-----BEGIN OPENSSH PRIVATE KEY-----',
            '-----BEGIN EC PRIVATE KEY-----',
            'PuTTY-User-Key-File-',
          ].freeze

          def validate_each(record, attribute, value)
            if PRIVATE_MARKERS.any? { |m| value.to_s.include?(m) }
              record.errors.add(attribute, 'looks like a private key; paste the .pub file instead')
            elsif value.to_s !~ /\\A(ssh-(rsa|ed25519)|ecdsa-sha2-nistp\\d+) [A-Za-z0-9+\\/=]+/
              record.errors.add(attribute, 'is not a valid public key')
            end
          end
        end
        """), "neg-key-validator")


# =====================================================================
# cloud-credentials
# =====================================================================
def cloud_credentials():
    F = "cloud-credentials"
    add(F, "aws-credentials", "ci/aws/credentials", T("""
        [default]
        aws_access_key_id = «id1»
        aws_secret_access_key = «sk1»
        region = eu-west-1

        [backup-writer]
        aws_access_key_id = «id2»
        aws_secret_access_key = «sk2»

        [assumed-deploy]
        aws_access_key_id = «id3»
        aws_secret_access_key = «sk3»
        aws_session_token = «st3»
        """, id1=aws_akid(), sk1=S(aws_secret(), "AWS secret access key"),
        id2=aws_akid(), sk2=S(aws_secret(), "AWS secret access key"),
        id3=aws_akid("ASIA"), sk3=S(aws_secret(), "AWS secret access key (temporary)"),
        st3=S(aws_session(), "AWS session token")), "aws-credentials-ini")

    add(F, "csv", "onboarding/svc-reporting_accessKeys.csv", T("""
        Access key ID,Secret access key
        «id»,«sk»
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret access key in console CSV")), "aws-accesskeys-csv")

    add(F, "csv", "onboarding/new_user_credentials.csv", T("""
        User name,Password,Access key ID,Secret access key,Console login link
        etl-runner,«pw»,«id»,«sk»,https://123456789012.signin.aws.amazon.com/console
        """, pw=password("strong"), id=aws_akid(), sk=aws_secret()).replace(
        "etl-runner", S("etl-runner", "AWS console password and secret access key (CSV row)"), 1),
        "aws-newuser-csv")

    add(F, "java", "src/main/java/io/acme/archive/S3Archiver.java", T("""
        package io.acme.archive;

        import com.amazonaws.auth.AWSStaticCredentialsProvider;
        import com.amazonaws.auth.BasicAWSCredentials;
        import com.amazonaws.regions.Regions;
        import com.amazonaws.services.s3.AmazonS3;
        import com.amazonaws.services.s3.AmazonS3ClientBuilder;

        import java.io.File;

        public class S3Archiver {

            private static final String BUCKET = "acme-archive-prod";

            private final AmazonS3 s3;

            public S3Archiver() {
                BasicAWSCredentials creds = new BasicAWSCredentials("«id»", "«sk»");
                this.s3 = AmazonS3ClientBuilder.standard()
                        .withRegion(Regions.EU_CENTRAL_1)
                        .withCredentials(new AWSStaticCredentialsProvider(creds))
                        .build();
            }

            public void archive(File f, String key) {
                s3.putObject(BUCKET, key, f);
            }
        }
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret access key (positional argument)")), "java-aws-positional")

    add(F, "python", "etl/upload.py", T('''
        import os
        import sys

        import boto3

        s3 = boto3.client(
            "s3",
            region_name="us-east-2",
            aws_access_key_id="«id»",
            aws_secret_access_key="«sk»",
        )


        def upload(path, bucket="acme-etl-drop"):
            key = os.path.basename(path)
            s3.upload_file(path, bucket, f"incoming/{key}")
            print(f"uploaded s3://{bucket}/incoming/{key}")


        if __name__ == "__main__":
            for p in sys.argv[1:]:
                upload(p)
        ''', id=aws_akid(), sk=S(aws_secret(), "AWS secret access key")), "py-boto3")

    add(F, "go", "pkg/storage/s3.go", T("""
        package storage

        import (
        	"github.com/aws/aws-sdk-go/aws"
        	"github.com/aws/aws-sdk-go/aws/credentials"
        	"github.com/aws/aws-sdk-go/aws/session"
        	"github.com/aws/aws-sdk-go/service/s3"
        )

        func NewClient(region string) (*s3.S3, error) {
        	sess, err := session.NewSession(&aws.Config{
        		Region:      aws.String(region),
        		Credentials: credentials.NewStaticCredentials("«id»", "«sk»", ""),
        	})
        	if err != nil {
        		return nil, err
        	}
        	return s3.New(sess), nil
        }
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret access key (positional)")), "go-aws-static")

    add(F, "terraform", "infra/aws/providers.tf", T("""
        terraform {
          required_version = ">= 1.5"
          backend "s3" {
            bucket = "acme-tf-state"
            key    = "prod/network.tfstate"
            region = "eu-west-1"
          }
        }

        provider "aws" {
          region     = "eu-west-1"
          access_key = "«id»"
          secret_key = "«sk»"

          default_tags {
            tags = {
              Project   = "network"
              ManagedBy = "terraform"
            }
          }
        }
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret access key")), "tf-aws-provider")

    add(F, "dotenv", "deploy/.env.ci", T("""
        # exported by `aws sts assume-role` for the nightly job
        AWS_REGION=us-west-2
        AWS_ACCESS_KEY_ID=«id»
        AWS_SECRET_ACCESS_KEY=«sk»
        AWS_SESSION_TOKEN=«st»
        TF_VAR_environment=staging
        TF_IN_AUTOMATION=1
        """, id=aws_akid("ASIA"), sk=S(aws_secret(), "AWS secret access key (temporary)"),
        st=S(aws_session(), "AWS session token")), "env-aws-session")

    add(F, "json", "src/Acme.Api/appsettings.Production.json", T("""
        {
          "Logging": {
            "LogLevel": {
              "Default": "Warning",
              "Microsoft.AspNetCore": "Warning"
            }
          },
          "AllowedHosts": "*",
          "Storage": {
            "ConnectionString": "DefaultEndpointsProtocol=https;AccountName=acmeprodassets;AccountKey=«k»;EndpointSuffix=core.windows.net",
            "Container": "uploads"
          },
          "FeatureFlags": {
            "NewCheckout": true
          }
        }
        """, k=S(azure_storage_key(), "Azure storage account key")), "azure-storage-appsettings")

    add(F, "terraform", "infra/azure/provider.tf", T("""
        provider "azurerm" {
          features {}

          subscription_id = "«sub»"
          tenant_id       = "«ten»"
          client_id       = "«cid»"
          client_secret   = "«cs»"
        }

        resource "azurerm_resource_group" "main" {
          name     = "rg-shop-prod"
          location = "westeurope"
        }
        """, sub=uid(), ten=uid(), cid=uid(), cs=S(azure_client_secret(), "Azure AD client secret")), "tf-azure-sp")

    sa_key = pem("PRIVATE KEY").replace("\n", "\\n") + "\\n"
    proj = "acme-data-%d" % R.randint(100000, 999999)
    add(F, "json", "secrets/gcp/deployer-sa.json", T("""
        {
          "type": "service_account",
          "project_id": "«proj»",
          "private_key_id": "«kid»",
          "private_key": "«k»",
          "client_email": "deployer@«proj».iam.gserviceaccount.com",
          "client_id": "«cid»",
          "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token",
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/deployer%40«proj».iam.gserviceaccount.com",
          "universe_domain": "googleapis.com"
        }
        """, proj=proj, kid=hx(40), k=S(sa_key, "GCP service-account private key"), cid=digits(21)), "gcp-sa-json")

    sas = "sv=2022-11-02&ss=b&srt=co&sp=rwdlacitfx&se=2026-01-31T18:00:00Z&st=2024-01-31T10:00:00Z&spr=https&sig=%s" % (
        b64bytes(32).replace("+", "%2B").replace("/", "%2F").replace("=", "%3D"))
    add(F, "powershell", "scripts/Sync-Backups.ps1", T("""
        [CmdletBinding()]
        param(
            [string]$Source = 'D:\\Backups',
            [string]$Container = 'nightly'
        )

        $ErrorActionPreference = 'Stop'
        $account = 'acmebackupstore'
        $sasToken = '?«sas»'

        $dest = "https://$account.blob.core.windows.net/$Container$sasToken"
        Write-Host "Syncing $Source to $account/$Container"
        & azcopy sync $Source $dest --recursive --delete-destination=false
        if ($LASTEXITCODE -ne 0) {
            throw "azcopy failed with $LASTEXITCODE"
        }
        """, sas=S(sas, "Azure SAS token (signed)")), "ps-azure-sas")

    add(F, "rust", "src/aws.rs", T("""
        use aws_config::BehaviorVersion;
        use aws_credential_types::Credentials;
        use aws_sdk_sqs::Client;

        pub async fn sqs_client() -> Client {
            let creds = Credentials::new(
                "«id»",
                "«sk»",
                None,
                None,
                "static",
            );
            let config = aws_config::defaults(BehaviorVersion::latest())
                .region("eu-north-1")
                .credentials_provider(creds)
                .load()
                .await;
            Client::new(&config)
        }
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret access key (positional)")), "rust-aws-creds")

    # ---------------- hard negatives
    add(F, "json", "audit/cloudtrail-event.json", T("""
        {
          "eventVersion": "1.08",
          "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDA«pid»",
            "arn": "arn:aws:iam::123456789012:user/etl-runner",
            "accountId": "123456789012",
            "accessKeyId": "«akid»",
            "userName": "etl-runner"
          },
          "eventTime": "2024-03-02T11:42:17Z",
          "eventSource": "s3.amazonaws.com",
          "eventName": "PutObject",
          "awsRegion": "us-east-2",
          "sourceIPAddress": "203.0.113.24",
          "requestID": "«rid»",
          "eventID": "«eid»"
        }
        """, pid=rs(B32, 17), akid=aws_akid(), rid=HX(16), eid=uid()), "neg-cloudtrail")

    add(F, "terraform", "infra/aws/variables.tf", T("""
        variable "aws_access_key" {
          type      = string
          sensitive = true
        }

        variable "aws_secret_key" {
          type      = string
          sensitive = true
        }

        provider "aws" {
          region     = var.region
          access_key = var.aws_access_key
          secret_key = var.aws_secret_key
        }

        variable "region" {
          type    = string
          default = "eu-west-1"
        }
        """), "neg-tf-vars")

    add(F, "json", "local.settings.json", T("""
        {
          "IsEncrypted": false,
          "Values": {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
            "BlobEmulator": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
            "QueueName": "orders"
          },
          "Host": {
            "LocalHttpPort": 7071,
            "CORS": "*"
          }
        }
        """), "neg-azurite-key")

    add(F, "json", "gcp/wif-credential-config.json", T("""
        {
          "universe_domain": "googleapis.com",
          "type": "external_account",
          "audience": "//iam.googleapis.com/projects/«pn»/locations/global/workloadIdentityPools/github/providers/github-actions",
          "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
          "token_url": "https://sts.googleapis.com/v1/token",
          "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/deployer@acme-data.iam.gserviceaccount.com:generateAccessToken",
          "credential_source": {
            "url": "https://token.actions.githubusercontent.com?audience=https://iam.googleapis.com/projects/«pn»",
            "headers": {
              "Authorization": "bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN"
            },
            "format": {
              "type": "json",
              "subject_token_field_name": "value"
            }
          }
        }
        """, pn=digits(12)), "neg-gcp-wif")

    add(F, "cloudformation", "cfn/database.yaml", T("""
        AWSTemplateFormatVersion: "2010-09-09"
        Description: Orders database
        Resources:
          DBSecret:
            Type: AWS::SecretsManager::Secret
            Properties:
              Name: prod/orders/db
              GenerateSecretString:
                SecretStringTemplate: '{"username": "orders"}'
                GenerateStringKey: password
                PasswordLength: 32
                ExcludeCharacters: '"@/\\'
          Database:
            Type: AWS::RDS::DBInstance
            Properties:
              Engine: postgres
              DBInstanceClass: db.t4g.medium
              AllocatedStorage: "50"
              MasterUsername: "{{resolve:secretsmanager:prod/orders/db:SecretString:username}}"
              MasterUserPassword: "{{resolve:secretsmanager:prod/orders/db:SecretString:password}}"
        """), "neg-cfn-resolve")


# =====================================================================
# credential-files
# =====================================================================
def credential_files():
    F = "credential-files"
    add(F, "netrc", "home/ci/.netrc", T("""
        machine github.com
          login acme-ci-bot
          password «t1»

        machine nexus.internal.acme.io
          login deployer
          password «p2»

        machine api.heroku.com
          login ops@acme.io
          password «p3»
        """, t1=S(gh_token(), "GitHub PAT as netrc password"), p2=S(password(), "netrc password"),
        p3=S(uid(), "Heroku API key (UUID-shaped) as netrc password")), "netrc")

    add(F, "netrc", "tools/windows/_netrc", T("""
        machine artifacts.acme.io login build password «p»
        machine ftp.partner-logistics.com login acme_upload password «p2»
        default login anonymous password guest@
        """, p=S(password(), "netrc password (single-line entry)"), p2=S(password(), "netrc password (single-line entry)")),
        "netrc-windows")

    add(F, "pgpass", "home/dba/.pgpass", T("""
        # hostname:port:database:username:password
        db-primary.internal:5432:orders:orders_app:«p1»
        db-replica.internal:5432:orders:orders_ro:«p2»
        *:5432:*:postgres:«p3»
        """, p1=S(urlsafe_password(), "pgpass password"), p2=S(urlsafe_password(), "pgpass password"),
        p3=S(password("strong"), "pgpass password")), "pgpass")

    add(F, "my-cnf", "home/backup/.my.cnf", T("""
        [client]
        user=backup
        password="«p»"
        host=mysql-01.internal
        port=3306

        [mysqldump]
        single-transaction
        quick
        max_allowed_packet=512M
        """, p=S(password(), "MySQL client password")), "my-cnf")

    add(F, "git-credentials", "home/ci/.git-credentials", T("""
        https://acme-ci-bot:«t1»@github.com
        https://oauth2:«t2»@gitlab.com
        https://jenkins:«p3»@bitbucket.acme.io
        """, t1=S(gh_token(), "GitHub PAT in git-credentials"), t2=S(glpat(), "GitLab PAT in git-credentials"),
        p3=S(urlsafe_password(), "password in git-credentials")), "git-credentials")

    add(F, "pypirc", "home/release/.pypirc", T("""
        [distutils]
        index-servers =
            pypi
            internal

        [pypi]
        username = __token__
        password = «t»

        [internal]
        repository = https://pypi.internal.acme.io/simple/
        username = release-bot
        password = «p»
        """, t=S(pypi_token(), "PyPI API token"), p=S(password(), "private index password")), "pypirc")

    auth = base64.b64encode(("deploy:" + urlsafe_password()).encode()).decode()
    add(F, "npmrc", "frontend/.npmrc", T("""
        registry=https://registry.npmjs.org/
        @acme:registry=https://npm.pkg.acme.io/
        //registry.npmjs.org/:_authToken=«t»
        //npm.pkg.acme.io/:_auth=«a»
        //npm.pkg.acme.io/:always-auth=true
        save-exact=true
        engine-strict=true
        """, t=S(npm_token(), "npm auth token"), a=S(auth, "npm _auth (base64 user:password)")), "npmrc")

    dauth = base64.b64encode(("acmebuild:" + urlsafe_password()).encode()).decode()
    dauth2 = base64.b64encode(("_json_key_base64:" + b64bytes(40)).encode()).decode()
    add(F, "docker-config", "ci/docker/config.json", T("""
        {
          "auths": {
            "https://index.docker.io/v1/": {
              "auth": "«a1»"
            },
            "registry.acme.io": {
              "auth": "«a2»"
            }
          },
          "HttpHeaders": {
            "User-Agent": "Docker-Client/24.0.7 (linux)"
          },
          "detachKeys": "ctrl-e,e"
        }
        """, a1=S(dauth, "Docker registry auth (base64 user:password)"),
        a2=S(dauth2, "Docker registry auth (base64 user:key)")), "docker-config")

    ca = base64.b64encode(pem("CERTIFICATE").encode()).decode()[:120]
    add(F, "kubeconfig", "ops/kube/prod-admin.kubeconfig", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: «ca»
            server: https://k8s-prod.internal.acme.io:6443
          name: prod
        contexts:
        - context:
            cluster: prod
            namespace: default
            user: ci-deployer
          name: prod
        current-context: prod
        users:
        - name: ci-deployer
          user:
            token: «tok»
        """, ca=ca, tok=S(jwt_like(), "Kubernetes service-account bearer token")), "kubeconfig-token")

    add(F, "kubeconfig", "clusters/lab/kubeconfig.yaml", T("""
        apiVersion: v1
        kind: Config
        preferences: {}
        clusters:
        - name: lab
          cluster:
            server: https://10.40.0.10:6443
            insecure-skip-tls-verify: true
        users:
        - name: lab-admin
          user:
            username: admin
            password: «p»
        contexts:
        - name: lab
          context:
            cluster: lab
            user: lab-admin
        current-context: lab
        """, p=S(password(), "kubeconfig basic-auth password")), "kubeconfig-password")

    add(F, "maven-settings", "ci/maven/settings.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
          <servers>
            <server>
              <id>acme-releases</id>
              <username>deployment</username>
              <password>«p»</password>
            </server>
            <server>
              <id>ossrh</id>
              <username>acme-oss</username>
              <password>«p2»</password>
            </server>
          </servers>
          <mirrors>
            <mirror>
              <id>acme-central</id>
              <mirrorOf>central</mirrorOf>
              <url>https://nexus.internal.acme.io/repository/maven-public/</url>
            </mirror>
          </mirrors>
        </settings>
        """, p=S(password(), "Maven repository password"), p2=S(b64url(44), "Sonatype user token password")), "maven-settings")

    add(F, "s3cfg", "home/media/.s3cfg", T("""
        [default]
        access_key = «id»
        secret_key = «sk»
        bucket_location = EU
        host_base = s3.amazonaws.com
        host_bucket = %(bucket)s.s3.amazonaws.com
        use_https = True
        signature_v2 = False
        multipart_chunk_size_mb = 64
        """, id=aws_akid(), sk=S(aws_secret(), "AWS secret key in s3cmd config")), "s3cfg")

    add(F, "yaml", "home/gems/.gem/credentials", T("""
        ---
        :rubygems_api_key: «k»
        :github: Bearer «g»
        """, k=S("rubygems_" + hx(48), "RubyGems API key"), g=S(gh_token(), "GitHub PAT for GitHub Packages")), "gem-credentials")

    add(F, "json", "auth.json", T("""
        {
            "http-basic": {
                "repo.packagist.com": {
                    "username": "token",
                    "password": "«p»"
                }
            },
            "github-oauth": {
                "github.com": "«g»"
            },
            "gitlab-token": {}
        }
        """, p=S(hx(64), "Private Packagist token"), g=S(gh_token("gho_"), "GitHub OAuth token")), "composer-auth")

    add(F, "yarnrc", ".yarnrc.yml", T("""
        nodeLinker: node-modules
        enableTelemetry: false

        npmScopes:
          acme:
            npmRegistryServer: "https://npm.pkg.github.com"
            npmAlwaysAuth: true
            npmAuthToken: «t»

        yarnPath: .yarn/releases/yarn-4.1.0.cjs
        """, t=S(gh_token(), "GitHub PAT as Yarn npmAuthToken")), "yarnrc")

    # ---------------- hard negatives
    add(F, "htpasswd", "nginx/.htpasswd", T("""
        admin:$apr1$«s1»$«h1»
        grafana:$2y$10$«h2»
        metrics:{SHA}«h3»
        """, s1=rs(ALNUM, 8), h1=rs(ALNUM + "./", 22), h2=rs(ALNUM + "./", 53),
        h3=base64.b64encode(rbytes(20)).decode()), "neg-htpasswd")

    add(F, "npmrc", ".npmrc", T("""
        registry=https://registry.npmjs.org/
        @acme:registry=https://npm.pkg.github.com/
        //npm.pkg.github.com/:_authToken=${NPM_TOKEN}
        //registry.npmjs.org/:_authToken=${NPM_PUBLISH_TOKEN}
        fund=false
        audit-level=high
        """), "neg-npmrc-env")

    add(F, "kubeconfig", "ops/kube/eks-prod.yaml", T("""
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: «ca»
            server: https://«h».gr7.eu-west-1.eks.amazonaws.com
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
              args: ["eks", "get-token", "--cluster-name", "prod", "--region", "eu-west-1"]
              interactiveMode: Never
        """, ca=base64.b64encode(pem("CERTIFICATE").encode()).decode()[:120], h=HX(32)), "neg-kubeconfig-exec")

    add(F, "docker-config", "home/dev/.docker/config.json", T("""
        {
          "auths": {
            "ghcr.io": {},
            "https://index.docker.io/v1/": {},
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {}
          },
          "credsStore": "desktop",
          "credHelpers": {
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"
          },
          "currentContext": "desktop-linux"
        }
        """), "neg-docker-credstore")

    add(F, "netrc", "templates/netrc.tmpl", T("""
        # rendered by bootstrap.sh; do not put real values here
        machine {{ artifact_host }}
          login {{ artifact_user }}
          password {{ artifact_password }}
        """), "neg-netrc-template")

    add(F, "my-cnf", "docker/mysql/conf.d/client.cnf", T("""
        [client]
        default-character-set = utf8mb4
        # password is read from MYSQL_PWD / the login-path file, see docs/db.md
        # password =
        socket = /var/run/mysqld/mysqld.sock

        [mysql]
        default-character-set = utf8mb4
        auto-rehash
        prompt = "\\u@\\h [\\d]> "
        """), "neg-mycnf-no-password")


# =====================================================================
# command-line
# =====================================================================
def command_line():
    F = "command-line"
    add(F, "bash", "scripts/deploy-legacy.sh", T("""
        #!/bin/bash
        # Push the WAR to the old Tomcat boxes (no key auth there yet, see OPS-1182)
        set -e

        HOSTS="app-legacy-01 app-legacy-02"
        WAR=target/portal.war

        mvn -q -DskipTests package

        for h in $HOSTS; do
          echo "==> $h"
          sshpass -p '«p»' scp -o StrictHostKeyChecking=no "$WAR" tomcat@"$h":/opt/tomcat/webapps/
          sshpass -p '«p»' ssh tomcat@"$h" 'sudo systemctl restart tomcat'
        done
        echo "done"
        """, p=S(password(), "sshpass -p password")), "sshpass")

    add(F, "bash", "ops/backup/mysql-nightly.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail

        STAMP=$(date +%Y%m%d-%H%M)
        OUT=/var/backups/mysql/shop-$STAMP.sql.gz
        RETENTION_DAYS=14

        mysqldump -h mysql-01.internal -u backup -p«p» \\
          --single-transaction --routines --triggers shop | gzip > "$OUT"

        find /var/backups/mysql -name 'shop-*.sql.gz' -mtime +$RETENTION_DAYS -delete
        echo "backup written to $OUT"
        """, p=S(urlsafe_password(), "mysqldump -p password")), "mysqldump-p")

    add(F, "crontab", "ops/cron/reporting.cron", T("""
        SHELL=/bin/bash
        PATH=/usr/local/bin:/usr/bin:/bin
        MAILTO=ops@acme.io

        # m h dom mon dow command
        15 2 * * * /opt/reports/bin/refresh.sh >> /var/log/reports.log 2>&1
        30 2 * * * mysql --host=mysql-01.internal --user=reports --password=«p» reports < /opt/reports/sql/rollup.sql
        0 3 * * 0 /opt/reports/bin/vacuum.sh
        */10 * * * * /opt/reports/bin/healthcheck.sh
        """, p=S(urlsafe_password(), "mysql --password= value")), "crontab-mysql")

    add(F, "makefile", "release.mk", T("""
        NEXUS   := https://nexus.internal.acme.io
        REPO    := raw-releases
        VERSION ?= $(shell git describe --tags --always)
        ARTIFACT := dist/agent-$(VERSION).tar.gz

        .PHONY: package upload

        package:
        	mkdir -p dist
        	tar -czf $(ARTIFACT) -C build .

        upload: package
        	curl --fail -u admin:«p» --upload-file $(ARTIFACT) \\
        		$(NEXUS)/repository/$(REPO)/agent/$(VERSION)/agent-$(VERSION).tar.gz
        """, p=S(urlsafe_password(), "curl -u user:password")), "curl-u")

    add(F, "bash", "db/migrate.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail

        DB_HOST=${DB_HOST:-pg-main.internal}
        DB_NAME=${DB_NAME:-ledger}

        for f in db/migrations/*.sql; do
          echo "applying $f"
          PGPASSWORD='«p»' psql -h "$DB_HOST" -U ledger_owner -d "$DB_NAME" -v ON_ERROR_STOP=1 -f "$f"
        done

        echo "migrations complete"
        """, p=S(password(), "PGPASSWORD= value")), "pgpassword")

    add(F, "gitlab-ci", "ci/build-image.gitlab-ci.yml", T("""
        build-image:
          stage: build
          image: docker:24.0
          services:
            - docker:24.0-dind
          variables:
            IMAGE: registry.acme.io/platform/gateway
          before_script:
            - docker login -u gitlab-builder -p «p» registry.acme.io
          script:
            - docker build -t "$IMAGE:$CI_COMMIT_SHORT_SHA" .
            - docker push "$IMAGE:$CI_COMMIT_SHORT_SHA"
          rules:
            - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
        """, p=S(password("long"), "docker login -p password")), "docker-login-p")

    add(F, "dockerfile", "docker/nginx/Dockerfile", T("""
        FROM nginx:1.25-alpine

        RUN apk add --no-cache apache2-utils \\
            && htpasswd -b -c /etc/nginx/.htpasswd metrics «p» \\
            && apk del apache2-utils

        COPY nginx.conf /etc/nginx/nginx.conf
        COPY conf.d/ /etc/nginx/conf.d/

        EXPOSE 8080
        HEALTHCHECK CMD wget -qO- http://127.0.0.1:8080/healthz || exit 1
        """, p=S(password(), "htpasswd -b password")), "htpasswd-b")

    add(F, "bash", "install/get-agent.sh", T("""
        #!/bin/sh
        # Installs the monitoring agent from the internal mirror.
        set -eu

        VERSION="7.52.1"
        ARCH=$(uname -m)
        URL="https://mirror.internal.acme.io/agents/agent-${VERSION}-${ARCH}.tar.gz"

        cd /tmp
        wget --user=mirror-ro --password=«p» -O agent.tgz "$URL"
        tar -xzf agent.tgz -C /opt
        /opt/agent/install.sh --quiet
        rm -f agent.tgz
        """, p=S(urlsafe_password(), "wget --password= value")), "wget-password")

    add(F, "bash", "ops/backup/smb-pull.sh", T("""
        #!/bin/bash
        # Pull the finance exports from the Windows file server every night.
        set -e
        DEST=/srv/exports/finance/$(date +%F)
        mkdir -p "$DEST"
        cd "$DEST"
        smbclient //fs01.corp.acme.io/finance -U 'CORP\\svc_backup%«p»' -c 'prompt OFF; recurse ON; cd exports; mget *'
        ls -l "$DEST"
        """, p=S(password("strong"), "smbclient -U user%password")), "smbclient")

    add(F, "markdown", "docs/runbooks/db-access.md", T("""
        # Runbook: connecting to the reporting database

        Reporting runs on the read replica. From the bastion:

        ```sh
        psql "postgresql://analyst:«p»@pg-replica.internal:5432/reporting?sslmode=require"
        ```

        Useful queries:

        ```sql
        SELECT now() - pg_last_xact_replay_timestamp() AS replication_lag;
        SELECT datname, numbackends FROM pg_stat_database;
        ```

        If the replica lags more than 5 minutes, page the on-call DBA.
        """, p=S(urlsafe_password(), "password in psql connection URI")), "psql-uri")

    add(F, "powershell", "scripts/Map-Drives.ps1", T("""
        $ErrorActionPreference = 'Stop'

        $user = 'CORP\\svc_reports'
        $secure = ConvertTo-SecureString '«p»' -AsPlainText -Force
        $cred = New-Object System.Management.Automation.PSCredential($user, $secure)

        New-PSDrive -Name R -PSProvider FileSystem -Root '\\\\fs01\\reports' -Credential $cred -Persist
        Invoke-Command -ComputerName rpt-01 -Credential $cred -ScriptBlock {
            Restart-Service -Name 'ReportServer'
        }
        """, p=S(password(), "ConvertTo-SecureString -AsPlainText password")), "ps-securestring")

    add(F, "batch", "scripts\\map-share.bat", T("""
        @echo off
        REM map the build share for the packaging step
        net use Z: \\\\buildfs01\\drops «p» /user:CORP\\svc_build /persistent:no
        if errorlevel 1 goto :fail
        xcopy /E /I /Y out\\*.msi Z:\\installers\\
        net use Z: /delete /y
        goto :eof
        :fail
        echo could not map share
        exit /b 1
        """, p=S(password("strong"), "net use password")), "net-use")

    add(F, "docker-compose", "compose.cache.yml", T("""
        services:
          redis:
            image: redis:7.2
            command: ["redis-server", "--requirepass", "«p»", "--appendonly", "yes"]
            healthcheck:
              test: ["CMD", "redis-cli", "-a", "«p2»", "ping"]
              interval: 10s
              retries: 5
            volumes:
              - cache:/data
        volumes:
          cache: {}
        """, p=S("R3d1s" + rs(ALNUM, 14), "redis-server --requirepass"),
        p2=S("R3d1s" + rs(ALNUM, 14), "redis-cli -a password")), "redis-requirepass")

    add(F, "makefile", "android/Makefile", T("""
        KEYSTORE := signing/upload.p12

        .PHONY: keystore sign

        keystore:
        	openssl pkcs12 -export -in signing/upload.crt -inkey signing/upload.key \\
        		-name upload -out $(KEYSTORE) -passout pass:«p»

        sign:
        	apksigner sign --ks $(KEYSTORE) --ks-pass pass:«p2» \\
        		--out build/app-release.apk build/app-release-unsigned.apk
        """, p=S(password("strong"), "openssl -passout pass: value"),
        p2=S(password("strong"), "apksigner --ks-pass pass: value")), "openssl-passout")

    # ---------------- hard negatives
    add(F, "bash", "scripts/db-shell.sh", T("""
        #!/usr/bin/env bash
        # Opens a mysql shell; you will be prompted for the password.
        set -euo pipefail
        HOST=${1:-mysql-01.internal}
        USER=${2:-$(whoami)}
        exec mysql -h "$HOST" -u "$USER" -p --prompt="\\\\u@\\\\h> "
        # non-interactive variant used by cron:
        # mysql -h "$HOST" -u reports -p"$MYSQL_PASSWORD" reports < rollup.sql
        """), "neg-mysql-prompt")

    add(F, "bash", "scripts/push-config.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        : "${SSHPASS:?export SSHPASS first}"
        for h in $(cat hosts.txt); do
          sshpass -e scp config.yml "deploy@${h}:/etc/app/config.yml"
          sshpass -f "$HOME/.config/sshpass" ssh "deploy@${h}" 'systemctl reload app'
        done
        curl -fsS -u "${NEXUS_USER}:${NEXUS_PASSWORD}" "https://nexus.internal.acme.io/service/rest/v1/status"
        PGPASSWORD="$(cat /run/secrets/pg_password)" psql -h db -U app -c 'select 1'
        """), "neg-cli-env")

    add(F, "github-actions", ".github/workflows/image.yml", T("""
        name: image
        on:
          push:
            branches: [main]
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - name: Log in to registry
                run: echo "${{ secrets.REGISTRY_PASSWORD }}" | docker login registry.acme.io -u "${{ vars.REGISTRY_USER }}" --password-stdin
              - name: Build
                run: docker build -t registry.acme.io/platform/gateway:${{ github.sha }} .
              - name: Push
                run: docker push registry.acme.io/platform/gateway:${{ github.sha }}
        """), "neg-docker-login-stdin")

    add(F, "markdown", "docs/cli-cheatsheet.md", T("""
        # CLI cheat sheet

        | Task | Command |
        |------|---------|
        | MySQL shell | `mysql -u <user> -p<password> <db>` |
        | Postgres shell | `PGPASSWORD=<password> psql -h <host> -U <user>` |
        | Copy with password | `sshpass -p '<password>' scp file host:` |
        | Registry login | `docker login -u <user> -p <password> <registry>` |
        | HTTP basic auth | `curl -u USER:PASSWORD https://host/path` |
        | SMB | `smbclient //server/share -U 'DOMAIN\\user%PASSWORD'` |

        Prefer `--password-stdin` and `~/.pgpass` over passwords on the command line:
        they end up in shell history and in `ps` output.
        """), "neg-cli-doc")

    add(F, "ansible", "roles/postgres/tasks/users.yml", T("""
        ---
        - name: Create application role
          community.postgresql.postgresql_user:
            name: "{{ app_db_user }}"
            password: "{{ app_db_password }}"
            login_host: "{{ pg_host }}"
            login_user: postgres
            login_password: "{{ vault_pg_admin_password }}"
          no_log: true

        - name: Smoke test
          ansible.builtin.shell: >
            PGPASSWORD='{{ app_db_password }}' psql -h {{ pg_host }} -U {{ app_db_user }} -c 'select 1'
          changed_when: false
          no_log: true
        """), "neg-ansible-pgpassword-var")


# =====================================================================
# connection-strings
# =====================================================================
def connection_strings():
    F = "connection-strings"
    add(F, "properties", "src/main/resources/application-prod.properties", T("""
        server.port=8080
        server.shutdown=graceful
        spring.application.name=inventory-service

        spring.datasource.url=jdbc:postgresql://pg-main.internal:5432/inventory?user=inventory&password=«p»&sslmode=require
        spring.datasource.hikari.maximum-pool-size=20
        spring.datasource.hikari.connection-timeout=20000

        spring.jpa.hibernate.ddl-auto=validate
        spring.jpa.open-in-view=false

        management.endpoints.web.exposure.include=health,info,prometheus
        management.endpoint.health.probes.enabled=true
        """, p=S(urlsafe_password(), "password= in JDBC URL")), "jdbc-password-param")

    add(F, "rails-database-yml", "config/database.yml", T("""
        default: &default
          adapter: postgresql
          encoding: unicode
          pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>

        development:
          <<: *default
          database: tracker_development

        test:
          <<: *default
          database: tracker_test

        production:
          <<: *default
          url: postgres://tracker:«p»@tracker-db.c9xk2lq7.eu-west-1.rds.amazonaws.com:5432/tracker_production
        """, p=S(urlsafe_password(), "password in postgres URL")), "rails-db-url")

    add(F, "python", "reports/db.py", T('''
        from contextlib import contextmanager

        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        engine = create_engine(
            "mysql+pymysql://reporter:«p»@mysql-ro.internal:3306/analytics?charset=utf8mb4",
            pool_pre_ping=True,
            pool_recycle=1800,
        )
        Session = sessionmaker(bind=engine)


        @contextmanager
        def session_scope():
            s = Session()
            try:
                yield s
                s.commit()
            except Exception:
                s.rollback()
                raise
            finally:
                s.close()
        ''', p=S(urlsafe_password(), "password in mysql URL")), "sqlalchemy-mysql")

    add(F, "javascript", "server/db.js", T("""
        const mongoose = require('mongoose');

        const MONGO_URI = 'mongodb+srv://app_rw:«p»@cluster0.x7k2p.mongodb.net/catalog?retryWrites=true&w=majority';

        async function connect() {
          mongoose.set('strictQuery', true);
          await mongoose.connect(MONGO_URI, {
            maxPoolSize: 10,
            serverSelectionTimeoutMS: 5000,
          });
          console.log('mongo connected');
        }

        process.on('SIGINT', async () => {
          await mongoose.disconnect();
          process.exit(0);
        });

        module.exports = { connect };
        """, p=S(urlsafe_password(), "password in mongodb+srv URL")), "mongodb-srv")

    add(F, "python", "worker/celeryconfig.py", T("""
        broker_url = "rediss://:«p»@cache-prod.abc123.ng.0001.euw1.cache.amazonaws.com:6379/0?ssl_cert_reqs=required"
        result_backend = "redis://:«p2»@redis-results.internal:6379/1"

        task_serializer = "json"
        result_serializer = "json"
        accept_content = ["json"]
        timezone = "Europe/Berlin"
        enable_utc = True

        task_acks_late = True
        worker_prefetch_multiplier = 1
        task_routes = {
            "worker.tasks.send_email": {"queue": "mail"},
            "worker.tasks.render_pdf": {"queue": "pdf"},
        }
        """, p=S(rs(ALNUM, 32), "password in rediss URL"), p2=S(rs(ALNUM, 24), "password in redis URL")), "redis-urls")

    add(F, "go", "internal/queue/amqp.go", T("""
        package queue

        import (
        	"log"

        	amqp "github.com/rabbitmq/amqp091-go"
        )

        const brokerURL = "amqps://orders:«p»@rabbit.internal.acme.io:5671/orders"

        func Dial() (*amqp.Connection, *amqp.Channel) {
        	conn, err := amqp.Dial(brokerURL)
        	if err != nil {
        		log.Fatalf("amqp dial: %v", err)
        	}
        	ch, err := conn.Channel()
        	if err != nil {
        		log.Fatalf("amqp channel: %v", err)
        	}
        	if err := ch.Qos(10, 0, false); err != nil {
        		log.Fatalf("qos: %v", err)
        	}
        	return conn, ch
        }
        """, p=S(urlsafe_password(), "password in amqps URL")), "amqp-go")

    add(F, "requirements", "requirements.txt", T("""
        --extra-index-url https://ci-reader:«p»@pypi.internal.acme.io/simple/
        django==4.2.11
        djangorestframework==3.15.1
        celery[redis]==5.3.6
        psycopg[binary]==3.1.18
        gunicorn==21.2.0
        sentry-sdk==1.44.0
        acme-auth-client==2.7.0
        acme-billing-models==0.19.3
        """, p=S(urlsafe_password(), "password in index URL")), "pip-index-url")

    add(F, "json", ".vscode/sftp.json", T("""
        {
            "name": "legacy-www",
            "host": "www01.hosting-provider.net",
            "protocol": "ftp",
            "port": 21,
            "remotePath": "/htdocs",
            "uploadOnSave": false,
            "ignore": [".vscode", ".git", "node_modules"],
            "watcher": {
                "files": "dist/**/*",
                "autoUpload": false
            },
            "profiles": {
                "mirror": {
                    "context": "dist",
                    "remoteUrl": "ftp://acmeweb:«p»@ftp.hosting-provider.net/htdocs"
                }
            }
        }
        """, p=S(urlsafe_password(), "password in ftp URL")), "ftp-url")

    add(F, "php", "deploy.php", T("""
        <?php
        namespace Deployer;

        require 'recipe/laravel.php';

        set('application', 'storefront');
        set('repository', 'git@github.com:acme/storefront.git');
        set('keep_releases', 5);

        // artefact mirror used by the legacy host (no ssh keys there)
        set('artifact_mirror', 'sftp://release:«p»@files.acme.io:22/releases');

        host('web-01.acme.io')
            ->set('remote_user', 'deploy')
            ->set('deploy_path', '/var/www/storefront');

        after('deploy:failed', 'deploy:unlock');
        """, p=S(urlsafe_password(), "password in sftp URL")), "sftp-url")

    add(F, "dotenv", ".env.prod", T("""
        APP_ENV=prod
        APP_SECRET_ROTATED=2024-02
        TRUSTED_PROXIES=10.0.0.0/8
        MAILER_DSN=smtp://mailer%40acme.io:«p»@smtp.office365.com:587?encryption=tls
        MESSENGER_TRANSPORT_DSN=doctrine://default?auto_setup=0
        LOCK_DSN=flock
        CORS_ALLOW_ORIGIN='^https?://(www\\.)?acme\\.io$'
        """, p=S(urlsafe_password(), "password in smtp DSN")), "smtp-dsn")

    add(F, "yaml", "config/auth.yml", T("""
        auth:
          provider: ldap
          ldap:
            url: ldaps://svc-portal:«p»@ldap.corp.acme.io:636
            base_dn: dc=corp,dc=acme,dc=io
            user_filter: (&(objectClass=person)(sAMAccountName={0}))
            group_base: ou=Groups,dc=corp,dc=acme,dc=io
            timeout_seconds: 5
          session:
            ttl: 8h
            cookie_name: portal_session
        """, p=S(urlsafe_password(), "password in ldaps URL")), "ldap-url")

    add(F, "xml", "Web.config", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <connectionStrings>
            <add name="DefaultConnection"
                 connectionString="Server=sql-prod-01.corp.acme.io;Database=Portal;User Id=portal_app;Password=«p»;MultipleActiveResultSets=true;Encrypt=True"
                 providerName="System.Data.SqlClient" />
          </connectionStrings>
          <appSettings>
            <add key="webpages:Version" value="3.0.0.0" />
            <add key="ClientValidationEnabled" value="true" />
          </appSettings>
          <system.web>
            <compilation debug="false" targetFramework="4.8" />
            <httpRuntime targetFramework="4.8" />
            <customErrors mode="RemoteOnly" />
          </system.web>
        </configuration>
        """, p=S(password(), "ADO.NET Password=")), "adonet-webconfig")

    add(F, "python", "etl/mssql_extract.py", T('''
        import csv
        import sys

        import pyodbc

        CONN_STR = (
            "Driver={ODBC Driver 18 for SQL Server};"
            "Server=tcp:erp-sql.corp.acme.io,1433;"
            "Database=ERP;Uid=etl_reader;Pwd=«p»;"
            "Encrypt=yes;TrustServerCertificate=no;Connection Timeout=30;"
        )


        def extract(query, out):
            with pyodbc.connect(CONN_STR) as conn:
                cur = conn.cursor()
                cur.execute(query)
                w = csv.writer(out)
                w.writerow([c[0] for c in cur.description])
                for row in cur:
                    w.writerow(row)


        if __name__ == "__main__":
            extract(sys.argv[1], sys.stdout)
        ''', p=S(password(), "ODBC Pwd=")), "odbc-pwd")

    add(F, "go", "cmd/api/main.go", T("""
        package main

        import (
        	"database/sql"
        	"log"
        	"net/http"

        	_ "github.com/go-sql-driver/mysql"
        )

        func main() {
        	db, err := sql.Open("mysql", "api:«p»@tcp(mysql-01.internal:3306)/shop?parseTime=true&loc=UTC")
        	if err != nil {
        		log.Fatal(err)
        	}
        	defer db.Close()
        	db.SetMaxOpenConns(25)

        	mux := http.NewServeMux()
        	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
        		if err := db.PingContext(r.Context()); err != nil {
        			http.Error(w, "db down", http.StatusServiceUnavailable)
        			return
        		}
        		w.WriteHeader(http.StatusNoContent)
        	})
        	log.Fatal(http.ListenAndServe(":8080", mux))
        }
        """, p=S(urlsafe_password(), "password in Go MySQL DSN")), "go-mysql-dsn")

    add(F, "kotlin", "src/main/kotlin/io/acme/jobs/Db.kt", T("""
        package io.acme.jobs

        import java.sql.Connection
        import java.sql.DriverManager

        object Db {
            private const val URL = "jdbc:mysql://mysql-01.internal:3306/jobs?useSSL=true"

            fun connect(): Connection =
                DriverManager.getConnection(URL, "jobs_runner", "«p»")

            fun <T> withConnection(block: (Connection) -> T): T =
                connect().use { block(it) }
        }
        """, p=S(password(), "password as getConnection argument")), "kotlin-jdbc-positional")

    add(F, "helm-values", "deploy/charts/api/values-prod.yaml", T("""
        replicaCount: 3

        image:
          repository: registry.acme.io/platform/api
          tag: "2.14.0"

        env:
          LOG_LEVEL: info
          DATABASE_URL: postgresql://api:«p»@pg-main.internal:5432/api?sslmode=require
          CACHE_URL: redis://redis-master.cache.svc.cluster.local:6379/0

        ingress:
          enabled: true
          className: nginx
          hosts:
            - host: api.acme.io
              paths:
                - path: /
                  pathType: Prefix

        resources:
          limits:
            memory: 512Mi
        """, p=S(urlsafe_password(), "password in postgresql URL")), "helm-database-url")

    add(F, "rust", "src/db.rs", T("""
        use sqlx::postgres::PgPoolOptions;
        use sqlx::PgPool;
        use std::time::Duration;

        const DATABASE_URL: &str = "postgres://ledger:«p»@pg-ledger.internal:5432/ledger";

        pub async fn pool() -> Result<PgPool, sqlx::Error> {
            PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(DATABASE_URL)
                .await
        }
        """, p=S(urlsafe_password(), "password in postgres URL")), "rust-sqlx-url")

    add(F, "xml", "src/main/webapp/META-INF/context.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <Context>
            <Resource name="jdbc/OrdersDB"
                      auth="Container"
                      type="javax.sql.DataSource"
                      driverClassName="com.microsoft.sqlserver.jdbc.SQLServerDriver"
                      url="jdbc:sqlserver://sql-prod-02.corp.acme.io:1433;databaseName=Orders;user=orders_web;password=«p»;encrypt=true"
                      maxTotal="40"
                      maxIdle="10"
                      validationQuery="SELECT 1" />
            <WatchedResource>WEB-INF/web.xml</WatchedResource>
        </Context>
        """, p=S(password(), "password= in SQL Server JDBC URL")), "jdbc-sqlserver")

    # ---------------- hard negatives
    add(F, "docker-compose", "docker-compose.override.yml", T("""
        services:
          api:
            environment:
              DATABASE_URL: postgres://${DB_USER}:${DB_PASSWORD}@db:5432/${DB_NAME}
              REDIS_URL: redis://redis:6379/0
              AMQP_URL: amqp://${RABBIT_USER}:${RABBIT_PASS}@rabbit:5672/
          worker:
            environment:
              DATABASE_URL: ${DATABASE_URL}
              MONGO_URL: mongodb://mongo:27017/catalog
        """), "neg-url-interpolated")

    add(F, "xml", "App.config", T("""
        <?xml version="1.0" encoding="utf-8" ?>
        <configuration>
          <connectionStrings>
            <add name="Reporting"
                 connectionString="Server=sql-rpt-01;Database=Reporting;Integrated Security=SSPI;TrustServerCertificate=True"
                 providerName="System.Data.SqlClient" />
            <add name="Local"
                 connectionString="Data Source=(localdb)\\MSSQLLocalDB;Initial Catalog=Dev;Trusted_Connection=True"
                 providerName="System.Data.SqlClient" />
          </connectionStrings>
          <startup>
            <supportedRuntime version="v4.0" sku=".NETFramework,Version=v4.8" />
          </startup>
        </configuration>
        """), "neg-integrated-security")

    add(F, "properties", "src/main/resources/application.properties", T("""
        spring.application.name=catalog
        spring.datasource.url=jdbc:postgresql://localhost:5432/catalog
        spring.datasource.username=catalog
        spring.datasource.password=${CATALOG_DB_PASSWORD}
        spring.rabbitmq.addresses=amqp://rabbit.internal:5672
        spring.data.mongodb.uri=mongodb://mongo-0.mongo:27017,mongo-1.mongo:27017/catalog?replicaSet=rs0
        spring.data.redis.url=redis://redis.internal:6379
        logging.level.root=INFO
        """), "neg-url-no-password")

    add(F, "markdown", "docs/configuration.md", T("""
        # Configuration

        | Variable | Example | Notes |
        |----------|---------|-------|
        | `DATABASE_URL` | `postgres://USER:PASSWORD@HOST:5432/DB` | required |
        | `REDIS_URL` | `redis://:<password>@host:6379/0` | optional |
        | `MONGO_URL` | `mongodb+srv://<username>:<password>@cluster0.example.mongodb.net/` | |
        | `MAILER_DSN` | `smtp://user:pass@smtp.example.com:587` | use a real relay in prod |

        Git remotes use SSH (`git@github.com:acme/catalog.git`) or
        `ssh://git@gitlab.acme.io:2222/platform/catalog.git`.
        """), "neg-url-doc-placeholders")

    add(F, "go", "internal/config/dsn.go", T("""
        package config

        import (
        	"fmt"
        	"net/url"
        	"os"
        )

        // DSN builds the database URL from the environment.
        func DSN() string {
        	u := url.URL{
        		Scheme:   "postgres",
        		User:     url.UserPassword(os.Getenv("PGUSER"), os.Getenv("PGPASSWORD")),
        		Host:     fmt.Sprintf("%s:%s", os.Getenv("PGHOST"), envOr("PGPORT", "5432")),
        		Path:     os.Getenv("PGDATABASE"),
        		RawQuery: "sslmode=" + envOr("PGSSLMODE", "require"),
        	}
        	return u.String()
        }

        func envOr(k, d string) string {
        	if v := os.Getenv(k); v != "" {
        		return v
        	}
        	return d
        }
        """), "neg-dsn-builder")


# =====================================================================
# http-auth
# =====================================================================
def basic(user, pw):
    return base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def http_auth():
    F = "http-auth"
    add(F, "http", "api-tests/orders.http", T("""
        ### List orders (staging)
        GET https://staging-api.acme.io/v2/orders?status=open&limit=50
        Accept: application/json
        Authorization: Basic «b»

        ### Create order
        POST https://staging-api.acme.io/v2/orders
        Content-Type: application/json
        Authorization: Basic «b»

        {
          "customerId": "c_1029",
          "items": [{"sku": "TSHIRT-BLK-M", "qty": 2}]
        }
        """, b=S(basic("qa-automation", urlsafe_password()), "HTTP Basic credentials")), "http-file-basic")

    add(F, "bash", "scripts/rotate-dns.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        ZONE_ID="«zone»"
        RECORD_ID="«rec»"
        IP=$(curl -fsS https://api.ipify.org)

        curl -fsS -X PUT "https://api.cloudflare.com/client/v4/zones/${ZONE_ID}/dns_records/${RECORD_ID}" \\
          -H "Authorization: Bearer «tok»" \\
          -H "Content-Type: application/json" \\
          --data "{\\"type\\":\\"A\\",\\"name\\":\\"vpn.acme.io\\",\\"content\\":\\"${IP}\\",\\"ttl\\":120}"
        echo "vpn.acme.io -> ${IP}"
        """, zone=hx(32), rec=hx(32), tok=S(rs(ALNUM + "_-", 40), "Bearer token (Cloudflare API token)")), "curl-bearer")

    add(F, "python", "integrations/weather.py", T('''
        import requests

        BASE = "https://api.weatherdata.io/v3"
        HEADERS = {
            "Accept": "application/json",
            "X-API-Key": "«k»",
        }


        def forecast(lat, lon, days=3):
            r = requests.get(f"{BASE}/forecast", params={"lat": lat, "lon": lon, "days": days},
                             headers=HEADERS, timeout=10)
            r.raise_for_status()
            return r.json()["daily"]
        ''', k=S(hx(32), "X-API-Key header value")), "py-x-api-key")

    add(F, "nginx", "nginx/conf.d/legacy-proxy.conf", T("""
        upstream legacy_erp {
            server erp-legacy.corp.acme.io:8443;
            keepalive 16;
        }

        server {
            listen 443 ssl http2;
            server_name erp.acme.io;

            ssl_certificate     /etc/nginx/tls/erp.crt;
            ssl_certificate_key /etc/nginx/tls/erp.key;

            location /api/ {
                proxy_pass https://legacy_erp/api/;
                proxy_set_header Host erp-legacy.corp.acme.io;
                proxy_set_header Authorization "Basic «b»";
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            }
        }
        """, b=S(basic("erp_gateway", password()), "HTTP Basic credentials in proxy header")), "nginx-basic")

    pm_tok = b64url(48)
    add(F, "postman", "postman/Partner API.postman_collection.json", T("""
        {
          "info": {
            "_postman_id": "«pid»",
            "name": "Partner API",
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
              "name": "List shipments",
              "request": {
                "method": "GET",
                "url": "https://partner.logistics-hub.com/api/v1/shipments"
              }
            }
          ]
        }
        """, pid=uid(), tok=S(pm_tok, "bearer token in Postman collection")), "postman-bearer")

    add(F, "java", "src/main/java/io/acme/partner/PartnerClient.java", T("""
        package io.acme.partner;

        import okhttp3.OkHttpClient;
        import okhttp3.Request;
        import okhttp3.Response;

        import java.io.IOException;

        public class PartnerClient {
            private static final String BASE = "https://partner.logistics-hub.com/api/v1";
            private final OkHttpClient http = new OkHttpClient();

            public String shipments() throws IOException {
                Request req = new Request.Builder()
                        .url(BASE + "/shipments")
                        .addHeader("Authorization", "Bearer «tok»")
                        .build();
                try (Response resp = http.newCall(req).execute()) {
                    return resp.body().string();
                }
            }
        }
        """, tok=S(b64url(40), "Bearer token")), "java-bearer")

    add(F, "php", "app/Services/GeoIp.php", T("""
        <?php

        namespace App\\Services;

        use GuzzleHttp\\Client;

        class GeoIp
        {
            private Client $http;

            public function __construct()
            {
                $this->http = new Client([
                    'base_uri' => 'https://geo.ipservice.io/',
                    'timeout'  => 3.0,
                    'headers'  => ['X-Api-Key' => '«k»'],
                ]);
            }

            public function country(string $ip): ?string
            {
                $res = $this->http->get("v1/lookup/{$ip}");
                return json_decode((string) $res->getBody(), true)['country'] ?? null;
            }
        }
        """, k=S(rs(ALNUM, 36), "X-Api-Key header value")), "php-x-api-key")

    add(F, "prometheus", "monitoring/prometheus.yml", T("""
        global:
          scrape_interval: 30s
          evaluation_interval: 30s

        scrape_configs:
          - job_name: node
            static_configs:
              - targets: ["node-01:9100", "node-02:9100"]

          - job_name: federate-eu
            honor_labels: true
            metrics_path: /federate
            params:
              'match[]': ['{job="api"}']
            scheme: https
            basic_auth:
              username: federation
              password: «p»
            static_configs:
              - targets: ["prom-eu.acme.io"]

          - job_name: saas-exporter
            authorization:
              type: Bearer
              credentials: «tok»
            static_configs:
              - targets: ["metrics.saas-vendor.com"]
        """, p=S(password(), "basic_auth password"), tok=S(b64url(64), "Bearer credentials")), "prometheus-auth")

    add(F, "javascript", "src/api/legacyClient.js", T("""
        import axios from 'axios';

        const legacy = axios.create({
          baseURL: 'https://legacy.acme.io/rest',
          timeout: 8000,
          headers: {
            Authorization: 'Basic «b»',
            'Content-Type': 'application/json',
          },
        });

        export const getCustomer = (id) => legacy.get(`/customers/${id}`).then((r) => r.data);
        export const listInvoices = (id) => legacy.get(`/customers/${id}/invoices`).then((r) => r.data);
        """, b=S(basic("svc-frontend", urlsafe_password()), "HTTP Basic credentials")), "js-basic")

    # ---------------- hard negatives
    add(F, "http", "api-tests/users.http", T("""
        @host = https://staging-api.acme.io
        @token = {{login.response.body.access_token}}

        ### login
        # @name login
        POST {{host}}/oauth/token
        Content-Type: application/x-www-form-urlencoded

        grant_type=client_credentials&client_id={{client_id}}&client_secret={{client_secret}}

        ### me
        GET {{host}}/v2/me
        Authorization: Bearer {{token}}
        """), "neg-http-vars")

    add(F, "markdown", "docs/api-auth.md", T("""
        # Authenticating

        The API accepts HTTP Basic authentication (RFC 7617). For the user "Aladdin"
        with password "open sesame" the header is:

            Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==

        For tokens, send `Authorization: Bearer <access_token>`. For example:

            curl -H "Authorization: Bearer $ACCESS_TOKEN" https://api.acme.io/v2/me

        API keys go in `X-API-Key: <your-api-key>`.
        """), "neg-auth-docs")

    add(F, "python", "client/session.py", T('''
        import os

        import requests


        class ApiSession(requests.Session):
            def __init__(self, token=None):
                super().__init__()
                token = token or os.environ["ACME_API_TOKEN"]
                self.headers["Authorization"] = f"Bearer {token}"
                self.headers["X-Request-Id"] = "«rid»"
                self.headers["User-Agent"] = "acme-client/3.1"

            def request(self, method, url, *args, **kwargs):
                if not url.startswith("http"):
                    url = "https://api.acme.io" + url
                return super().request(method, url, *args, **kwargs)
        ''', rid=uid()), "neg-bearer-from-env")

    add(F, "nginx", "nginx/conf.d/api-gateway.conf", T("""
        map $http_x_api_key $api_client {
            default "";
            include /etc/nginx/api-keys.map;
        }

        server {
            listen 8080;
            location / {
                if ($api_client = "") { return 401; }
                proxy_set_header X-Api-Client $api_client;
                proxy_set_header Authorization "";
                proxy_set_header X-Request-Id $request_id;
                proxy_pass http://backend;
            }
        }
        """), "neg-nginx-no-key")

    add(F, "python", "tests/test_basic_auth.py", T('''
        import base64

        from app.auth import parse_basic


        def test_parse_basic():
            header = "Basic " + base64.b64encode(b"user:pass").decode()
            assert parse_basic(header) == ("user", "pass")


        def test_parse_basic_rejects_garbage():
            assert parse_basic("Basic !!!") is None
            assert parse_basic("Bearer abc") is None
            assert parse_basic("Basic dGVzdDp0ZXN0") == ("test", "test")
        '''), "neg-basic-test-fixture")


# =====================================================================
# webhooks-bots
# =====================================================================
def webhooks_bots():
    F = "webhooks-bots"
    add(F, "python", "ops/alerts/disk_watch.py", T('''
        #!/usr/bin/env python3
        """Post to the #infra Discord channel when a volume is above 90%."""
        import shutil
        import socket

        import requests

        DISCORD_WEBHOOK = "«w»"
        THRESHOLD = 0.90
        VOLUMES = ["/", "/var/lib/docker", "/srv"]


        def main():
            host = socket.gethostname()
            for v in VOLUMES:
                usage = shutil.disk_usage(v)
                ratio = usage.used / usage.total
                if ratio > THRESHOLD:
                    requests.post(DISCORD_WEBHOOK, json={
                        "username": "disk-watch",
                        "content": f":warning: {host}:{v} at {ratio:.0%}",
                    }, timeout=5)


        if __name__ == "__main__":
            main()
        ''', w=S(discord_webhook(), "Discord webhook URL")), "discord-webhook-py")

    add(F, "github-actions", ".github/workflows/notify.yml", T("""
        name: notify
        on:
          workflow_run:
            workflows: ["release"]
            types: [completed]
        jobs:
          ping:
            runs-on: ubuntu-latest
            env:
              NOTIFY_URL: «w»
            steps:
              - name: announce
                run: |
                  curl -fsS -H 'Content-Type: application/json' \\
                    -d "{\\"content\\": \\"release ${{ github.event.workflow_run.head_branch }}: ${{ github.event.workflow_run.conclusion }}\\"}" \\
                    "$NOTIFY_URL"
        """, w=S(discord_webhook().replace("discord.com", "discordapp.com"), "Discord webhook URL (generic variable name)")),
        "discord-webhook-gha")

    add(F, "python", "bot/main.py", T('''
        import logging

        import discord
        from discord.ext import commands

        logging.basicConfig(level=logging.INFO)

        intents = discord.Intents.default()
        intents.message_content = True
        bot = commands.Bot(command_prefix="!", intents=intents)


        @bot.command()
        async def ping(ctx):
            await ctx.send(f"pong ({round(bot.latency * 1000)} ms)")


        @bot.command()
        async def status(ctx):
            await ctx.send("all systems nominal")


        bot.run("«t»")
        ''', t=S(discord_bot(), "Discord bot token")), "discord-bot-py")

    add(F, "json", "bot/config.json", T("""
        {
          "prefix": "?",
          "token": "«t»",
          "ownerId": "«o»",
          "guilds": ["«g1»", "«g2»"],
          "presence": {
            "status": "online",
            "activity": "watching the build queue"
          },
          "modules": ["moderation", "music", "reminders"]
        }
        """, t=S(discord_bot(), "Discord bot token (no service named)"), o=digits(18), g1=digits(19), g2=digits(19)),
        "discord-bot-json")

    add(F, "python", "notify/telegram.py", T('''
        import requests

        TELEGRAM_BOT_TOKEN = "«t»"
        CHAT_ID = -100«chat»


        def send(text: str) -> None:
            url = f"https://api.telegram.org/bot{TELEGRAM_BOT_TOKEN}/sendMessage"
            requests.post(url, data={"chat_id": CHAT_ID, "text": text, "parse_mode": "HTML"}, timeout=10)


        if __name__ == "__main__":
            import sys
            send(" ".join(sys.argv[1:]) or "ping")
        ''', t=S(telegram_bot(), "Telegram bot token"), chat=digits(10)), "telegram-py")

    add(F, "bash", "ops/backup/notify-done.sh", T("""
        #!/bin/sh
        # called by restic at the end of the nightly run
        STATUS="$1"
        HOST=$(hostname -f)
        curl -s -X POST "https://api.telegram.org/bot«t»/sendMessage" \\
          -d chat_id=«chat» \\
          -d text="backup on ${HOST}: ${STATUS}" >/dev/null
        """, t=S(telegram_bot(), "Telegram bot token in API URL"), chat=digits(9)), "telegram-curl")

    add(F, "yaml", "config/notifier.yaml", T("""
        notifier:
          enabled: true
          bot:
            token: "«t»"
            chat: "«chat»"
          quiet_hours:
            from: "22:00"
            to: "07:00"
          events:
            - deploy.succeeded
            - deploy.failed
            - incident.opened
        """, t=S(telegram_bot(), "Telegram bot token (no service named)"), chat="-100" + digits(10)), "telegram-yaml")

    add(F, "alertmanager", "monitoring/alertmanager.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url: «w»

        route:
          receiver: slack-default
          group_by: [alertname, cluster]
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 4h
          routes:
            - matchers: [severity="page"]
              receiver: pagerduty

        receivers:
          - name: slack-default
            slack_configs:
              - channel: "#alerts"
                send_resolved: true
          - name: pagerduty
            pagerduty_configs:
              - routing_key_file: /etc/alertmanager/pd_routing_key
        """, w=S(slack_webhook(), "Slack incoming webhook URL")), "alertmanager-slack")

    add(F, "jenkinsfile", "ci/Jenkinsfile.nightly", T("""
        def HOOK = '«w»'

        pipeline {
            agent any
            triggers { cron('H 1 * * *') }
            stages {
                stage('Test') {
                    steps { sh 'make test-integration' }
                }
            }
            post {
                failure {
                    sh "curl -s -X POST -H 'Content-type: application/json' --data '{\\"text\\":\\"nightly failed: ${env.BUILD_URL}\\"}' ${HOOK}"
                }
            }
        }
        """, w=S(slack_webhook(), "Slack webhook URL (generic variable name)")), "jenkins-slack-hook")

    add(F, "powershell", "scripts/Send-DeployNotice.ps1", T("""
        param(
            [Parameter(Mandatory)] [string]$Version,
            [string]$Environment = 'production'
        )

        $teamsUrl = '«w»'

        $card = @{
            '@type'    = 'MessageCard'
            '@context' = 'http://schema.org/extensions'
            summary    = "Deployed $Version"
            themeColor = '0078D7'
            title      = "Deployed $Version to $Environment"
            text       = "Deployed by $env:USERNAME at $(Get-Date -Format u)"
        } | ConvertTo-Json -Depth 4

        Invoke-RestMethod -Method Post -Uri $teamsUrl -Body $card -ContentType 'application/json'
        """, w=S(teams_webhook("acmecorp"), "Microsoft Teams incoming webhook URL")), "teams-ps")

    add(F, "yaml", "grafana/provisioning/alerting/contactpoints.yaml", T("""
        apiVersion: 1
        contactPoints:
          - orgId: 1
            name: ops-channel
            receivers:
              - uid: ops-teams
                type: teams
                settings:
                  url: «w»
                  title: '{{ template "default.title" . }}'
                disableResolveMessage: false
          - orgId: 1
            name: email-oncall
            receivers:
              - uid: oncall-mail
                type: email
                settings:
                  addresses: oncall@acme.io
        """, w=S(teams_webhook("acme"), "Microsoft Teams webhook URL")), "teams-grafana")

    # ---------------- hard negatives
    add(F, "markdown", "docs/notifications.md", T("""
        # Notifications

        1. In Slack, create an *Incoming Webhook*; it looks like
           `https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX`.
        2. For Discord use *Server Settings → Integrations → Webhooks*; the URL has the form
           `https://discord.com/api/webhooks/<webhook_id>/<webhook_token>`.
        3. For Telegram talk to @BotFather; the token looks like
           `123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11`.
        4. Teams: `https://<tenant>.webhook.office.com/webhookb2/<group>@<tenant-id>/IncomingWebhook/<id>/<owner>`.

        Put the URL in the `NOTIFY_WEBHOOK_URL` secret.
        """), "neg-webhook-docs")

    add(F, "python", "notify/dispatch.py", T('''
        import os

        import requests

        WEBHOOKS = {
            "slack": os.environ.get("SLACK_WEBHOOK_URL"),
            "discord": os.environ.get("DISCORD_WEBHOOK_URL"),
            "teams": os.environ.get("TEAMS_WEBHOOK_URL"),
        }
        TELEGRAM_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "")


        def dispatch(text):
            for name, url in WEBHOOKS.items():
                if url:
                    requests.post(url, json={"text": text, "content": text}, timeout=5)
            if TELEGRAM_TOKEN:
                requests.post(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage",
                              data={"chat_id": os.environ["TELEGRAM_CHAT_ID"], "text": text}, timeout=5)
        '''), "neg-webhook-env")

    add(F, "alertmanager", "monitoring/alertmanager.tmpl.yml", T("""
        global:
          resolve_timeout: 5m
          slack_api_url_file: /etc/alertmanager/secrets/slack_webhook

        route:
          receiver: slack-default

        receivers:
          - name: slack-default
            slack_configs:
              - channel: "#alerts"
                send_resolved: true
            webhook_configs:
              - url: http://alert-bridge.monitoring.svc:8080/discord
        """), "neg-alertmanager-file")

    add(F, "javascript", "test/webhook.test.js", T("""
        const nock = require('nock');
        const { postDiscord } = require('../src/webhook');

        describe('postDiscord', () => {
          const url = 'https://discord.com/api/webhooks/000000000000000000/test-token';

          it('posts the message', async () => {
            const scope = nock('https://discord.com')
              .post('/api/webhooks/000000000000000000/test-token', { content: 'hi' })
              .reply(204);
            await postDiscord(url, 'hi');
            scope.done();
          });
        });
        """), "neg-webhook-test")

    add(F, "yaml", "config/bridge.example.yaml", T("""
        # copy to bridge.yaml and fill in
        telegram:
          token: "<bot-token-from-botfather>"
          chat_id: ""
        discord:
          webhook_url: "https://discord.com/api/webhooks/ID/TOKEN"
        slack:
          webhook_url: "https://hooks.slack.com/services/XXX/YYY/ZZZ"
        teams:
          webhook_url: ""
        """), "neg-webhook-example-config")


# =====================================================================
# generic
# =====================================================================
def generic():
    F = "generic"
    add(F, "spring-yaml", "src/main/resources/application.yml", T("""
        server:
          port: 8080
          servlet:
            context-path: /api

        spring:
          application:
            name: payments
          datasource:
            url: jdbc:postgresql://pg-payments.internal:5432/payments
            username: payments
            password: «p»
            hikari:
              maximum-pool-size: 15
          jpa:
            hibernate:
              ddl-auto: validate
          mail:
            host: smtp.acme.io
            port: 587
            username: noreply@acme.io
            password: «m»

        management:
          endpoints:
            web:
              exposure:
                include: health,prometheus
        """, p=S(password(), "spring.datasource.password"), m=S(password(), "spring.mail.password")), "spring-yml")

    add(F, "properties", "config/application-staging.properties", T("""
        spring.profiles.active=staging
        spring.datasource.url=jdbc:mysql://mysql-stg.internal:3306/crm
        spring.datasource.username=crm
        spring.datasource.password=«p»
        spring.datasource.driver-class-name=com.mysql.cj.jdbc.Driver
        spring.security.oauth2.client.registration.okta.client-id=0oa«cid»
        spring.security.oauth2.client.registration.okta.client-secret=«cs»
        spring.security.oauth2.client.provider.okta.issuer-uri=https://acme.okta.com/oauth2/default
        crm.jwt.signing-key=«jk»
        logging.level.org.springframework.security=INFO
        """, p=S(password(), "spring.datasource.password"), cid=rs(ALNUM, 17),
        cs=S(b64url(40), "OAuth client secret"), jk=S(b64bytes(48), "JWT signing key")), "spring-properties")

    add(F, "python", "mysite/settings.py", T("""
        from pathlib import Path

        BASE_DIR = Path(__file__).resolve().parent.parent

        SECRET_KEY = '«sk»'

        DEBUG = False
        ALLOWED_HOSTS = ['mysite.acme.io']

        INSTALLED_APPS = [
            'django.contrib.admin',
            'django.contrib.auth',
            'django.contrib.contenttypes',
            'django.contrib.sessions',
            'django.contrib.messages',
            'django.contrib.staticfiles',
            'blog',
        ]

        DATABASES = {
            'default': {
                'ENGINE': 'django.db.backends.postgresql',
                'NAME': 'mysite',
                'USER': 'mysite',
                'PASSWORD': '«p»',
                'HOST': 'pg-main.internal',
                'PORT': '5432',
            }
        }

        STATIC_URL = 'static/'
        DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
        """, sk=S(django_key(), "Django SECRET_KEY"), p=S(password(), "database password")), "django-settings")

    add(F, "rails-database-yml", "config/database.production.yml", T("""
        production:
          adapter: mysql2
          encoding: utf8mb4
          pool: 10
          host: mysql-prod.internal
          port: 3306
          database: helpdesk_production
          username: helpdesk
          password: «p»
          variables:
            sql_mode: TRADITIONAL
        """, p=S(password(), "database password")), "rails-database-yml")

    add(F, "rails-master-key", "config/master.key", S(hx(32), "Rails master key") + "\n", "rails-master-key")

    add(F, "dotenv", ".env.production", T("""
        APP_NAME="Acme CRM"
        APP_ENV=production
        APP_KEY=base64:«ak»
        APP_DEBUG=false
        APP_URL=https://crm.acme.io

        DB_CONNECTION=mysql
        DB_HOST=mysql-prod.internal
        DB_PORT=3306
        DB_DATABASE=crm
        DB_USERNAME=crm
        DB_PASSWORD=«dp»

        REDIS_HOST=redis.internal
        REDIS_PASSWORD=«rp»
        REDIS_PORT=6379

        MAIL_MAILER=smtp
        MAIL_HOST=smtp.mailgun.org
        MAIL_PORT=587
        MAIL_USERNAME=postmaster@mg.acme.io
        MAIL_PASSWORD=«mp»
        MAIL_ENCRYPTION=tls
        """, ak=S(b64bytes(32), "Laravel APP_KEY"), dp=S(password(), "DB_PASSWORD"),
        rp=S(rs(ALNUM, 32), "REDIS_PASSWORD"), mp=S(password(), "MAIL_PASSWORD")), "laravel-env")

    add(F, "javascript", "config/default.js", T("""
        module.exports = {
          port: 4000,
          cors: { origin: ['https://app.acme.io'] },
          auth: {
            jwtSecret: '«js»',
            jwtExpiresIn: '15m',
            refreshExpiresIn: '30d',
          },
          session: {
            name: 'sid',
            secret: '«ss»',
            cookie: { secure: true, sameSite: 'lax' },
          },
          db: {
            host: 'pg-main.internal',
            database: 'app',
            user: 'app',
          },
        };
        """, js=S(rs(ALNUM, 48), "JWT signing secret"), ss=S(hx(64), "session secret")), "node-config-js")

    add(F, "kubernetes", "k8s/payments/secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: payments-credentials
          namespace: payments
          labels:
            app: payments
        type: Opaque
        data:
          DB_USERNAME: «u»
          DB_PASSWORD: «p»
          PSP_API_KEY: «k»
          WEBHOOK_SIGNING_SECRET: «w»
        """, u=base64.b64encode(b"payments").decode(),
        p=S(base64.b64encode(password().encode()).decode(), "base64 password in Secret data"),
        k=S(base64.b64encode(b64url(40).encode()).decode(), "base64 API key in Secret data"),
        w=S(base64.b64encode(("whsec_" + b62(32)).encode()).decode(), "base64 webhook signing secret")), "k8s-secret-data")

    nbpw = password()
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["## Churn analysis – Q1\n"]},
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": ["import pandas as pd\n", "import psycopg2\n"]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
             "source": ["conn = psycopg2.connect(\n", "    host='pg-replica.internal',\n", "    dbname='analytics',\n",
                        "    user='analyst',\n", "    password='@@PW@@',\n", ")\n",
                        "df = pd.read_sql('select * from churn_q1', conn)"]},
            {"cell_type": "code", "execution_count": 3, "metadata": {},
             "outputs": [{"name": "stdout", "output_type": "stream", "text": ["(18234, 12)\n"]}],
             "source": ["print(df.shape)"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}
    add(F, "ipynb", "analysis/churn_q1.ipynb",
        json.dumps(nb, indent=1).replace("@@PW@@", S(nbpw, "database password in notebook cell")) + "\n", "ipynb-password")

    salts = {k: S(wp_salt().replace("'", "").replace("\\", ""), "WordPress %s" % k) for k in
             ["AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
              "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"]}
    salt_lines = "\n".join("define( '%s',%s'%s' );" % (k, " " * (17 - len(k)), v) for k, v in salts.items())
    add(F, "php", "wp-config.php", T("""
        <?php
        define( 'DB_NAME', 'wp_blog' );
        define( 'DB_USER', 'wp_blog' );
        define( 'DB_PASSWORD', '«p»' );
        define( 'DB_HOST', 'mysql-web.internal' );
        define( 'DB_CHARSET', 'utf8mb4' );
        define( 'DB_COLLATE', '' );

        «salts»

        $table_prefix = 'wp_';
        define( 'WP_DEBUG', false );

        if ( ! defined( 'ABSPATH' ) ) {
        	define( 'ABSPATH', __DIR__ . '/' );
        }
        require_once ABSPATH . 'wp-settings.php';
        """, p=S(password(), "DB_PASSWORD"), salts=salt_lines), "wp-config")

    add(F, "ansible-inventory", "inventories/prod/hosts.ini", T("""
        [web]
        web-01.acme.io
        web-02.acme.io

        [db]
        db-01.acme.io ansible_user=admin ansible_password=«p1»

        [windows]
        win-build-01.corp.acme.io

        [windows:vars]
        ansible_connection=winrm
        ansible_user=CORP\\svc_ansible
        ansible_password=«p2»
        ansible_winrm_transport=ntlm

        [all:vars]
        ansible_become_pass=«p3»
        """, p1=S(password(), "ansible_password"), p2=S(password(), "ansible_password"),
        p3=S(password(), "ansible_become_pass")), "ansible-inventory")

    add(F, "ansible", "playbooks/mysql.yml", T("""
        ---
        - name: Install MySQL
          hosts: db
          become: true
          vars:
            mysql_root_password: «p»
            mysql_databases:
              - name: shop
            mysql_users:
              - name: shop
                host: "%"
                password: «p2»
                priv: "shop.*:ALL"
          roles:
            - geerlingguy.mysql
        """, p=S(password(), "mysql_root_password"), p2=S(password(), "MySQL user password")), "ansible-playbook")

    add(F, "helm-values", "deploy/charts/keycloak/values-prod.yaml", T("""
        auth:
          adminUser: admin
          adminPassword: «a»

        postgresql:
          enabled: true
          auth:
            username: keycloak
            password: «p»
            database: keycloak

        ingress:
          enabled: true
          hostname: sso.acme.io
          tls: true

        replicaCount: 2
        """, a=S(password(), "Keycloak admin password"), p=S(password(), "PostgreSQL password")), "helm-keycloak")

    add(F, "terraform", "infra/rds/main.tf", T("""
        resource "aws_db_instance" "orders" {
          identifier              = "orders-prod"
          engine                  = "postgres"
          engine_version          = "15.5"
          instance_class          = "db.r6g.large"
          allocated_storage       = 100
          db_name                 = "orders"
          username                = "orders_admin"
          password                = "«p»"
          backup_retention_period = 14
          deletion_protection     = true
          skip_final_snapshot     = false
          vpc_security_group_ids  = [aws_security_group.db.id]
          db_subnet_group_name    = aws_db_subnet_group.private.name
        }
        """, p=S(password(), "RDS master password")), "tf-rds-password")

    add(F, "ini", "conf/app.ini", T("""
        [server]
        host = 0.0.0.0
        port = 8000
        workers = 4

        [database]
        driver = postgresql
        host = pg-main.internal
        name = warehouse
        user = warehouse
        password = «p»

        [smtp]
        host = smtp.acme.io
        user = alerts@acme.io
        pass = «s»

        [logging]
        level = INFO
        """, p=S(password(), "database password"), s=S(password(), "SMTP password")), "ini-app")

    add(F, "toml", "config/production.toml", T("""
        [server]
        bind = "0.0.0.0:8443"
        tls = true

        [oauth]
        provider = "github"
        client_id = "Ov23li«cid»"
        client_secret = "«cs»"
        redirect_url = "https://dash.acme.io/auth/callback"

        [storage]
        kind = "s3"
        bucket = "acme-dash"

        [analytics]
        api_key = "«ak»"
        flush_interval = "10s"
        """, cid=rs(ALNUM, 14), cs=S(hx(40), "OAuth client secret"), ak=S(rs(ALNUM, 32), "analytics API key")), "toml-config")

    add(F, "xml", "Web.Release.config", T("""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration xmlns:xdt="http://schemas.microsoft.com/XML-Document-Transform">
          <appSettings>
            <add key="ida:ClientId" value="«cid»" xdt:Transform="SetAttributes" xdt:Locator="Match(key)" />
            <add key="ida:ClientSecret" value="«cs»" xdt:Transform="SetAttributes" xdt:Locator="Match(key)" />
            <add key="SmtpPassword" value="«sp»" xdt:Transform="SetAttributes" xdt:Locator="Match(key)" />
            <add key="Environment" value="Production" xdt:Transform="SetAttributes" xdt:Locator="Match(key)" />
          </appSettings>
          <system.web>
            <compilation xdt:Transform="RemoveAttributes(debug)" />
          </system.web>
        </configuration>
        """, cid=uid(), cs=S(azure_client_secret(), "client secret"), sp=S(password(), "SMTP password")), "webconfig-appsettings")

    add(F, "rust", "src/config.rs", T("""
        use std::time::Duration;

        pub const API_BASE: &str = "https://api.partner-payments.com";
        pub const API_SECRET: &str = "«s»";
        pub const TIMEOUT: Duration = Duration::from_secs(15);

        pub struct Settings {
            pub region: String,
            pub retries: u32,
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { region: "eu".into(), retries: 3 }
            }
        }
        """, s=S(rs(ALNUM, 40), "API secret")), "rust-api-secret")

    add(F, "sql", "db/init/01-roles.sql", T("""
        -- roles for the reporting stack
        CREATE ROLE reporting_ro NOLOGIN;
        GRANT CONNECT ON DATABASE warehouse TO reporting_ro;
        GRANT USAGE ON SCHEMA public TO reporting_ro;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting_ro;

        CREATE USER metabase WITH PASSWORD '«p1»';
        GRANT reporting_ro TO metabase;

        CREATE USER airflow WITH LOGIN PASSWORD '«p2»';
        GRANT ALL PRIVILEGES ON DATABASE airflow TO airflow;

        ALTER USER postgres WITH PASSWORD '«p3»';
        """, p1=S(password(), "SQL user password"), p2=S(password(), "SQL user password"),
        p3=S(password(), "SQL superuser password")), "sql-create-user")

    add(F, "docker-compose", "docker-compose.prod.yml", T("""
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: gitea
              POSTGRES_PASSWORD: «p»
              POSTGRES_DB: gitea
            volumes:
              - db:/var/lib/postgresql/data
          gitea:
            image: gitea/gitea:1.21
            environment:
              GITEA__database__DB_TYPE: postgres
              GITEA__database__HOST: db:5432
              GITEA__database__USER: gitea
              GITEA__database__PASSWD: «p»
              GITEA__security__SECRET_KEY: «sk»
            ports:
              - "3000:3000"
            depends_on: [db]
        volumes:
          db: {}
        """, p=S(password(), "database password"), sk=S(rs(ALNUM, 64), "Gitea secret key")), "compose-postgres")

    add(F, "go", "internal/auth/jwt.go", T("""
        package auth

        import (
        	"time"

        	"github.com/golang-jwt/jwt/v5"
        )

        var signingKey = []byte("«k»")

        func Issue(sub string) (string, error) {
        	claims := jwt.RegisteredClaims{
        		Subject:   sub,
        		IssuedAt:  jwt.NewNumericDate(time.Now()),
        		ExpiresAt: jwt.NewNumericDate(time.Now().Add(15 * time.Minute)),
        		Issuer:    "acme-auth",
        	}
        	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(signingKey)
        }
        """, k=S(rs(ALNUM, 44), "JWT HMAC signing key")), "go-jwt-key")

    add(F, "powershell", "scripts/New-ServiceUser.ps1", T("""
        Import-Module ActiveDirectory

        $name     = 'svc_sqlagent'
        $ou       = 'OU=Service Accounts,DC=corp,DC=acme,DC=io'
        $password = '«p»'

        New-ADUser -Name $name -SamAccountName $name -Path $ou `
            -AccountPassword (ConvertTo-SecureString $password -AsPlainText -Force) `
            -PasswordNeverExpires $true -Enabled $true

        Add-ADGroupMember -Identity 'SQL Agents' -Members $name
        Write-Host "created $name"
        """, p=S(password(), "password assignment")), "ps-password")

    add(F, "kotlin", "app/src/main/java/io/acme/app/net/AuthConfig.kt", T("""
        package io.acme.app.net

        object AuthConfig {
            const val ISSUER = "https://auth.acme.io"
            const val CLIENT_ID = "mobile-backend"
            const val CLIENT_SECRET = "«cs»"
            const val SCOPE = "openid profile orders:read"
            const val REDIRECT = "io.acme.app:/oauth2redirect"
        }
        """, cs=S(b64url(43), "OAuth client secret")), "kotlin-client-secret")

    add(F, "csharp", "src/Acme.Worker/appsettings.json", T("""
        {
          "ConnectionStrings": {
            "Default": "Host=pg-main.internal;Database=worker;Username=worker;Password=«p»"
          },
          "Jwt": {
            "Issuer": "https://auth.acme.io",
            "Audience": "worker",
            "Key": "«k»"
          },
          "Smtp": {
            "Host": "smtp.acme.io",
            "User": "worker@acme.io",
            "Password": "«sp»"
          }
        }
        """, p=S(password(), "Npgsql Password="), k=S(rs(ALNUM, 48), "JWT signing key"),
        sp=S(password(), "SMTP password")), "appsettings-secrets")

    add(F, "java", "src/main/java/io/acme/legacy/FtpExporter.java", T("""
        package io.acme.legacy;

        import org.apache.commons.net.ftp.FTPClient;

        import java.io.FileInputStream;
        import java.io.IOException;

        public class FtpExporter {
            private static final String HOST = "ftp.partner-bank.com";
            private static final String USER = "acme_exports";
            private static final String PASSWORD = "«p»";

            public void upload(String local, String remote) throws IOException {
                FTPClient ftp = new FTPClient();
                ftp.connect(HOST);
                ftp.login(USER, PASSWORD);
                try (FileInputStream in = new FileInputStream(local)) {
                    ftp.storeFile(remote, in);
                } finally {
                    ftp.logout();
                    ftp.disconnect();
                }
            }
        }
        """, p=S(password(), "FTP password constant")), "java-password-const")

    # ---------------- hard negatives
    add(F, "python", "app/forms.py", T('''
        from django import forms
        from django.contrib.auth.password_validation import validate_password


        class SignupForm(forms.Form):
            email = forms.EmailField()
            password = forms.CharField(widget=forms.PasswordInput, min_length=12)
            password_confirm = forms.CharField(widget=forms.PasswordInput, label="Confirm password")

            def clean(self):
                data = super().clean()
                if data.get("password") != data.get("password_confirm"):
                    raise forms.ValidationError("Passwords do not match")
                validate_password(data.get("password"))
                return data
        '''), "neg-password-form")

    add(F, "yaml", "config/secrets-map.yml", T("""
        # Which secret store entry feeds which setting
        settings:
          db_password:
            source: aws-secrets-manager
            secret_id: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/orders/db-AbCdEf
            key: password
          stripe_secret_key:
            source: vault
            path: secret/data/payments/stripe
            field: secret_key
          slack_token:
            source: 1password
            ref: op://Platform/Slack bot/credential
          session_secret:
            source: env
            name: SESSION_SECRET
        """), "neg-secret-references")

    add(F, "properties", "src/test/resources/application-test.properties", T("""
        spring.datasource.url=jdbc:h2:mem:testdb;DB_CLOSE_DELAY=-1
        spring.datasource.username=sa
        spring.datasource.password=
        spring.jpa.hibernate.ddl-auto=create-drop
        spring.security.user.name=test
        spring.security.user.password=test
        app.jwt.secret=${JWT_SECRET:}
        """), "neg-empty-and-test")

    add(F, "terraform", "infra/rds/password.tf", T("""
        resource "random_password" "db" {
          length           = 32
          special          = true
          override_special = "!#$%&*()-_=+[]{}<>:?"
        }

        resource "aws_secretsmanager_secret" "db" {
          name = "prod/orders/db"
        }

        resource "aws_secretsmanager_secret_version" "db" {
          secret_id     = aws_secretsmanager_secret.db.id
          secret_string = jsonencode({ username = "orders_admin", password = random_password.db.result })
        }

        output "db_password_secret_arn" {
          value = aws_secretsmanager_secret.db.arn
        }
        """), "neg-random-password")

    add(F, "kubernetes", "k8s/payments/deployment.yaml", T("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: payments
        spec:
          replicas: 2
          selector:
            matchLabels: {app: payments}
          template:
            metadata:
              labels: {app: payments}
            spec:
              containers:
                - name: payments
                  image: registry.acme.io/payments:3.2.1
                  env:
                    - name: DB_PASSWORD
                      valueFrom:
                        secretKeyRef:
                          name: payments-credentials
                          key: DB_PASSWORD
                    - name: PSP_API_KEY
                      valueFrom:
                        secretKeyRef: {name: payments-credentials, key: PSP_API_KEY}
        """), "neg-secretkeyref")


# =====================================================================
# key-material-files (binary)
# =====================================================================
def der_seq(n):
    """An ASN.1 SEQUENCE header for n content bytes (long form)."""
    return b"\x30\x82" + n.to_bytes(2, "big")


def key_material():
    F = "key-material-files"
    p12 = lambda n: der_seq(n) + b"\x02\x01\x03\x30\x82" + rbytes(n - 5)
    add_bin(F, "pkcs12", "certs/client-identity.p12", p12(2600), "p12", "PKCS#12 keystore (private key inside)")
    add_bin(F, "pkcs12", "src/Acme.Api/Certificates/signing.pfx", p12(3100), "pfx", "PFX keystore (private key inside)")
    jks = lambda n: b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00\x01" + rbytes(n)
    add_bin(F, "jks", "src/main/resources/keystore.jks", jks(2200), "jks", "Java keystore with a private-key entry")
    add_bin(F, "jks", "android/app/release.keystore", jks(2600), "android-keystore", "Android release signing keystore")
    add_bin(F, "jks", "signing/upload-keystore.jks", p12(2500), "upload-jks-p12", "PKCS#12-format keystore with .jks name")
    jceks = b"\xce\xce\xce\xce\x00\x00\x00\x02\x00\x00\x00\x01" + rbytes(1800)
    add_bin(F, "jceks", "config/credentials.jceks", jceks, "jceks", "JCEKS keystore (secret-key entries)")

    # ---------------- hard negatives (binary, but only public material / not key material)
    add_bin(F, "der", "certs/root-ca.der", der_seq(1180) + b"\x30\x82\x03\x7f\xa0\x03\x02\x01\x02" + rbytes(1171), "neg-der-cert")
    add_bin(F, "pkcs7", "certs/intermediate-chain.p7b",
            der_seq(2400) + b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" + rbytes(2389), "neg-p7b")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x20\x00\x00\x00\x20\x08\x06\x00\x00\x00" + rbytes(900) + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    add_bin(F, "png", "web/static/icons/key.png", png, "neg-key-png")
    add_bin(F, "gpg-keyring", "ci/keys/trusted-signers.gpg", b"\x99\x01\x8d\x04" + rbytes(1400), "neg-gpg-pubring")
    add_bin(F, "pdf", "docs/keystore-rotation.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + rbytes(1500) + b"\n%%EOF\n", "neg-pdf")


# =====================================================================
# public-material (all negatives)
# =====================================================================
def public_material():
    F = "public-material"
    add(F, "pem", "certs/ca-bundle.crt", T("""
        # Acme Root CA 2021
        «c1»
        # Acme Issuing CA 2023
        «c2»
        # Partner Bank Root
        «c3»
        """, c1=pem("CERTIFICATE"), c2=pem("CERTIFICATE"), c3=pem("CERTIFICATE")), "ca-bundle")
    add(F, "pem", "nginx/ssl/server.crt", pem("CERTIFICATE") + "\n", "server-crt")
    add(F, "pem", "letsencrypt/live/shop.acme.io/fullchain.pem",
        pem("CERTIFICATE") + "\n" + pem("CERTIFICATE") + "\n", "fullchain")
    add(F, "ssh-public-key", "keys/deploy_ed25519.pub", ssh_pub("ssh-ed25519", "deploy@build01") + "\n", "ed25519-pub")
    add(F, "authorized-keys", "roles/users/files/authorized_keys", "\n".join([
        "# managed by ansible - do not edit",
        ssh_pub("ssh-ed25519", "alice@laptop"),
        ssh_pub("ssh-rsa", "bob@workstation"),
        'command="/usr/local/bin/backup-only",no-port-forwarding,no-pty ' + ssh_pub("ssh-ed25519", "backup@nas"),
        'from="10.20.0.0/16" ' + ssh_pub("ecdsa-sha2-nistp256", "ci@runner"),
    ]) + "\n", "authorized-keys")
    hk = lambda: "|1|%s|%s" % (b64bytes(20), b64bytes(20))
    add(F, "known-hosts", "ci/ssh/known_hosts", "\n".join([
        "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        "gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeHHE5UOzRdf",
        hk() + " " + " ".join(ssh_pub("ecdsa-sha2-nistp256").split()[:2]),
        hk() + " " + " ".join(ssh_pub("ssh-ed25519").split()[:2]),
        "[git.acme.io]:2222 " + " ".join(ssh_pub("ssh-rsa").split()[:2]),
    ]) + "\n", "known-hosts")
    add(F, "pgp", "KEYS", T("""
        This file contains the PGP keys of developers who may sign releases.

        Users:     gpg --import KEYS
        Developers: (gpg --list-sigs <you> && gpg --armor --export <you>) >> KEYS

        pub   rsa4096 2021-03-11 [SC]
              «fp»
        uid           [ultimate] Release Manager <releases@acme.io>

        «k»
        """, fp=HX(40), k=pgp_block(False)), "pgp-keys-file")
    add(F, "pem", "config/jwt/public.pem", pem("PUBLIC KEY") + "\n", "jwt-public-pem")

    n = base64.urlsafe_b64encode(rbytes(256)).decode().rstrip("=")
    add(F, "json", "public/.well-known/jwks.json", json.dumps({"keys": [
        {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "2024-01-rotation", "n": n, "e": "AQAB"},
        {"kty": "EC", "use": "sig", "alg": "ES256", "kid": "2024-ec", "crv": "P-256",
         "x": base64.urlsafe_b64encode(rbytes(32)).decode().rstrip("="),
         "y": base64.urlsafe_b64encode(rbytes(32)).decode().rstrip("=")}]}, indent=2) + "\n", "jwks")

    add(F, "javascript", "web/src/checkout.js", T("""
        import { loadStripe } from '@stripe/stripe-js';

        // publishable key: safe to ship to the browser
        const stripePromise = loadStripe('«pk»');

        export async function startCheckout(sessionId) {
          const stripe = await stripePromise;
          const { error } = await stripe.redirectToCheckout({ sessionId });
          if (error) {
            console.error(error.message);
            throw error;
          }
        }
        """, pk=stripe("pk_live_")), "stripe-pk")

    add(F, "html", "web/public/login.html", T("""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Sign in</title>
          <meta name="google-signin-client_id" content="«cid».apps.googleusercontent.com">
          <script src="https://accounts.google.com/gsi/client" async defer></script>
          <script src="https://www.google.com/recaptcha/api.js?render=6L«rc»"></script>
        </head>
        <body>
          <div id="g_id_onload"
               data-client_id="«cid».apps.googleusercontent.com"
               data-login_uri="https://app.acme.io/auth/google"></div>
          <div class="g_id_signin" data-type="standard"></div>
        </body>
        </html>
        """, cid=digits(12) + "-" + rs(string.ascii_lowercase + string.digits, 32), rc=b64url(38)), "google-client-id")

    add(F, "json", "src/Acme.Web/appsettings.json", T("""
        {
          "AzureAd": {
            "Instance": "https://login.microsoftonline.com/",
            "Domain": "acmecorp.onmicrosoft.com",
            "TenantId": "«t»",
            "ClientId": "«c»",
            "CallbackPath": "/signin-oidc",
            "Scopes": "access_as_user"
          },
          "ApplicationInsights": {
            "ConnectionString": "InstrumentationKey=«ik»;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/"
          },
          "Logging": { "LogLevel": { "Default": "Information" } },
          "AllowedHosts": "*"
        }
        """, t=uid(), c=uid(), ik=uid()), "azure-ad-ids")

    add(F, "javascript", "web/src/firebase.js", T("""
        import { initializeApp } from 'firebase/app';
        import { getAuth } from 'firebase/auth';
        import { getFirestore } from 'firebase/firestore';

        const firebaseConfig = {
          apiKey: '«k»',
          authDomain: 'acme-shop-prod.firebaseapp.com',
          projectId: 'acme-shop-prod',
          storageBucket: 'acme-shop-prod.appspot.com',
          messagingSenderId: '«s»',
          appId: '1:«s»:web:«a»',
          measurementId: 'G-«m»',
        };

        const app = initializeApp(firebaseConfig);
        export const auth = getAuth(app);
        export const db = getFirestore(app);
        """, k=google_api(), s=digits(12), a=hx(22), m=rs(string.ascii_uppercase + string.digits, 10)), "firebase-web")

    add(F, "typescript", "sentry.client.config.ts", T("""
        import * as Sentry from "@sentry/nextjs";

        Sentry.init({
          dsn: "https://«pk»@o«org».ingest.sentry.io/«proj»",
          tracesSampleRate: 0.1,
          replaysSessionSampleRate: 0.0,
          replaysOnErrorSampleRate: 1.0,
          environment: process.env.NEXT_PUBLIC_VERCEL_ENV ?? "development",
          integrations: [Sentry.replayIntegration()],
        });
        """, pk=hx(32), org=digits(6), proj=digits(7)), "sentry-dsn")

    add(F, "markdown", "docs/aws-setup.md", T("""
        # Configuring AWS access for local development

        Run `aws configure` and enter your key pair. The values below are the
        examples from the AWS documentation, not real keys:

        ```ini
        [default]
        aws_access_key_id = AKIAIOSFODNN7EXAMPLE
        aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        region = us-west-2
        ```

        Temporary credentials additionally need `aws_session_token`.
        Prefer `aws sso login` with a named profile over static keys.
        """), "aws-example-keys")

    add(F, "dotenv", ".env.example", T("""
        # Copy to .env and fill in. Never commit .env.
        APP_ENV=local
        APP_KEY=
        APP_URL=http://localhost:8000

        DB_HOST=127.0.0.1
        DB_PORT=5432
        DB_DATABASE=app
        DB_USERNAME=app
        DB_PASSWORD=

        STRIPE_KEY=
        STRIPE_SECRET=
        SENDGRID_API_KEY=
        SLACK_WEBHOOK_URL=
        OPENAI_API_KEY=
        """), "env-example")

    add(F, "aws-credentials", "templates/aws-credentials.template", T("""
        # Fill in and save as ~/.aws/credentials
        [default]
        aws_access_key_id =
        aws_secret_access_key =

        [backup-writer]
        aws_access_key_id =
        aws_secret_access_key =
        """), "aws-cred-template")

    add(F, "pem", "certs/requests/shop.acme.io.csr", pem("CERTIFICATE REQUEST") + "\n", "csr")
    add(F, "ssh-public-key", "roles/sshd/files/ssh_host_ed25519_key.pub", ssh_pub("ssh-ed25519", "root@web-01") + "\n", "host-key-pub")

    add(F, "kubernetes", "k8s/trust/ca-configmap.yaml", T("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: corporate-ca
          namespace: kube-system
        data:
          ca.crt: |
            «c»
        """, c=pem("CERTIFICATE").replace("\n", "\n    ")), "ca-configmap")

    add(F, "json", "android/app/google-services.json", T("""
        {
          "project_info": {
            "project_number": "«pn»",
            "project_id": "acme-shop-prod",
            "storage_bucket": "acme-shop-prod.appspot.com"
          },
          "client": [
            {
              "client_info": {
                "mobilesdk_app_id": "1:«pn»:android:«a»",
                "android_client_info": { "package_name": "io.acme.shop" }
              },
              "oauth_client": [
                { "client_id": "«pn»-«c».apps.googleusercontent.com", "client_type": 3 }
              ],
              "api_key": [ { "current_key": "«k»" } ]
            }
          ],
          "configuration_version": "1"
        }
        """, pn=digits(12), a=hx(22), c=rs(string.ascii_lowercase + string.digits, 32), k=google_api()), "google-services-json")

    add(F, "javascript", "web/src/map.js", T("""
        import mapboxgl from 'mapbox-gl';

        // public token, URL-restricted to *.acme.io
        mapboxgl.accessToken = 'pk.«p»';

        export function initMap(el) {
          return new mapboxgl.Map({
            container: el,
            style: 'mapbox://styles/mapbox/streets-v12',
            center: [13.405, 52.52],
            zoom: 11,
          });
        }
        """, p=base64.urlsafe_b64encode(b'{"u":"acme-maps","a":"' + rs(ALNUM, 25).encode() + b'"}').decode().rstrip("=") + "." + b64url(22)), "mapbox-public")

    add(F, "yaml", "config/sms.yml", T("""
        sms:
          provider: twilio
          account_sid: «ac»
          messaging_service_sid: MG«mg»
          api_key_sid: «sk»
          api_key_secret: ${TWILIO_API_KEY_SECRET}
          from: "+15017122661"
        """, ac=twilio_sid("AC"), mg=hx(32), sk=twilio_sid("SK")), "twilio-sids")

    add(F, "json", "iam/policies/ci-key-rotation.json", T("""
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "DenyOldKey",
              "Effect": "Deny",
              "Action": "*",
              "Resource": "*",
              "Condition": {
                "StringEquals": { "aws:userid": "AIDA«u»" },
                "StringLike": { "aws:AccessKeyId": ["«k1»", "«k2»"] }
              }
            }
          ]
        }
        """, u=rs(B32, 17), k1=aws_akid(), k2=aws_akid()), "aws-key-ids-only")

    add(F, "yaml", ".github/app.yml", T("""
        # GitHub App manifest values (public)
        name: acme-release-bot
        app_id: «id»
        client_id: Iv1.«cid»
        url: https://github.com/apps/acme-release-bot
        webhook_url: https://bots.acme.io/github/events
        default_permissions:
          contents: write
          pull_requests: write
        default_events:
          - pull_request
          - push
        """, id=digits(6), cid=hx(16)), "github-app-ids")

    add(F, "spring-yaml", "src/main/resources/application-oauth.yml", T("""
        spring:
          security:
            oauth2:
              client:
                registration:
                  google:
                    client-id: «cid».apps.googleusercontent.com
                    client-secret: ${GOOGLE_CLIENT_SECRET}
                    scope: openid,profile,email
                  github:
                    client-id: «gh»
                    client-secret: ${GITHUB_CLIENT_SECRET}
        """, cid=digits(12) + "-" + rs(string.ascii_lowercase + string.digits, 32), gh="Ov23li" + rs(ALNUM, 14)), "oauth-client-ids")

    add(F, "xml", "saml/idp-metadata.xml", T("""
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sts.acme.io/adfs/services/trust">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="signing">
              <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
                <ds:X509Data>
                  <ds:X509Certificate>«c»</ds:X509Certificate>
                </ds:X509Data>
              </ds:KeyInfo>
            </md:KeyDescriptor>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sts.acme.io/adfs/ls/"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
        """, c="MIIC8DCCAdigAwIBAgIQ" + rs(ALNUM + "+/", 960)), "saml-metadata-cert")

    add(F, "pem", "cosign.pub", T("""
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE«a»
        «b»
        -----END PUBLIC KEY-----
        """, a=rs(ALNUM + "+/", 28), b=rs(ALNUM + "+/", 58) + "=="), "cosign-pub")

    add(F, "markdown", "SECURITY.md", T("""
        # Security Policy

        ## Reporting a vulnerability

        Email security@acme.io. Encrypt sensitive reports with our PGP key
        (fingerprint `«fp»`):

        ```
        «k»
        ```

        We aim to respond within two business days.
        """, fp=" ".join(HX(4) for _ in range(10)), k=pgp_block(False)), "security-md-pgp")

    add(F, "ansible", "roles/git/vars/main.yml", T("""
        ---
        git_known_hosts:
          - name: github.com
            key: "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
          - name: gitlab.com
            key: "gitlab.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAfuCHKVTjquxvt6CM6tdG4SLp1Btn/nOeHHE5UOzRdf"
          - name: git.acme.io
            key: "[git.acme.io]:2222 «hk»"
        git_user_name: Acme Deploy
        git_user_email: deploy@acme.io
        """, hk=" ".join(ssh_pub("ssh-ed25519").split()[:2])), "ansible-known-hosts")

    add(F, "terraform", "infra/aws/keypair.tf", T("""
        resource "aws_key_pair" "ops" {
          key_name   = "ops-2024"
          public_key = "«k»"
        }

        resource "aws_instance" "bastion" {
          ami                    = data.aws_ami.ubuntu.id
          instance_type          = "t4g.micro"
          key_name               = aws_key_pair.ops.key_name
          subnet_id              = aws_subnet.public_a.id
          vpc_security_group_ids = [aws_security_group.bastion.id]
        }
        """, k=ssh_pub("ssh-rsa", "ops@acme")), "tf-public-key")

    add(F, "javascript", "docusaurus.config.js", T("""
        module.exports = {
          title: 'Acme Docs',
          url: 'https://docs.acme.io',
          baseUrl: '/',
          themeConfig: {
            algolia: {
              appId: '«app»',
              // search-only key, public by design
              apiKey: '«k»',
              indexName: 'acme-docs',
              contextualSearch: true,
            },
            navbar: { title: 'Acme' },
          },
        };
        """, app=rs(string.ascii_uppercase + string.digits, 10), k=hx(32)), "algolia-search-key")

    add(F, "pem", "pki/crl/acme-issuing.crl", pem("X509 CRL") + "\n", "crl")

    add(F, "swift", "App/Sources/Config/Keys.swift", T("""
        import Foundation

        enum PublicKeys {
            /// Stripe publishable key (client-side by design)
            static let stripePublishable = "«pk»"
            /// Google Sign-In client id
            static let googleClientID = "«cid».apps.googleusercontent.com"
            /// Sentry DSN (public key only)
            static let sentryDSN = "https://«s»@o«o».ingest.us.sentry.io/«p»"
        }
        """, pk=stripe("pk_live_"), cid=digits(12) + "-" + rs(string.ascii_lowercase + string.digits, 32),
        s=hx(32), o=digits(6), p=digits(7)), "swift-public-keys")

    add(F, "markdown", "docs/ssh-access.md", T("""
        # SSH access

        Add your **public** key to `roles/users/files/authorized_keys` via a merge request:

        ```
        «k»
        ```

        Host fingerprints you should see on first connect:

        | Host | SHA256 fingerprint |
        |------|--------------------|
        | bastion.acme.io | `SHA256:«f1»` |
        | git.acme.io | `SHA256:«f2»` |
        """, k=ssh_pub("ssh-ed25519", "jane@laptop"), f1=b64bytes(32).rstrip("="), f2=b64bytes(32).rstrip("=")), "ssh-doc-fingerprints")


# =====================================================================
# non-secrets (all negatives)
# =====================================================================
def non_secrets():
    F = "non-secrets"
    add(F, "spring-yaml", "src/main/resources/application-prod.yml", T("""
        spring:
          datasource:
            url: jdbc:postgresql://${DB_HOST:localhost}:5432/${DB_NAME:orders}
            username: ${DB_USER}
            password: ${DB_PASSWORD}
          rabbitmq:
            host: ${RABBIT_HOST}
            username: ${RABBIT_USER}
            password: ${RABBIT_PASSWORD}
        app:
          jwt:
            secret: ${JWT_SECRET}
          stripe:
            api-key: ${STRIPE_SECRET_KEY}
        """), "spring-placeholders")

    add(F, "docker-compose", "docker-compose.yml", T("""
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}
              POSTGRES_USER: app
            secrets:
              - pg_password
          app:
            build: .
            env_file: .env
            environment:
              DATABASE_PASSWORD_FILE: /run/secrets/pg_password
            secrets:
              - pg_password
        secrets:
          pg_password:
            file: ./secrets/pg_password.txt
        """), "compose-env-refs")

    add(F, "github-actions", ".github/workflows/deploy.yml", T("""
        name: deploy
        on:
          push:
            branches: [main]
        jobs:
          deploy:
            runs-on: ubuntu-latest
            environment: production
            steps:
              - uses: actions/checkout@v4
              - uses: aws-actions/configure-aws-credentials@v4
                with:
                  aws-access-key-id: ${{ secrets.AWS_ACCESS_KEY_ID }}
                  aws-secret-access-key: ${{ secrets.AWS_SECRET_ACCESS_KEY }}
                  aws-region: eu-west-1
              - run: ./scripts/deploy.sh
                env:
                  SLACK_WEBHOOK_URL: ${{ secrets.SLACK_WEBHOOK_URL }}
                  NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
                  GITHUB_TOKEN: ${{ github.token }}
        """), "gha-secrets-refs")

    add(F, "helm-template", "deploy/charts/api/templates/secret.yaml", T("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ include "api.fullname" . }}
          labels:
            {{- include "api.labels" . | nindent 4 }}
        type: Opaque
        data:
          DATABASE_PASSWORD: {{ .Values.database.password | b64enc | quote }}
          JWT_SECRET: {{ required "jwt.secret is required" .Values.jwt.secret | b64enc | quote }}
          {{- if .Values.smtp.enabled }}
          SMTP_PASSWORD: {{ .Values.smtp.password | b64enc | quote }}
          {{- end }}
        """), "helm-template-secret")

    vault_blob = "\n".join("          " + hx(80) for _ in range(5))
    add(F, "ansible", "inventories/prod/group_vars/all/vault.yml", T("""
        ---
        db_password: !vault |
                  $ANSIBLE_VAULT;1.1;AES256
        «v1»
        smtp_password: !vault |
                  $ANSIBLE_VAULT;1.1;AES256
        «v2»
        """, v1=vault_blob, v2="\n".join("          " + hx(80) for _ in range(4))), "ansible-vault")

    enc = lambda n: "ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:str]" % (b64bytes(n), b64bytes(32), b64bytes(16))
    add(F, "sops-yaml", "secrets/prod.enc.yaml", T("""
        database:
            password: «a»
            user: «b»
        stripe:
            secret_key: «c»
        sops:
            kms:
                - arn: arn:aws:kms:eu-west-1:123456789012:key/«k»
                  created_at: "2024-02-11T09:14:02Z"
                  enc: «e»
                  aws_profile: ""
            lastmodified: "2024-02-11T09:14:03Z"
            mac: «m»
            unencrypted_suffix: _unencrypted
            version: 3.8.1
        """, a=enc(18), b=enc(6), c=enc(80), k=uid(), e=b64bytes(150),
        m=enc(32).replace("type:str", "type:str")), "sops")

    add(F, "kubernetes", "k8s/payments/sealedsecret.yaml", T("""
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata:
          name: payments-credentials
          namespace: payments
        spec:
          encryptedData:
            DB_PASSWORD: «a»
            PSP_API_KEY: «b»
          template:
            metadata:
              name: payments-credentials
              namespace: payments
            type: Opaque
        """, a="AgB" + rs(ALNUM + "+/", 600) + "==", b="AgC" + rs(ALNUM + "+/", 640) + "="), "sealedsecret")

    add(F, "python", "app/config.py", T('''
        import os
        from dataclasses import dataclass


        @dataclass(frozen=True)
        class Config:
            database_url: str = os.environ["DATABASE_URL"]
            secret_key: str = os.environ["SECRET_KEY"]
            stripe_key: str = os.getenv("STRIPE_SECRET_KEY", "")
            sentry_dsn: str = os.getenv("SENTRY_DSN", "")
            redis_password: str = os.environ.get("REDIS_PASSWORD") or ""
            debug: bool = os.getenv("DEBUG", "0") == "1"


        config = Config()
        '''), "py-environ")

    add(F, "yaml", "config/external-secret.yaml", T("""
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: orders-db
        spec:
          refreshInterval: 1h
          secretStoreRef:
            name: vault-backend
            kind: ClusterSecretStore
          target:
            name: orders-db
          data:
            - secretKey: password
              remoteRef:
                key: secret/data/orders/db
                property: password
            - secretKey: api_token
              remoteRef:
                key: secret/data/orders/partner
                property: token
        """), "external-secret")

    add(F, "dotenv", ".env.sample", T("""
        # Placeholders only. Real values live in 1Password ("Acme Dev" vault).
        DATABASE_URL=postgres://app:changeme@localhost:5432/app
        SECRET_KEY=change-me-to-a-long-random-string
        STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx
        SENDGRID_API_KEY=your-api-key
        GITHUB_TOKEN=<token>
        SLACK_BOT_TOKEN=xoxb-your-token
        ADMIN_PASSWORD=********
        AWS_SECRET_ACCESS_KEY=REPLACE_ME
        OPENAI_API_KEY=sk-...
        """), "env-placeholders")

    add(F, "ini", "conf/logging.ini", T("""
        [DEFAULT]
        db_user = reporting
        db_password = %(REPORTING_DB_PASSWORD)s
        db_url = postgresql://%(db_user)s:%(db_password)s@pg-main.internal/reports

        [loggers]
        keys = root

        [handlers]
        keys = console

        [formatters]
        keys = plain

        [formatter_plain]
        format = %(asctime)s %(levelname)s %(name)s: %(message)s
        """), "ini-interpolation")

    add(F, "bash", "scripts/render-config.sh", T("""
        #!/usr/bin/env bash
        set -euo pipefail
        export VAULT_ADDR=https://vault.internal.acme.io:8200
        DB_PASSWORD="$(vault kv get -field=password secret/orders/db)"
        API_TOKEN=$(aws secretsmanager get-secret-value --secret-id prod/orders/api --query SecretString --output text)
        SLACK_TOKEN=$(op read "op://Platform/Slack bot/credential")
        envsubst < config.tmpl.yml > config.yml
        echo "rendered config.yml (${#DB_PASSWORD} char password, ${#API_TOKEN} char token)"
        """), "shell-subst")

    lock = {"name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {
        "": {"name": "web", "version": "1.0.0", "dependencies": {"axios": "^1.6.7", "react": "^18.2.0"}},
        "node_modules/axios": {"version": "1.6.7", "resolved": "https://registry.npmjs.org/axios/-/axios-1.6.7.tgz",
                               "integrity": "sha512-" + b64bytes(64)},
        "node_modules/react": {"version": "18.2.0", "resolved": "https://registry.npmjs.org/react/-/react-18.2.0.tgz",
                               "integrity": "sha512-" + b64bytes(64), "dependencies": {"loose-envify": "^1.1.0"}},
        "node_modules/loose-envify": {"version": "1.4.0",
                                      "resolved": "https://registry.npmjs.org/loose-envify/-/loose-envify-1.4.0.tgz",
                                      "integrity": "sha512-" + b64bytes(64)}}}
    add(F, "json", "web/package-lock.json", json.dumps(lock, indent=2) + "\n", "npm-integrity")

    gosum = []
    for mod, ver in [("github.com/aws/aws-sdk-go", "v1.50.30"), ("github.com/go-sql-driver/mysql", "v1.7.1"),
                     ("github.com/golang-jwt/jwt/v5", "v5.2.0"), ("github.com/rabbitmq/amqp091-go", "v1.9.0"),
                     ("golang.org/x/crypto", "v0.19.0"), ("golang.org/x/sys", "v0.17.0")]:
        gosum.append("%s %s h1:%s" % (mod, ver, b64bytes(32)))
        gosum.append("%s %s/go.mod h1:%s" % (mod, ver, b64bytes(32)))
    add(F, "go-sum", "go.sum", "\n".join(gosum) + "\n", "go-sum")

    add(F, "dockerfile", "Dockerfile", T("""
        # syntax=docker/dockerfile:1.6
        FROM golang:1.22-alpine@sha256:«d1» AS build
        WORKDIR /src
        COPY go.mod go.sum ./
        RUN go mod download
        COPY . .
        RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/api ./cmd/api

        FROM gcr.io/distroless/static-debian12@sha256:«d2»
        COPY --from=build /out/api /api
        USER 65532:65532
        ENTRYPOINT ["/api"]
        """, d1=hx(64), d2=hx(64)), "dockerfile-digests")

    add(F, "toml", "Cargo.lock", "\n".join(
        ["# This file is automatically @generated by Cargo.", "# It is not intended for manual editing.", "version = 3", ""] +
        sum([['[[package]]', 'name = "%s"' % n, 'version = "%s"' % v,
              'source = "registry+https://github.com/rust-lang/crates.io-index"', 'checksum = "%s"' % hx(64), '']
             for n, v in [("base64", "0.21.7"), ("hmac", "0.12.1"), ("sha2", "0.10.8"), ("sqlx", "0.7.3"),
                          ("tokio", "1.36.0")]], [])), "cargo-lock")

    add(F, "text", "release/SHA256SUMS", "\n".join(
        "%s  %s" % (hx(64), f) for f in ["agent-7.52.1-linux-amd64.tar.gz", "agent-7.52.1-linux-arm64.tar.gz",
                                         "agent-7.52.1-darwin-arm64.tar.gz", "agent-7.52.1-windows-amd64.zip",
                                         "agent-7.52.1.sbom.json"]) + "\n", "sha256sums")

    add(F, "json", "renovate.json", T("""
        {
          "$schema": "https://docs.renovatebot.com/renovate-schema.json",
          "extends": ["config:recommended"],
          "packageRules": [
            {
              "matchPackageNames": ["acme/shared-workflows"],
              "pinDigests": true
            }
          ],
          "git-submodules": { "enabled": true },
          "ignoreDeps": ["github.com/acme/legacy-sdk"],
          "lockedCommits": {
            "acme/shared-workflows": "«c1»",
            "acme/proto": "«c2»"
          }
        }
        """, c1=hx(40), c2=hx(40)), "git-shas")

    add(F, "terraform", "infra/azure/subscriptions.tf", T("""
        locals {
          subscriptions = {
            prod    = "«a»"
            staging = "«b»"
            shared  = "«c»"
          }
          tenant_id = "«t»"
        }

        data "azurerm_subscription" "prod" {
          subscription_id = local.subscriptions.prod
        }

        resource "azurerm_role_assignment" "ops_reader" {
          scope                = data.azurerm_subscription.prod.id
          role_definition_name = "Reader"
          principal_id         = "«p»"
        }
        """, a=uid(), b=uid(), c=uid(), t=uid(), p=uid()), "uuids")

    add(F, "css", "web/src/styles/icons.css", T("""
        .icon-lock {
          width: 16px;
          height: 16px;
          background-image: url("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAA«a»");
        }

        .icon-key {
          width: 16px;
          height: 16px;
          background-image: url("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAA«b»");
        }

        .spinner {
          animation: spin 1s linear infinite;
        }
        """, a=rs(ALNUM + "+/", 420) + "=", b=rs(ALNUM + "+/", 380) + "=="), "base64-images")

    add(F, "python", "tests/crypto/test_aead.py", T('''
        import pytest
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        from app.crypto import derive_key

        # random vectors generated once with os.urandom; only used for round-trip tests
        NONCE = bytes.fromhex("«n»")
        IV = bytes.fromhex("«iv»")
        SALT = bytes.fromhex("«s»")
        AAD = b"header-v1"


        @pytest.mark.parametrize("cls", [AESGCM, ChaCha20Poly1305])
        def test_round_trip(cls):
            key = cls.generate_key(bit_length=256) if cls is AESGCM else ChaCha20Poly1305.generate_key()
            box = cls(key)
            ct = box.encrypt(NONCE, b"hello", AAD)
            assert box.decrypt(NONCE, ct, AAD) == b"hello"


        def test_derive_is_deterministic():
            assert derive_key(b"pw", SALT) == derive_key(b"pw", SALT)
            assert len(IV) == 16
        ''', n=hx(24), iv=hx(32), s=hx(32)), "crypto-test-vectors")

    add(F, "java", "src/main/java/io/acme/auth/PasswordPolicy.java", T("""
        package io.acme.auth;

        import java.util.ArrayList;
        import java.util.List;
        import java.util.regex.Pattern;

        public final class PasswordPolicy {
            public static final int MIN_LENGTH = 12;
            private static final Pattern UPPER = Pattern.compile("[A-Z]");
            private static final Pattern DIGIT = Pattern.compile("[0-9]");
            private static final Pattern SPECIAL = Pattern.compile("[^A-Za-z0-9]");

            public List<String> violations(String password) {
                List<String> out = new ArrayList<>();
                if (password == null || password.length() < MIN_LENGTH) out.add("password.too_short");
                if (!UPPER.matcher(password).find()) out.add("password.needs_upper");
                if (!DIGIT.matcher(password).find()) out.add("password.needs_digit");
                if (!SPECIAL.matcher(password).find()) out.add("password.needs_special");
                return out;
            }
        }
        """), "password-policy")

    add(F, "json", "web/src/locales/en.json", T("""
        {
          "login.title": "Sign in",
          "login.username": "Username",
          "login.password": "Password",
          "login.forgot_password": "Forgot your password?",
          "password.too_short": "Password must be at least 12 characters",
          "password.needs_upper": "Password needs an upper-case letter",
          "password.reset.sent": "We sent a reset link to {email}",
          "token.expired": "Your session token has expired, please sign in again",
          "api_key.create": "Create API key",
          "api_key.warning": "Copy the key now - you will not be able to see it again"
        }
        """), "i18n-strings")

    add(F, "python", "tests/conftest.py", T('''
        import pytest

        TEST_DB_URL = "postgresql://test:test@localhost:5432/app_test"


        @pytest.fixture
        def user(db):
            return db.create_user(username="alice", password="test-password")


        @pytest.fixture
        def admin(db):
            return db.create_user(username="admin", password="admin", is_admin=True)


        @pytest.fixture
        def api_headers():
            return {"Authorization": "Bearer test-token", "X-API-Key": "dummy"}
        '''), "test-fixtures")

    add(F, "jinja", "roles/app/templates/config.yml.j2", T("""
        # {{ ansible_managed }}
        database:
          host: {{ db_host }}
          user: {{ db_user }}
          password: "{{ db_password }}"
        smtp:
          password: "{{ vault_smtp_password | default('') }}"
        api:
          token: "{{ lookup('community.hashi_vault.hashi_vault', 'secret=secret/data/app:token') }}"
        workers: {{ ansible_processor_vcpus * 2 }}
        """), "jinja-template")

    add(F, "jenkinsfile", "ci/Jenkinsfile.deploy", T("""
        pipeline {
            agent any
            stages {
                stage('Deploy') {
                    steps {
                        withCredentials([
                            usernamePassword(credentialsId: 'nexus-deployer', usernameVariable: 'NEXUS_USER', passwordVariable: 'NEXUS_PASS'),
                            string(credentialsId: 'slack-token', variable: 'SLACK_TOKEN'),
                            sshUserPrivateKey(credentialsId: 'deploy-key', keyFileVariable: 'KEY')
                        ]) {
                            sh 'curl -u "$NEXUS_USER:$NEXUS_PASS" -T build/app.war https://nexus.internal.acme.io/repository/releases/'
                            sh 'ssh -i "$KEY" deploy@app-01 ./restart.sh'
                        }
                    }
                }
            }
        }
        """), "jenkins-withcredentials")

    add(F, "csharp", "src/Acme.Api/Program.cs", T("""
        var builder = WebApplication.CreateBuilder(args);

        builder.Configuration.AddUserSecrets<Program>(optional: true);
        builder.Configuration.AddAzureKeyVault(
            new Uri($"https://{builder.Configuration["KeyVaultName"]}.vault.azure.net/"),
            new DefaultAzureCredential());

        var jwtKey = builder.Configuration["Jwt:Key"]
            ?? throw new InvalidOperationException("Jwt:Key missing");
        var connStr = builder.Configuration.GetConnectionString("Default");

        builder.Services.AddDbContext<AppDb>(o => o.UseNpgsql(connStr));
        builder.Services.AddAuthentication().AddJwtBearer(o => o.TokenValidationParameters = Tokens.Params(jwtKey));

        var app = builder.Build();
        app.MapControllers();
        app.Run();
        """), "csharp-config-refs")

    add(F, "yarn-lock", "yarn.lock", T("""
        # THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
        # yarn lockfile v1


        axios@^1.6.7:
          version "1.6.7"
          resolved "https://registry.yarnpkg.com/axios/-/axios-1.6.7.tgz#«h1»"
          integrity sha512-«i1»

        js-tokens@^4.0.0:
          version "4.0.0"
          resolved "https://registry.yarnpkg.com/js-tokens/-/js-tokens-4.0.0.tgz#«h2»"
          integrity sha512-«i2»
        """, h1=hx(40), i1=b64bytes(64), h2=hx(40), i2=b64bytes(64)), "yarn-lock")

    add(F, "yaml", "api/openapi-users.yaml", T("""
        openapi: 3.0.3
        info: {title: Users, version: 1.0.0}
        paths:
          /login:
            post:
              requestBody:
                content:
                  application/json:
                    schema:
                      type: object
                      properties:
                        username: {type: string, example: jdoe}
                        password: {type: string, format: password, example: string}
              responses:
                "200":
                  content:
                    application/json:
                      example: {access_token: "<jwt>", token_type: Bearer, expires_in: 900}
        """), "openapi-examples")

    add(F, "html", "web/public/index.html", T("""
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta http-equiv="Content-Security-Policy" content="script-src 'self' 'sha256-«c»'">
          <link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"
                integrity="sha384-«a»" crossorigin="anonymous">
          <script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js"
                  integrity="sha384-«b»" crossorigin="anonymous"></script>
          <title>Acme</title>
        </head>
        <body>
          <div id="root" data-build="«sha»"></div>
        </body>
        </html>
        """, c=b64bytes(32), a=b64bytes(48), b=b64bytes(48), sha=hx(40)), "sri-hashes")

    add(F, "javascript", "webpack.config.js", T("""
        const crypto = require('crypto');
        const path = require('path');

        const buildId = crypto.randomBytes(8).toString('hex');

        module.exports = {
          mode: 'production',
          entry: './src/index.js',
          output: {
            path: path.resolve(__dirname, 'dist'),
            filename: '[name].[contenthash:8].js',
            hashFunction: 'xxhash64',
          },
          plugins: [],
          devServer: { port: 3000, headers: { 'X-Build-Id': buildId } },
        };
        """), "webpack-hash")

    add(F, "gitmodules", ".gitmodules", T("""
        [submodule "third_party/proto"]
        	path = third_party/proto
        	url = https://github.com/acme/proto.git
        	branch = main
        [submodule "vendor/legacy-sdk"]
        	path = vendor/legacy-sdk
        	url = git@github.com:acme/legacy-sdk.git
        """), "gitmodules")

    add(F, "markdown", "README.md", T("""
        # orders-api

        ## Running locally

        ```bash
        cp .env.example .env        # then fill in the blanks
        docker compose up -d db
        export DATABASE_URL=postgres://orders:orders@localhost:5432/orders
        make run
        ```

        ## Deploying

        Secrets are injected by the platform from Vault (`secret/orders/*`). To use the
        API from the command line:

        ```bash
        curl -H "Authorization: Bearer $(acme auth print-token)" https://api.acme.io/v2/orders
        ```

        Build: `«sha»`
        """, sha=hx(40)), "readme-local-dev")

    add(F, "php", "config/database.php", T("""
        <?php

        return [
            'default' => env('DB_CONNECTION', 'mysql'),
            'connections' => [
                'mysql' => [
                    'driver' => 'mysql',
                    'host' => env('DB_HOST', '127.0.0.1'),
                    'port' => env('DB_PORT', '3306'),
                    'database' => env('DB_DATABASE', 'forge'),
                    'username' => env('DB_USERNAME', 'forge'),
                    'password' => env('DB_PASSWORD', ''),
                    'charset' => 'utf8mb4',
                ],
            ],
            'redis' => [
                'default' => [
                    'host' => env('REDIS_HOST', '127.0.0.1'),
                    'password' => env('REDIS_PASSWORD'),
                ],
            ],
        ];
        """), "laravel-env-refs")

    add(F, "sql", "db/migrations/0007_api_keys.sql", T("""
        -- API keys are stored hashed; the plaintext is shown once at creation.
        CREATE TABLE api_keys (
            id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            account_id   uuid NOT NULL REFERENCES accounts(id),
            prefix       text NOT NULL,             -- e.g. "ak_live_", shown in the UI
            key_hash     bytea NOT NULL,            -- sha256 of the full key
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz
        );

        CREATE UNIQUE INDEX api_keys_hash_idx ON api_keys (key_hash);

        INSERT INTO api_keys (account_id, prefix, key_hash)
        VALUES ('«a»', 'ak_test_', decode('«h»', 'hex'));
        """, a=uid(), h=hx(64)), "sql-hashed-keys")

    add(F, "kotlin", "app/src/test/java/io/acme/app/LoginViewModelTest.kt", T("""
        package io.acme.app

        import org.junit.Assert.assertEquals
        import org.junit.Test

        class LoginViewModelTest {
            private val vm = LoginViewModel(FakeAuthRepository())

            @Test
            fun rejectsShortPassword() {
                vm.onPasswordChanged("short")
                assertEquals(R.string.password_too_short, vm.state.value.passwordError)
            }

            @Test
            fun acceptsFakeUser() {
                vm.login(username = "test@example.com", password = "password123")
                assertEquals(LoginState.Success, vm.state.value.status)
            }
        }
        """), "kotlin-test-fake-creds")


# =====================================================================
# assembly, self-check, output
# =====================================================================
ALL_NEGATIVE = {"public-material", "non-secrets"}


def self_check(cases):
    errors = []
    ids = set()
    for c in cases:
        if c["id"] in ids:
            errors.append("duplicate id %s" % c["id"])
        ids.add(c["id"])
        if c["binary"]:
            for s in c["secrets"]:
                if s["line"] != 0:
                    errors.append("%s: binary file labelled on line %d" % (c["id"], s["line"]))
            continue
        text = c["data"].decode("utf-8")
        if "\x01" in text or "\x02" in text or "«" in text:
            errors.append("%s: leftover marker" % c["id"])
        lines = text.split("\n")
        seen = set()
        for s in c["secrets"]:
            ln = s["line"]
            if ln == 0:
                if c["family"] != "key-material-files":
                    errors.append("%s: line-0 label outside key-material-files" % c["id"])
                continue
            if ln in seen:
                errors.append("%s: duplicate label line %d" % (c["id"], ln))
            seen.add(ln)
            if ln > len(lines) or not lines[ln - 1].strip():
                errors.append("%s: label on missing/blank line %d" % (c["id"], ln))
        if c["family"] in ALL_NEGATIVE and c["secrets"]:
            errors.append("%s: %s must have no secrets" % (c["id"], c["family"]))
    fams = {}
    for c in cases:
        pos, neg = fams.setdefault(c["family"], [0, 0]), None
        pos[0 if c["secrets"] else 1] += 1
    for f, (p, n) in fams.items():
        if f in ALL_NEGATIVE:
            if n < 30:
                errors.append("family %s has only %d negatives" % (f, n))
        elif p < 6 or n < 4:
            errors.append("family %s has %d positives / %d negatives" % (f, p, n))
    if len({c["format"] for c in cases}) < 30:
        errors.append("fewer than 30 formats")
    if errors:
        raise SystemExit("self-check failed:\n  " + "\n  ".join(errors))
    return fams


def main():
    for build in (provider_tokens, private_keys, cloud_credentials, credential_files, command_line,
                  connection_strings, http_auth, webhooks_bots, generic, key_material,
                  public_material, non_secrets):
        build()
    cases = list(CASES)
    random.Random(SEED + 1).shuffle(cases)
    for i, c in enumerate(cases, 1):
        c["id"] = "b%04d-%s" % (i, c["short"])
    fams = self_check(cases)
    out = sys.stdout
    for c in cases:
        out.write(json.dumps({
            "id": c["id"], "family": c["family"], "format": c["format"], "path": c["path"],
            "text_b64": base64.b64encode(c["data"]).decode(),
            "secrets": c["secrets"],
        }, ensure_ascii=False) + "\n")
    pos = sum(1 for c in cases if c["secrets"])
    print("%d cases, %d with secrets, %d without, %d labels, %d formats" % (
        len(cases), pos, len(cases) - pos, sum(len(c["secrets"]) for c in cases),
        len({c["format"] for c in cases})), file=sys.stderr)
    for f in sorted(fams):
        print("  %-20s %3d positive %3d negative" % (f, fams[f][0], fams[f][1]), file=sys.stderr)


if __name__ == "__main__":
    main()
