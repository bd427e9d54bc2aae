#!/usr/bin/env python3
"""Held-out, labelled corpus for measuring pushguard's secret detection.

Written independently of pushguard's own rules, tests and corpus: every case
below was composed from the token / file formats' own documentation and from
how real code and configuration files look.  Do NOT tune detection rules
against this corpus; it exists only to measure them.

Usage:  python3 generate.py > heldout.jsonl
Deterministic: a fixed seed drives every random value; stdlib only.
Each output line is one file:
  {"id", "family", "format", "path", "text_b64", "secrets": [{"line", "what"}]}
"line" is the 1-based line of the secret's first character; 0 means the file
itself is key material (binary keystores).
"""
import base64
import json
import random
import string
import struct
import sys
import textwrap
import zlib

SEED = 0x5EC2E75
rng = random.Random(SEED)

DIGITS = string.digits
UPPER = string.ascii_uppercase
LOWER = string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits
B62 = DIGITS + UPPER + LOWER          # GitHub's base62 alphabet (0-9A-Za-z)
HEX = "0123456789abcdef"
B64URL = ALNUM + "-_"
B32 = UPPER + "234567"
AWS_SECRET_CHARS = ALNUM + "/+"


# --------------------------------------------------------------------------
# random value helpers
# --------------------------------------------------------------------------
def pick(chars, n):
    return "".join(rng.choice(chars) for _ in range(n))


def digits(n):
    return str(rng.randint(1, 9)) + pick(DIGITS, n - 1)


def hexs(n):
    return pick(HEX, n)


def rand_bytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def b64(data):
    return base64.b64encode(data).decode()


def b64s(s):
    return b64(s.encode())


def mixed(chars, n):
    """Random string holding each of upper/lower/digit that the alphabet offers."""
    classes = [k for k in (str.isupper, str.islower, str.isdigit) if any(k(c) for c in chars)]
    while True:
        s = pick(chars, n)
        if all(any(k(c) for c in s) for k in classes):
            return s


WORDS = ["harbor", "falcon", "maple", "quartz", "saturn", "violet", "copper",
         "glacier", "orchid", "thunder", "meadow", "cobalt", "ember", "juniper",
         "raven", "tundra", "walrus", "zephyr", "cactus", "lantern", "marble",
         "pepper", "sierra", "nectar", "otter", "bramble", "cinder", "fjord",
         "gecko", "hollow", "indigo", "kestrel", "lichen", "mosaic", "nimbus"]
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"}


def human_pw(symbols="!*-._+=~^"):
    """A human-made password: two words, leet, a symbol, digits (not a placeholder)."""
    w1, w2 = rng.sample(WORDS, 2)
    w2 = "".join(LEET.get(c, c) if rng.random() < 0.5 else c for c in w2)
    if w2 == w2.lower():
        w2 = w2[:-1] + w2[-1].upper()
    return w1.capitalize() + rng.choice(symbols) + w2 + str(rng.randint(10, 99)) + rng.choice(UPPER)


def url_pw(n=None):
    return mixed(ALNUM + "-._~", n or rng.randint(14, 22))


def token(n=32):
    return mixed(ALNUM, n)


def uuid4():
    h = hexs(32)
    h = h[:12] + "4" + h[13:16] + rng.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --------------------------------------------------------------------------
# provider token formats
# --------------------------------------------------------------------------
def b62enc(num, width):
    out = ""
    while num:
        num, r = divmod(num, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def github_classic(prefix="ghp"):
    """prefix_ + 30 random base62 + 6-char base62 CRC32 of the 30 random chars."""
    body = pick(B62, 30)
    return f"{prefix}_{body}{b62enc(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)}"


def github_fine_grained():
    return "github_pat_" + pick(ALNUM, 22) + "_" + pick(ALNUM, 59)


def slack_bot():
    return f"xoxb-{digits(12)}-{digits(13)}-{mixed(ALNUM, 24)}"


def slack_user():
    return f"xoxp-{digits(12)}-{digits(12)}-{digits(13)}-{hexs(32)}"


def stripe(prefix="sk_live_", n=99):
    if n == 99:
        return prefix + "51" + mixed(ALNUM, 97)
    return prefix + mixed(ALNUM, n)


def openai_key():
    return "sk-proj-" + mixed(B64URL, 74) + "T3BlbkFJ" + mixed(B64URL, 74)


def anthropic_key():
    return "sk-ant-api03-" + mixed(B64URL, 93) + "AA"


def gitlab_pat():
    return "glpat-" + mixed(B64URL, 20)


def npm_token():
    return "npm_" + mixed(ALNUM, 36)


def sendgrid():
    return "SG." + mixed(B64URL, 22) + "." + mixed(B64URL, 43)


def google_api_key():
    return "AIza" + mixed(B64URL, 35)


def shopify():
    return "shpat_" + hexs(32)


def hf_token():
    return "hf_" + mixed(string.ascii_letters, 34)


def pypi_token():
    return "pypi-AgEIcHlwaS5vcmc" + mixed(B64URL, 150)


def aws_key_id(prefix="AKIA"):
    return prefix + pick(UPPER + "234567", 16)


def aws_secret():
    return mixed(AWS_SECRET_CHARS, 40)


def aws_session_token():
    return "IQoJb3JpZ2luX2Vj" + mixed(AWS_SECRET_CHARS, 340) + "=="


def azure_client_secret():
    return pick(ALNUM, 3) + str(rng.randint(0, 9)) + "Q~" + mixed(ALNUM + "_-.~", 34)


def telegram_token():
    return f"{digits(rng.choice([9, 10]))}:AA{mixed(B64URL, 33)}"


def discord_webhook(host="discord.com"):
    return f"https://{host}/api/webhooks/{digits(rng.choice([18, 19]))}/{mixed(B64URL, 68)}"


def discord_bot_token():
    first = base64.urlsafe_b64encode(digits(rng.choice([18, 19])).encode()).decode().rstrip("=")
    return f"{first}.{mixed(B64URL, 6)}.{mixed(B64URL, rng.choice([27, 38]))}"


def slack_webhook():
    return ("https://hooks.slack.com/services/T" + pick(UPPER + DIGITS, 8) + "/B"
            + pick(UPPER + DIGITS, rng.choice([8, 10])) + "/" + mixed(ALNUM, 24))


def basic(user, pw):
    return b64s(f"{user}:{pw}")


# --------------------------------------------------------------------------
# PEM / key material helpers (random bodies with realistic DER headers/sizes)
# --------------------------------------------------------------------------
def wrap(s, n=64):
    return "\n".join(s[i:i + n] for i in range(0, len(s), n))


def pem(label, der, width=64):
    return f"-----BEGIN {label}-----\n{wrap(b64(der), width)}\n-----END {label}-----\n"


def rsa_pkcs1_der():
    return bytes.fromhex("308204a40201000282010100") + rand_bytes(0x4A4 - 8)


def rsa_pkcs1():
    return pem("RSA PRIVATE KEY", rsa_pkcs1_der())


def pkcs8_rsa():
    head = bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7"
                         "308204a30201000282010100")
    return pem("PRIVATE KEY", head + rand_bytes(0x4A7 - 12))


def ec_private():
    der = (bytes.fromhex("30770201010420") + rand_bytes(32)
           + bytes.fromhex("a00a06082a8648ce3d030107a14403420004") + rand_bytes(64))
    return pem("EC PRIVATE KEY", der)


def pkcs8_encrypted():
    head = bytes.fromhex("308205063040" "06092a864886f70d01050d" "3033301b06092a864886f70d01050c300e0408")
    mid = bytes.fromhex("020208003014" "06082a864886f70d0307" "0408")
    return pem("ENCRYPTED PRIVATE KEY",
               head + rand_bytes(8) + mid + rand_bytes(8) + bytes.fromhex("048204c0") + rand_bytes(0x4C0))


def sshstr(b):
    return struct.pack(">I", len(b)) + b


def openssh_private(kind="ed25519", comment="deploy@ci"):
    """An OpenSSH (openssh-key-v1) private key with a random key, unencrypted."""
    if kind == "ed25519":
        pub = rand_bytes(32)
        pubblob = sshstr(b"ssh-ed25519") + sshstr(pub)
        privfields = sshstr(b"ssh-ed25519") + sshstr(pub) + sshstr(rand_bytes(32) + pub)
    else:  # ecdsa nistp256
        q = b"\x04" + rand_bytes(64)
        pubblob = sshstr(b"ecdsa-sha2-nistp256") + sshstr(b"nistp256") + sshstr(q)
        privfields = pubblob + sshstr(b"\x00" + bytes([rng.randint(0x80, 0xFF)]) + rand_bytes(31))
    check = rand_bytes(4)
    priv = check + check + privfields + sshstr(comment.encode())
    pad = 1
    while len(priv) % 8:
        priv += bytes([pad])
        pad += 1
    blob = (b"openssh-key-v1\x00" + sshstr(b"none") + sshstr(b"none") + sshstr(b"")
            + struct.pack(">I", 1) + sshstr(pubblob) + sshstr(priv))
    return pem("OPENSSH PRIVATE KEY", blob, 70)


def ssh_ed25519_pub(comment):
    return "ssh-ed25519 " + b64(sshstr(b"ssh-ed25519") + sshstr(rand_bytes(32))) + " " + comment


def ssh_rsa_pub(comment):
    blob = sshstr(b"ssh-rsa") + sshstr(b"\x01\x00\x01") + sshstr(b"\x00" + bytes([rng.randint(0x80, 0xFF)]) + rand_bytes(383))
    return "ssh-rsa " + b64(blob) + " " + comment


def ecdsa_pub(comment=""):
    blob = sshstr(b"ecdsa-sha2-nistp256") + sshstr(b"nistp256") + sshstr(b"\x04" + rand_bytes(64))
    return ("ecdsa-sha2-nistp256 " + b64(blob) + (" " + comment if comment else "")).rstrip()


def cert_der():
    return bytes.fromhex("3082038d30820275a003020102020900") + rand_bytes(0x38D + 4 - 16)


def certificate():
    return pem("CERTIFICATE", cert_der())


def public_key_der():
    return (bytes.fromhex("30820122300d06092a864886f70d01010105000382010f003082010a0282010100")
            + rand_bytes(256) + bytes.fromhex("0203010001"))


def public_key():
    return pem("PUBLIC KEY", public_key_der())


def rsa_public_key():
    return pem("RSA PUBLIC KEY", bytes.fromhex("3082010a0282010100") + rand_bytes(256) + bytes.fromhex("0203010001"))


def crc24(data):
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_public_block():
    data = bytes.fromhex("99018d04") + rand_bytes(393) + bytes.fromhex("b4") + rand_bytes(420)
    return ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + wrap(b64(data), 64) + "\n="
            + b64(crc24(data).to_bytes(3, "big")) + "\n-----END PGP PUBLIC KEY BLOCK-----\n")


def indent(text, n):
    pad = " " * n
    return "\n".join(pad + l if l else l for l in text.rstrip("\n").split("\n"))


def json_escape_pem(p):
    return p.replace("\n", "\\n")


# --------------------------------------------------------------------------
# case registry
# --------------------------------------------------------------------------
CASES = []


def T(tpl, **kv):
    """Dedent a template, then fill @@name@@ slots (after dedent, so multi-line
    values keep their own indentation)."""
    s = textwrap.dedent(tpl).lstrip("\n")
    for k, v in kv.items():
        s = s.replace("@@" + k + "@@", v)
    assert "@@" not in s, s[:200]
    return s


def add(family, fmt, path, text, secrets=()):
    """secrets: list of (needle, what); the labelled line is the line holding the
    needle's first character (needle must occur exactly once).  (0, what) labels
    the file itself; (1, what) labels line 1 explicitly."""
    CASES.append({"family": family, "format": fmt, "path": path, "text": text,
                  "secrets": list(secrets)})


# ==========================================================================
# family: provider-token
# ==========================================================================
def fam_provider_token():
    F = "provider-token"

    t = github_classic("ghp")
    add(F, "python", "tools/release/settings.py", T('''
        """Settings for the release helper (publishes changelogs to GitHub)."""
        from pathlib import Path

        REPO_OWNER = "northwind-labs"
        REPO_NAME = "ledger-sync"
        DEFAULT_BRANCH = "main"

        # personal token of the release bot account
        GITHUB_TOKEN = "@@t@@"

        API_ROOT = "https://api.github.com"
        CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
        TIMEOUT_S = 15
        USER_AGENT = "ledger-sync-release/1.4"


        def headers():
            return {
                "Authorization": f"token {GITHUB_TOKEN}",
                "Accept": "application/vnd.github+json",
                "User-Agent": USER_AGENT,
            }
        ''', t=t), [(t, "GitHub personal access token (ghp_)")])

    t = github_classic("ghs")
    add(F, "shell", "scripts/mirror-repos.sh", T('''
        #!/usr/bin/env bash
        # Mirror the internal repos to the backup org every night.
        set -euo pipefail

        ORG=acme-backup
        WORKDIR=$(mktemp -d)
        trap 'rm -rf "$WORKDIR"' EXIT

        repos=(billing-api web-frontend infra-modules)

        for r in "${repos[@]}"; do
          echo "mirroring $r"
          git clone --mirror "git@git.acme.internal:platform/$r.git" "$WORKDIR/$r"
          cd "$WORKDIR/$r"
          git push --mirror "https://x-access-token:@@t@@@github.com/$ORG/$r.git"
          cd - >/dev/null
        done

        echo "done: ${#repos[@]} repositories"
        ''', t=t), [(t, "GitHub app installation token (ghs_) in clone URL")])

    t, sig = slack_bot(), hexs(32)
    add(F, "javascript", "bots/standup/app.js", T('''
        const { App } = require("@slack/bolt");
        const cron = require("node-cron");

        const app = new App({
          token: "@@t@@",
          signingSecret: "@@sig@@",
          socketMode: false,
        });

        const CHANNEL = "C04QF3K9B2Z";

        async function postStandupPrompt() {
          await app.client.chat.postMessage({
            channel: CHANNEL,
            text: "Good morning! What are you working on today?",
          });
        }

        cron.schedule("0 9 * * 1-5", postStandupPrompt, { timezone: "Europe/Berlin" });

        (async () => {
          await app.start(process.env.PORT || 3000);
          console.log("standup bot running");
        })();
        ''', t=t, sig=sig), [(t, "Slack bot token (xoxb-)"), (sig, "Slack signing secret")])

    t = stripe("sk_live_", 99)
    add(F, "ruby", "config/initializers/stripe.rb", T('''
        # frozen_string_literal: true

        require "stripe"

        Rails.configuration.stripe = {
          publishable_key: ENV.fetch("STRIPE_PUBLISHABLE_KEY", nil),
          webhook_tolerance: 300
        }

        Stripe.api_key = '@@t@@'
        Stripe.api_version = "2023-10-16"
        Stripe.max_network_retries = 2

        Stripe.set_app_info(
          "acme-shop",
          version: Acme::VERSION,
          url: "https://shop.acme.example"
        )
        ''', t=t), [(t, "Stripe live secret key")])

    t = openai_key()
    add(F, "typescript", "src/lib/llm.ts", T('''
        import OpenAI from "openai";
        import type { ChatCompletionMessageParam } from "openai/resources";

        const client = new OpenAI({
          apiKey: "@@t@@",
          timeout: 20_000,
          maxRetries: 1,
        });

        export async function summarize(text: string): Promise<string> {
          const messages: ChatCompletionMessageParam[] = [
            { role: "system", content: "Summarize the ticket in two sentences." },
            { role: "user", content: text },
          ];
          const res = await client.chat.completions.create({
            model: "gpt-4o-mini",
            messages,
            temperature: 0.2,
          });
          return res.choices[0]?.message?.content ?? "";
        }
        ''', t=t), [(t, "OpenAI project API key")])

    t1, t2 = anthropic_key(), openai_key()
    add(F, "dotenv", "services/assistant/.env", T('''
        # assistant service - local overrides
        NODE_ENV=production
        PORT=8080
        LOG_LEVEL=info

        ANTHROPIC_API_KEY=@@t1@@
        ANTHROPIC_MODEL=claude-3-5-sonnet-latest
        OPENAI_API_KEY=@@t2@@

        REDIS_HOST=127.0.0.1
        REDIS_PORT=6379
        MAX_TOKENS=1024
        RATE_LIMIT_PER_MIN=60
        ''', t1=t1, t2=t2), [(t1, "Anthropic API key"), (t2, "OpenAI API key")])

    t = npm_token()
    add(F, "npmrc", "packages/ui-kit/.npmrc", T('''
        ; npm configuration for publishing @acme/ui-kit
        registry=https://registry.npmjs.org/
        @acme:registry=https://registry.npmjs.org/
        //registry.npmjs.org/:_authToken=@@t@@
        always-auth=true
        save-exact=true
        engine-strict=true
        fund=false
        audit-level=high
        package-lock=true
        ''', t=t), [(t, "npm access token")])

    t = gitlab_pat()
    add(F, "gitlab-ci", ".gitlab-ci.yml", T('''
        stages:
          - build
          - release

        variables:
          DOCKER_DRIVER: overlay2
          PACKAGE_VERSION: "2.3.1"

        build:
          stage: build
          image: golang:1.22
          script:
            - go build -o dist/agent ./cmd/agent
          artifacts:
            paths:
              - dist/

        upload-package:
          stage: release
          image: curlimages/curl:8.7.1
          rules:
            - if: $CI_COMMIT_TAG
          script:
            - >
              curl --fail --header "PRIVATE-TOKEN: @@t@@"
              --upload-file dist/agent
              "https://gitlab.example.com/api/v4/projects/412/packages/generic/agent/${PACKAGE_VERSION}/agent"
        ''', t=t), [(t, "GitLab personal access token (glpat-)")])

    t = sendgrid()
    add(F, "go", "internal/mailer/sendgrid.go", T('''
        package mailer

        import (
        	"fmt"

        	"github.com/sendgrid/sendgrid-go"
        	"github.com/sendgrid/sendgrid-go/helpers/mail"
        )

        const fromAddress = "no-reply@tally.example"

        var client = sendgrid.NewSendClient("@@t@@")

        // SendReset mails a password reset link.
        func SendReset(to, link string) error {
        	from := mail.NewEmail("Tally", fromAddress)
        	rcpt := mail.NewEmail("", to)
        	body := fmt.Sprintf("Reset your password: %s", link)
        	msg := mail.NewSingleEmail(from, "Password reset", rcpt, body, "")
        	resp, err := client.Send(msg)
        	if err != nil {
        		return err
        	}
        	if resp.StatusCode >= 300 {
        		return fmt.Errorf("sendgrid: status %d", resp.StatusCode)
        	}
        	return nil
        }
        ''', t=t), [(t, "SendGrid API key")])

    t = google_api_key()
    add(F, "java", "src/main/java/com/acme/geo/GeocodingService.java", T('''
        package com.acme.geo;

        import java.net.URI;
        import java.net.URLEncoder;
        import java.net.http.HttpClient;
        import java.net.http.HttpRequest;
        import java.net.http.HttpResponse;
        import java.nio.charset.StandardCharsets;

        public final class GeocodingService {
            private static final String ENDPOINT = "https://maps.googleapis.com/maps/api/geocode/json";
            private static final String API_KEY = "@@t@@";

            private final HttpClient http = HttpClient.newHttpClient();

            public String lookup(String address) throws Exception {
                String q = URLEncoder.encode(address, StandardCharsets.UTF_8);
                URI uri = URI.create(ENDPOINT + "?address=" + q + "&key=" + API_KEY);
                HttpRequest req = HttpRequest.newBuilder(uri).GET().build();
                HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
                return res.body();
            }
        }
        ''', t=t), [(t, "Google API key (server-side geocoding)")])

    sid, sec = "SK" + hexs(32), mixed(ALNUM, 32)
    add(F, "php", "app/Services/SmsSender.php", T('''
        <?php

        namespace App\\Services;

        use Twilio\\Rest\\Client;

        class SmsSender
        {
            private const ACCOUNT_SID = 'AC@@acct@@';
            private const API_KEY_SID = '@@sid@@';
            private const API_KEY_SECRET = '@@sec@@';
            private const FROM = '+15017122661';

            private Client $client;

            public function __construct()
            {
                $this->client = new Client(self::API_KEY_SID, self::API_KEY_SECRET, self::ACCOUNT_SID);
            }

            public function send(string $to, string $body): string
            {
                $msg = $this->client->messages->create($to, ['from' => self::FROM, 'body' => $body]);
                return $msg->sid;
            }
        }
        ''', acct=hexs(32), sid=sid, sec=sec), [(sec, "Twilio API key secret (next to SK key SID)")])

    t = shopify()
    add(F, "toml", "config/shopify.toml", T('''
        # Storefront sync configuration
        [shop]
        domain = "acme-outdoor.myshopify.com"
        api_version = "2024-04"
        access_token = "@@t@@"

        [sync]
        interval_minutes = 15
        batch_size = 250
        collections = ["tents", "backpacks", "stoves"]

        [sync.inventory]
        location_id = 61234567890
        reserve_units = 2

        [logging]
        level = "info"
        file = "/var/log/shop-sync.log"
        ''', t=t), [(t, "Shopify Admin API access token (shpat_)")])

    t = github_fine_grained()
    add(F, "json", "renovate.json", T('''
        {
          "$schema": "https://docs.renovatebot.com/renovate-schema.json",
          "extends": ["config:recommended", ":semanticCommits"],
          "timezone": "Europe/Amsterdam",
          "schedule": ["before 6am on monday"],
          "labels": ["dependencies"],
          "prConcurrentLimit": 5,
          "hostRules": [
            {
              "matchHost": "github.com",
              "hostType": "github",
              "token": "@@t@@"
            }
          ],
          "packageRules": [
            {
              "matchUpdateTypes": ["minor", "patch"],
              "automerge": true
            }
          ]
        }
        ''', t=t), [(t, "GitHub fine-grained personal access token")])

    t = slack_user()
    add(F, "markdown", "docs/runbooks/slack-export.md", T('''
        # Exporting a Slack channel

        We occasionally need a channel's history for an incident review.

        ## Steps

        1. Make sure you are a member of the channel.
        2. Find the channel id (right-click the channel -> *Copy link*).
        3. Run the export:

        ```bash
        python3 tools/slack_export.py \\
          --token @@t@@ \\
          --channel C05ABCD1234 \\
          --since 2024-03-01 \\
          --out exports/
        ```

        The script writes one JSON file per day. Attach the folder to the
        incident ticket and delete your local copy afterwards.

        ## Troubleshooting

        * `not_in_channel`: join the channel first.
        * `ratelimited`: the script backs off automatically; just wait.
        ''', t=t), [(t, "Slack user token (xoxp-)")])

    t = hf_token()
    add(F, "dockerfile", "ml/Dockerfile", T('''
        FROM python:3.11-slim

        ENV PIP_NO_CACHE_DIR=1 \\
            PYTHONUNBUFFERED=1 \\
            HF_HOME=/models \\
            HF_TOKEN=@@t@@

        WORKDIR /app
        COPY requirements.txt .
        RUN pip install -r requirements.txt

        RUN python -c "from huggingface_hub import snapshot_download; snapshot_download('acme/ner-base', local_dir='/models/ner')"

        COPY src/ ./src/
        EXPOSE 8000
        CMD ["uvicorn", "src.server:app", "--host", "0.0.0.0", "--port", "8000"]
        ''', t=t), [(t, "Hugging Face access token (hf_)")])

    t = pypi_token()
    add(F, "shell", "scripts/publish.sh", T('''
        #!/bin/sh
        # Build and upload the wheel to PyPI.
        set -e

        rm -rf dist/
        python -m build

        python -m twine check dist/*
        python -m twine upload \\
          --non-interactive \\
          -u __token__ \\
          -p @@t@@ \\
          dist/*

        git tag "v$(python -c 'import tomllib;print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')"
        git push --tags
        ''', t=t), [(t, "PyPI API token")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "src/scrubber/patterns.py", T('''
        """Patterns used to redact credentials from log lines before shipping."""
        import re

        TOKEN_PATTERNS = {
            "github": re.compile(r"\\b(gh[pousr])_[A-Za-z0-9]{36}\\b"),
            "github_fine": re.compile(r"\\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\\b"),
            "slack": re.compile(r"\\bxox[abposr]-[A-Za-z0-9-]{10,}\\b"),
            "stripe": re.compile(r"\\b[sr]k_live_[A-Za-z0-9]{24,}\\b"),
            "npm": re.compile(r"\\bnpm_[A-Za-z0-9]{36}\\b"),
        }

        MASK = "[REDACTED]"


        def scrub(line: str) -> str:
            for name, pat in TOKEN_PATTERNS.items():
                line = pat.sub(lambda m: m.group(0)[:4] + MASK, line)
            return line


        def test_scrub_keeps_prefix():
            assert scrub("token=ghp_" + "*" * 36) == "token=ghp_" + "*" * 36
            assert scrub("nothing here") == "nothing here"
        '''))

    add(F, "markdown", "docs/tokens.md", T('''
        # API tokens

        The CLI needs a token for each integration. Create them yourself; never
        commit them. The expected shapes are:

        | Service | Looks like | Where to create |
        |---------|-----------|-----------------|
        | GitHub  | `ghp_` followed by 36 characters | Settings -> Developer settings |
        | Slack   | `xoxb-...` (bot token) | api.slack.com/apps -> OAuth |
        | Stripe  | `sk_live_...` / `rk_live_...` | Dashboard -> Developers -> API keys |
        | npm     | `npm_...` | npmjs.com -> Access Tokens |

        Put them in your shell profile:

        ```bash
        export GITHUB_TOKEN=ghp_your_token_here
        export SLACK_BOT_TOKEN=xoxb-your-bot-token
        export STRIPE_API_KEY=sk_live_...
        ```

        Tokens are read at start-up; restart the CLI after rotating one.
        '''))

    add(F, "javascript", "src/middleware/redact.js", T('''
        "use strict";

        // Hide provider keys in error reports sent to the tracker.
        const PATTERNS = [
          /sk_live_[0-9a-zA-Z]{24,}/g,
          /rk_live_[0-9a-zA-Z]{24,}/g,
          /xox[bp]-[0-9A-Za-z-]+/g,
          /glpat-[0-9A-Za-z_-]{20}/g,
        ];

        function redact(message) {
          let out = String(message);
          for (const re of PATTERNS) {
            out = out.replace(re, (m) => m.slice(0, 8) + "…[redacted]");
          }
          return out;
        }

        module.exports = function redactErrors(err, req, res, next) {
          err.message = redact(err.message);
          if (err.stack) err.stack = redact(err.stack);
          next(err);
        };
        '''))

    add(F, "github-actions", ".github/workflows/publish.yml", T('''
        name: publish

        on:
          release:
            types: [published]

        permissions:
          contents: read
          id-token: write

        jobs:
          npm:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - uses: actions/setup-node@v4
                with:
                  node-version: 20
                  registry-url: https://registry.npmjs.org
              - run: npm ci
              - run: npm publish --provenance --access public
                env:
                  NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
              - name: Notify
                run: ./scripts/notify.sh "released ${{ github.ref_name }}"
                env:
                  GH_TOKEN: ${{ github.token }}
                  SLACK_BOT_TOKEN: ${{ secrets.SLACK_BOT_TOKEN }}
        '''))

    add(F, "npmrc", ".npmrc", T('''
        ; project npm settings - the token comes from the environment
        registry=https://registry.npmjs.org/
        @acme:registry=https://npm.pkg.github.com/
        //npm.pkg.github.com/:_authToken=${GITHUB_PACKAGES_TOKEN}
        //registry.npmjs.org/:_authToken=${NPM_TOKEN}
        save-exact=true
        engine-strict=true
        fund=false
        audit-level=moderate
        lockfile-version=3
        '''))


# ==========================================================================
# family: private-key
# ==========================================================================
def fam_private_key():
    F = "private-key"

    k = rsa_pkcs1()
    add(F, "pem", "certs/api.internal.key", k, [("-----BEGIN RSA PRIVATE KEY-----", "RSA private key (PKCS#1)")])

    k = pkcs8_rsa()
    add(F, "pem", "deploy/tls/tls.key", k, [("-----BEGIN PRIVATE KEY-----", "PKCS#8 private key")])

    k = ec_private()
    add(F, "pem", "signing/es256.pem",
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" + k,
        [("-----BEGIN EC PRIVATE KEY-----", "EC private key")])

    c1, k = certificate(), rsa_pkcs1()
    add(F, "pem", "nginx/ssl/shop.example.com.pem", c1 + k,
        [("-----BEGIN RSA PRIVATE KEY-----", "RSA private key bundled after certificate chain")])

    k = pkcs8_rsa()
    add(F, "kubernetes", "k8s/ingress/tls-secret.yaml", T('''
        apiVersion: v1
        kind: Secret
        metadata:
          name: storefront-tls
          namespace: storefront
          labels:
            app.kubernetes.io/part-of: storefront
        type: kubernetes.io/tls
        stringData:
          tls.crt: |
        @@crt@@
          tls.key: |
        @@key@@
        ''', crt=indent(certificate(), 4), key=indent(k, 4)),
        [("-----BEGIN PRIVATE KEY-----", "TLS private key in Secret stringData")])

    k = pkcs8_rsa()
    kid = hexs(40)
    add(F, "json", "infra/gcp/ci-deployer.json", T('''
        {
          "type": "service_account",
          "project_id": "acme-prod-3821",
          "private_key_id": "@@kid@@",
          "private_key": "@@key@@",
          "client_email": "ci-deployer@acme-prod-3821.iam.gserviceaccount.com",
          "client_id": "@@cid@@",
          "auth_uri": "https://accounts.google.com/o/oauth2/auth",
          "token_uri": "https://oauth2.googleapis.com/token",
          "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
          "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/ci-deployer%40acme-prod-3821.iam.gserviceaccount.com",
          "universe_domain": "googleapis.com"
        }
        ''', kid=kid, key=json_escape_pem(k), cid=digits(21)),
        [("-----BEGIN PRIVATE KEY-----", "GCP service-account private key (escaped PEM in JSON)")])

    k = ec_private()
    add(F, "python", "app/auth/tokens.py", T('''
        """JWT issuing for the internal admin API."""
        import datetime as dt

        import jwt

        ISSUER = "https://admin.acme.internal"
        AUDIENCE = "admin-api"

        SIGNING_KEY = """@@key@@"""


        def issue(subject: str, scopes: list[str], ttl_minutes: int = 15) -> str:
            now = dt.datetime.now(dt.timezone.utc)
            claims = {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": subject,
                "scope": " ".join(scopes),
                "iat": now,
                "exp": now + dt.timedelta(minutes=ttl_minutes),
            }
            return jwt.encode(claims, SIGNING_KEY, algorithm="ES256")
        ''', key=k.rstrip("\n")), [("-----BEGIN EC PRIVATE KEY-----", "EC private key in Python string")])

    k = rsa_pkcs1()
    add(F, "go", "pkg/license/signer.go", T('''
        package license

        import (
        	"crypto"
        	"crypto/rsa"
        	"crypto/sha256"
        	"crypto/x509"
        	"encoding/pem"
        	"errors"
        )

        // vendorKey signs offline licence files.
        const vendorKey = `@@key@@`

        func loadKey() (*rsa.PrivateKey, error) {
        	block, _ := pem.Decode([]byte(vendorKey))
        	if block == nil {
        		return nil, errors.New("license: bad key")
        	}
        	return x509.ParsePKCS1PrivateKey(block.Bytes)
        }

        func Sign(payload []byte) ([]byte, error) {
        	key, err := loadKey()
        	if err != nil {
        		return nil, err
        	}
        	sum := sha256.Sum256(payload)
        	return rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
        }
        ''', key=k.rstrip("\n")), [("-----BEGIN RSA PRIVATE KEY-----", "RSA private key in Go raw string")])

    k = pkcs8_encrypted()
    add(F, "pem", "backup/keys/archive-2023.key", k,
        [("-----BEGIN ENCRYPTED PRIVATE KEY-----", "encrypted PKCS#8 private key")])

    k = openssh_private("ed25519", "terraform@bastion")
    add(F, "terraform", "infra/bastion/provision.tf", T('''
        resource "aws_instance" "bastion" {
          ami                    = data.aws_ami.debian.id
          instance_type          = "t3.micro"
          subnet_id              = aws_subnet.public_a.id
          vpc_security_group_ids = [aws_security_group.bastion.id]
          key_name               = aws_key_pair.ops.key_name

          tags = {
            Name = "bastion"
            Role = "ssh-gateway"
          }

          provisioner "remote-exec" {
            inline = [
              "sudo apt-get update",
              "sudo apt-get install -y fail2ban",
            ]

            connection {
              type        = "ssh"
              user        = "admin"
              host        = self.public_ip
              private_key = <<-EOT
        @@key@@
              EOT
            }
          }
        }
        ''', key=indent(k, 8)), [("-----BEGIN OPENSSH PRIVATE KEY-----", "OpenSSH private key in Terraform heredoc")])

    k = openssh_private("ed25519", "gitlab-deploy")
    add(F, "gitlab-ci", "deploy/.gitlab-ci.deploy.yml", T('''
        variables:
          DEPLOY_HOST: app01.prod.acme.internal
          DEPLOY_USER: deploy
          SSH_PRIVATE_KEY: |
        @@key@@

        .ssh-setup: &ssh-setup
          - eval $(ssh-agent -s)
          - echo "$SSH_PRIVATE_KEY" | tr -d '\\r' | ssh-add -
          - mkdir -p ~/.ssh && chmod 700 ~/.ssh
          - ssh-keyscan "$DEPLOY_HOST" >> ~/.ssh/known_hosts

        deploy:
          stage: deploy
          image: alpine:3.19
          before_script:
            - apk add --no-cache openssh-client rsync
            - *ssh-setup
          script:
            - rsync -az --delete build/ "$DEPLOY_USER@$DEPLOY_HOST:/srv/app/"
            - ssh "$DEPLOY_USER@$DEPLOY_HOST" sudo systemctl restart app
          only:
            - main
        ''', key=indent(k, 4)), [("-----BEGIN OPENSSH PRIVATE KEY-----", "OpenSSH private key in CI variable")])

    k = pkcs8_rsa()
    body = k.strip().split("\n")
    java_lines = "\n".join(f'            + "{l}\\n"' for l in body[1:])
    add(F, "java", "src/main/java/com/acme/sso/SamlKeys.java", T('''
        package com.acme.sso;

        import java.security.KeyFactory;
        import java.security.PrivateKey;
        import java.security.spec.PKCS8EncodedKeySpec;
        import java.util.Base64;

        final class SamlKeys {
            private SamlKeys() {}

            static final String SP_KEY = "@@first@@\\n"
        @@rest@@;

            static PrivateKey spKey() throws Exception {
                String b64 = SP_KEY
                    .replace("-----BEGIN PRIVATE KEY-----", "")
                    .replace("-----END PRIVATE KEY-----", "")
                    .replaceAll("\\\\s", "");
                byte[] der = Base64.getDecoder().decode(b64);
                return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
            }
        }
        ''', first=body[0], rest=java_lines),
        [('"-----BEGIN PRIVATE KEY-----\\n"', "PKCS#8 private key split over Java string concatenation")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "tools/keygen.py", T('''
        """Generate a fresh service key pair; the private half never leaves the host."""
        import os
        import sys

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        PEM_PRIVATE_HEADER = b"-----BEGIN PRIVATE KEY-----"


        def generate(path: str) -> None:
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                encoding=serialization.Encoding.PEM,
                format=serialization.PrivateFormat.PKCS8,
                encryption_algorithm=serialization.NoEncryption(),
            )
            assert pem.startswith(PEM_PRIVATE_HEADER)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            pub = key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            sys.stdout.write(pub.decode())


        if __name__ == "__main__":
            generate(sys.argv[1] if len(sys.argv) > 1 else "service.key")
        '''))

    add(F, "markdown", "docs/tls.md", T('''
        # TLS setup

        The ingress expects a key and a certificate in PEM form. A key file
        starts like this (truncated, obviously):

        ```
        -----BEGIN RSA PRIVATE KEY-----
        MIIEpAIBAAKCAQEA...
        ...
        -----END RSA PRIVATE KEY-----
        ```

        If yours starts with `-----BEGIN PRIVATE KEY-----` it is PKCS#8, which
        also works. Convert an old key with:

        ```bash
        openssl pkcs8 -topk8 -nocrypt -in old.key -out new.key
        ```

        Then create the secret from the files (never paste them into YAML):

        ```bash
        kubectl -n storefront create secret tls storefront-tls --cert=tls.crt --key=tls.key
        ```
        '''))

    add(F, "yaml", "charts/storefront/values.yaml", T('''
        replicaCount: 3

        image:
          repository: registry.acme.example/storefront
          tag: ""
          pullPolicy: IfNotPresent

        tls:
          enabled: true
          # Name of an existing kubernetes.io/tls secret. If empty, the chart
          # renders one from tls.crt / tls.key below.
          existingSecret: storefront-tls
          crt: ""
          key: ""

        ingress:
          className: nginx
          hosts:
            - shop.acme.example

        resources:
          requests:
            cpu: 100m
            memory: 256Mi
        '''))

    add(F, "shell", "scripts/make-dev-certs.sh", T('''
        #!/usr/bin/env bash
        # Creates a throw-away CA and server key for local development.
        set -euo pipefail
        out=${1:-./.dev-certs}
        mkdir -p "$out"
        umask 077

        openssl genrsa -out "$out/ca.key" 4096
        openssl req -x509 -new -key "$out/ca.key" -sha256 -days 30 \\
          -subj "/CN=dev-ca" -out "$out/ca.crt"

        openssl ecparam -name prime256v1 -genkey -noout -out "$out/server.key"
        openssl req -new -key "$out/server.key" -subj "/CN=localhost" -out "$out/server.csr"
        openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \\
          -CAcreateserial -days 30 -out "$out/server.crt"

        grep -q "BEGIN EC PRIVATE KEY" "$out/server.key" && echo "server key ok"
        echo "certificates in $out (already git-ignored)"
        '''))


# ==========================================================================
# family: aws
# ==========================================================================
def fam_aws():
    F = "aws"

    i1, s1, i2, s2 = aws_key_id(), aws_secret(), aws_key_id(), aws_secret()
    i3, s3, st = aws_key_id("ASIA"), aws_secret(), aws_session_token()
    add(F, "ini", "ops/aws/credentials", T('''
        [default]
        aws_access_key_id = @@i1@@
        aws_secret_access_key = @@s1@@

        [prod-deployer]
        aws_access_key_id = @@i2@@
        aws_secret_access_key = @@s2@@

        [incident-2024-03]
        # temporary creds from `aws sts assume-role`, expire after 12h
        aws_access_key_id = @@i3@@
        aws_secret_access_key = @@s3@@
        aws_session_token = @@st@@

        [sso-readonly]
        sso_session = acme
        sso_account_id = 210987654321
        sso_role_name = ReadOnly
        region = eu-west-1
        ''', i1=i1, s1=s1, i2=i2, s2=s2, i3=i3, s3=s3, st=st),
        [(s1, "AWS secret access key (default)"), (s2, "AWS secret access key (prod-deployer)"),
         (s3, "AWS secret access key (temporary)"), (st, "AWS session token")])

    rows = [(u, aws_key_id(), aws_secret()) for u in ("svc-backup", "svc-metrics", "jenkins")]
    text = "User name,Access key ID,Secret access key\n" + "".join(f"{u},{i},{s}\n" for u, i, s in rows)
    add(F, "csv", "ops/iam/rotated-keys-2024-05.csv", text,
        [(s, f"AWS key pair in CSV row ({u})") for u, i, s in rows])

    i, s = aws_key_id(), aws_secret()
    add(F, "dotenv", "apps/uploader/.env", T('''
        APP_ENV=production
        APP_PORT=4000
        LOG_FORMAT=json

        # S3 bucket for user uploads
        S3_BUCKET=acme-user-uploads-prod
        AWS_REGION=eu-central-1
        AWS_ACCESS_KEY_ID=@@i@@
        AWS_SECRET_ACCESS_KEY=@@s@@

        MAX_UPLOAD_MB=25
        ALLOWED_TYPES=image/png,image/jpeg,application/pdf
        THUMBNAIL_WIDTH=320
        ''', i=i, s=s), [(s, "AWS secret access key")])

    i, s = aws_key_id(), aws_secret()
    add(F, "python", "etl/export_to_s3.py", T('''
        import csv
        import io
        import logging

        import boto3

        log = logging.getLogger(__name__)

        s3 = boto3.client(
            "s3",
            region_name="us-east-2",
            aws_access_key_id="@@i@@",
            aws_secret_access_key="@@s@@",
        )


        def export(rows, bucket="acme-analytics-exports", key="daily/orders.csv"):
            buf = io.StringIO()
            writer = csv.writer(buf)
            for row in rows:
                writer.writerow(row)
            s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue().encode())
            log.info("exported %d rows to s3://%s/%s", len(rows), bucket, key)
        ''', i=i, s=s), [(s, "AWS secret access key (boto3 kwarg)")])

    i, s = aws_key_id(), aws_secret()
    add(F, "shell", "cron/nightly-sync.sh", T('''
        #!/bin/bash
        # nightly: push the reports directory to the partner bucket
        set -u
        LOG=/var/log/nightly-sync.log
        SRC=/srv/reports/out

        exec >>"$LOG" 2>&1
        echo "=== $(date -Is) start"

        find "$SRC" -name '*.tmp' -delete

        /opt/sync/bin/s3push @@i@@ @@s@@ partner-drop-eu "$SRC"

        status=$?
        echo "=== $(date -Is) done status=$status"
        exit $status
        ''', i=i, s=s), [(s, "AWS key pair as positional arguments")])

    i, s = aws_key_id(), aws_secret()
    add(F, "javascript", "lambda/thumbnailer/s3.js", T('''
        const AWS = require("aws-sdk");

        const s3 = new AWS.S3({
          region: "ap-southeast-2",
          accessKeyId: "@@i@@",
          secretAccessKey: "@@s@@",
          signatureVersion: "v4",
        });

        async function getObject(bucket, key) {
          const res = await s3.getObject({ Bucket: bucket, Key: key }).promise();
          return res.Body;
        }

        async function putThumbnail(bucket, key, body) {
          await s3
            .putObject({ Bucket: bucket, Key: `thumbs/${key}`, Body: body, ContentType: "image/webp" })
            .promise();
        }

        module.exports = { getObject, putThumbnail };
        ''', i=i, s=s), [(s, "AWS secret access key (JS SDK)")])

    i, s = aws_key_id(), aws_secret()
    add(F, "go", "internal/storage/s3client.go", T('''
        package storage

        import (
        	"context"

        	"github.com/aws/aws-sdk-go-v2/aws"
        	"github.com/aws/aws-sdk-go-v2/config"
        	"github.com/aws/aws-sdk-go-v2/credentials"
        	"github.com/aws/aws-sdk-go-v2/service/s3"
        )

        func NewClient(ctx context.Context) (*s3.Client, error) {
        	cfg, err := config.LoadDefaultConfig(ctx,
        		config.WithRegion("eu-west-3"),
        		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("@@i@@", "@@s@@", "")),
        	)
        	if err != nil {
        		return nil, err
        	}
        	return s3.NewFromConfig(cfg, func(o *s3.Options) {
        		o.UsePathStyle = true
        		o.RetryMaxAttempts = 5
        	}), nil
        }

        var DefaultBucket = aws.String("acme-artifacts")
        ''', i=i, s=s), [(s, "AWS key pair as positional Go arguments")])

    i, s = aws_key_id(), aws_secret()
    add(F, "docker-compose", "docker-compose.prod.yml", T('''
        services:
          api:
            image: registry.acme.example/api:1.18.2
            restart: unless-stopped
            ports:
              - "8080:8080"
            environment:
              NODE_ENV: production
              AWS_REGION: us-west-2
              AWS_ACCESS_KEY_ID: @@i@@
              AWS_SECRET_ACCESS_KEY: @@s@@
              SQS_QUEUE_URL: https://sqs.us-west-2.amazonaws.com/123456789012/api-jobs
            depends_on:
              - redis

          redis:
            image: redis:7.2-alpine
            command: ["redis-server", "--appendonly", "yes"]
            volumes:
              - redis-data:/data

        volumes:
          redis-data:
        ''', i=i, s=s), [(s, "AWS secret access key in compose env")])

    i, s = aws_key_id(), aws_secret()
    add(F, "terraform", "infra/legacy/provider.tf", T('''
        terraform {
          required_version = ">= 1.5"
          required_providers {
            aws = {
              source  = "hashicorp/aws"
              version = "~> 5.40"
            }
          }
        }

        provider "aws" {
          region     = "us-east-1"
          access_key = "@@i@@"
          secret_key = "@@s@@"

          default_tags {
            tags = {
              Project   = "legacy-billing"
              ManagedBy = "terraform"
            }
          }
        }
        ''', i=i, s=s), [(s, "AWS secret key in Terraform provider")])

    i, s = aws_key_id(), aws_secret()
    add(F, "php", "config/filesystems.php", T('''
        <?php

        return [
            'default' => env('FILESYSTEM_DISK', 'local'),

            'disks' => [
                'local' => [
                    'driver' => 'local',
                    'root' => storage_path('app'),
                ],

                's3' => [
                    'driver' => 's3',
                    'key' => '@@i@@',
                    'secret' => '@@s@@',
                    'region' => 'eu-west-1',
                    'bucket' => 'acme-invoices',
                    'throw' => false,
                ],
            ],
        ];
        ''', i=i, s=s), [(s, "AWS secret in Laravel disk config")])

    i, s = aws_key_id(), aws_secret()
    add(F, "rust", "src/backup/s3.rs", T('''
        use aws_credential_types::Credentials;
        use aws_sdk_s3::config::{Builder, Region};
        use aws_sdk_s3::Client;

        pub fn client() -> Client {
            let creds = Credentials::new(
                "@@i@@",
                "@@s@@",
                None,
                None,
                "static",
            );
            let conf = Builder::new()
                .region(Region::new("eu-north-1"))
                .credentials_provider(creds)
                .behavior_version_latest()
                .build();
            Client::from_conf(conf)
        }

        pub const BUCKET: &str = "acme-db-backups";
        pub const PREFIX: &str = "pg/daily/";
        ''', i=i, s=s), [(s, "AWS secret key as positional Rust argument (line after the key id)")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "tools/audit_keys.py", T('''
        """List IAM access keys older than 90 days (reads creds from the environment)."""
        import datetime as dt
        import os

        import boto3

        iam = boto3.client(
            "iam",
            aws_access_key_id=os.environ["AUDIT_ACCESS_KEY_ID"],
            aws_secret_access_key=os.environ["AUDIT_SECRET_ACCESS_KEY"],
        )

        # keys already reported last quarter; the ids are not secret
        KNOWN_STALE = {"@@a@@", "@@b@@"}

        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=90)
        for user in iam.list_users()["Users"]:
            for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]:
                if key["CreateDate"] < cutoff and key["AccessKeyId"] not in KNOWN_STALE:
                    print(user["UserName"], key["AccessKeyId"], key["CreateDate"].date())
        ''', a=aws_key_id(), b=aws_key_id()))

    add(F, "json", "fixtures/cloudtrail/console-login.json", T('''
        {
          "eventVersion": "1.09",
          "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROA@@p@@:alice",
            "arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice",
            "accountId": "123456789012",
            "accessKeyId": "@@k@@",
            "sessionContext": {
              "attributes": {"creationDate": "2024-05-02T08:11:42Z", "mfaAuthenticated": "true"}
            }
          },
          "eventTime": "2024-05-02T08:12:03Z",
          "eventSource": "s3.amazonaws.com",
          "eventName": "PutBucketPolicy",
          "awsRegion": "eu-west-1",
          "sourceIPAddress": "203.0.113.24",
          "requestID": "@@rq@@",
          "eventID": "@@ev@@",
          "readOnly": false,
          "recipientAccountId": "123456789012"
        }
        ''', p=pick(UPPER + DIGITS, 17), k=aws_key_id("ASIA"), rq=pick(UPPER + DIGITS, 16), ev=uuid4()))

    add(F, "ini", "dotfiles/aws/config", T('''
        [default]
        region = eu-west-1
        output = json

        [profile prod]
        role_arn = arn:aws:iam::210987654321:role/Deployer
        source_profile = default
        mfa_serial = arn:aws:iam::123456789012:mfa/alice
        duration_seconds = 3600

        [profile vault]
        credential_process = aws-vault exec prod --json

        [sso-session acme]
        sso_start_url = https://acme.awsapps.com/start
        sso_region = eu-west-1
        sso_registration_scopes = sso:account:access
        '''))

    add(F, "kubernetes", "k8s/uploader/serviceaccount.yaml", T('''
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: uploader
          namespace: media
          annotations:
            eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/media-uploader
            eks.amazonaws.com/sts-regional-endpoints: "true"
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: uploader
          namespace: media
        spec:
          replicas: 2
          selector:
            matchLabels: {app: uploader}
          template:
            metadata:
              labels: {app: uploader}
            spec:
              serviceAccountName: uploader
              containers:
                - name: uploader
                  image: registry.acme.example/uploader:3.2.0
                  env:
                    - name: AWS_REGION
                      value: eu-central-1
        '''))


# ==========================================================================
# family: netrc-pgpass-mycnf-gitcreds
# ==========================================================================
def fam_credfiles():
    F = "netrc-pgpass-mycnf-gitcreds"

    p1, p2 = uuid4(), human_pw()
    add(F, "netrc", "deploy/.netrc", T('''
        machine api.heroku.com login ops@acme.example password @@p1@@
        machine git.heroku.com login ops@acme.example password @@p1@@
        machine nexus.acme.internal login deployer password @@p2@@
        ''', p1=p1, p2=p2),
        [(p1, "netrc password (Heroku API key, same value for api. and git.heroku.com)"),
         (p2, "netrc password (nexus)")])

    p, p2 = human_pw(), url_pw()
    add(F, "netrc", "ci/windows/_netrc", T('''
        machine ftp.partner-logistics.example
          login acme_upload
          password @@p@@

        machine mirror.acme.internal
          login readonly
          password @@p2@@

        default
          login anonymous
          password builds@acme.example
        ''', p=p, p2=p2),
        [(p, "netrc password (multi-line form)"), (p2, "netrc password (mirror)")])

    p = human_pw()
    add(F, "netrc", "scripts/ftp/.netrc", T('''
        machine files.printshop.example
        login acme-orders
        password @@p@@
        macdef init
        binary
        prompt off
        cd /incoming/acme
        mput *.pdf
        bye

        machine ftp.gnu.org
        login anonymous
        password anonymous@
        ''', p=p), [(p, "netrc password (with macdef)")])

    a, b, c = url_pw(), url_pw(), human_pw()
    add(F, "pgpass", "ops/db/.pgpass", T('''
        # hostname:port:database:username:password
        # chmod 0600 - psql ignores this file otherwise
        db-primary.prod.acme.internal:5432:orders:orders_app:@@a@@
        db-replica.prod.acme.internal:5432:orders:reporting:@@b@@
        *:*:*:replicator:@@c@@
        ''', a=a, b=b, c=c),
        [(a, "pgpass password (orders_app)"), (b, "pgpass password (reporting)"), (c, "pgpass password (replicator)")])

    p = token(24)
    add(F, "pgpass", "docker/postgres/pgpass", T('''
        # used by the backup sidecar (PGPASSFILE=/etc/backup/pgpass)
        postgres:5432:*:backup:@@p@@
        ''', p=p), [(p, "pgpass password (backup user)")])

    p = human_pw()
    add(F, "mycnf", "conf/.my.cnf", T('''
        # ~/.my.cnf for the ops user
        [client]
        user=root
        password=@@p@@
        host=127.0.0.1
        port=3306
        default-character-set=utf8mb4

        [mysql]
        prompt="\\\\u@\\\\h [\\\\d]> "
        auto-rehash

        [mysqldump]
        single-transaction
        quick
        ''', p=p), [(p, "my.cnf client password")])

    p = url_pw(20)
    add(F, "mycnf", "backup/mysql/my.cnf", T('''
        [mysqldump]
        user = backup
        password = "@@p@@"
        host = mysql-primary.internal
        single-transaction
        routines
        triggers
        max_allowed_packet = 512M

        [mysqld]
        # not used by the backup job, kept in sync with the server config
        bind-address = 0.0.0.0
        innodb_buffer_pool_size = 4G
        log_bin = mysql-bin
        ''', p=p), [(p, "my.cnf mysqldump password")])

    p = human_pw()
    add(F, "mycnf", "ansible/roles/mysql/files/root.my.cnf", T('''
        [client]
        user = root
        password = @@p@@
        socket = /var/run/mysqld/mysqld.sock

        [mysqladmin]
        user = root
        password = @@p@@
        ''', p=p),
        [(p, "my.cnf root password (same value in [client] and [mysqladmin])")])

    g1, g2, g3 = github_classic("ghp"), gitlab_pat(), url_pw()
    add(F, "git-credentials", "home/ci/.git-credentials", T('''
        https://acme-ci:@@g1@@@github.com
        https://oauth2:@@g2@@@gitlab.com
        https://deploy:@@g3@@@git.acme.internal
        ''', g1=g1, g2=g2, g3=g3),
        [(g1, "git-credentials GitHub token"), (g2, "git-credentials GitLab token"), (g3, "git-credentials password")])

    p = "ATBB" + mixed(ALNUM, 32)
    add(F, "git-credentials", ".git-credentials", T('''
        https://j.doe%40acme.example:@@p@@@bitbucket.org
        ''', p=p), [(p, "git-credentials Bitbucket app password")])

    p = human_pw()
    add(F, "shell", "provision/setup-ftp-user.sh", T('''
        #!/bin/sh
        # Prepare the nightly export user on a fresh box.
        set -e

        useradd -m -s /bin/bash exporter || true
        install -d -o exporter -m 700 /home/exporter/out

        cat > /home/exporter/.netrc <<EOF
        machine sftp.bank-reports.example
          login acme-exports
          password @@p@@
        EOF
        chown exporter: /home/exporter/.netrc
        chmod 600 /home/exporter/.netrc

        echo "0 2 * * * exporter /usr/local/bin/push-reports" > /etc/cron.d/push-reports
        ''', p=p), [(p, "netrc password written by heredoc")])

    p = url_pw()
    add(F, "yaml", "ansible/roles/pg_client/tasks/main.yml", T('''
        ---
        - name: Install PostgreSQL client
          ansible.builtin.apt:
            name: postgresql-client-16
            state: present

        - name: Install pgpass for the reporting job
          ansible.builtin.copy:
            dest: /home/reporting/.pgpass
            owner: reporting
            group: reporting
            mode: "0600"
            content: |
              analytics-db.internal:5432:warehouse:reporting:@@p@@

        - name: Schedule the report
          ansible.builtin.cron:
            name: weekly report
            user: reporting
            weekday: "1"
            hour: "6"
            minute: "0"
            job: /opt/reports/run.sh
        ''', p=p), [(p, "pgpass line written by Ansible")])

    # ---- hard negatives -------------------------------------------------
    add(F, "netrc", "mirror/.netrc", T('''
        # anonymous access to public mirrors only
        machine ftp.debian.org login anonymous password anonymous@
        machine ftp.gnu.org login anonymous password guest@
        default login anonymous password mirror-bot@acme.example
        '''))

    add(F, "pgpass", "docs/examples/pgpass.example", T('''
        # Copy to ~/.pgpass and chmod 600.
        # Format: hostname:port:database:username:password
        localhost:5432:*:postgres:<password>
        db.example.com:5432:mydb:myuser:CHANGE_ME
        '''))

    add(F, "mycnf", "docker/mysql/client.cnf", T('''
        [client]
        user = app
        host = mysql
        port = 3306
        # the password is supplied by MYSQL_PWD from the orchestrator
        # password =
        default-character-set = utf8mb4
        ssl-mode = REQUIRED
        ssl-ca = /etc/mysql/certs/ca.pem

        [mysql]
        no-auto-rehash
        '''))

    add(F, "gitconfig", "dotfiles/gitconfig", T('''
        [user]
        	name = Jane Doe
        	email = jane@acme.example
        [credential]
        	helper = store --file ~/.git-credentials
        [credential "https://github.com"]
        	helper = !gh auth git-credential
        	username = jdoe
        [url "git@github.com:"]
        	insteadOf = https://github.com/
        [pull]
        	rebase = true
        [init]
        	defaultBranch = main
        '''))

    add(F, "markdown", "docs/database-access.md", T('''
        # Connecting to the databases

        Put your personal credentials in `~/.pgpass` (one line per database):

        ```
        hostname:port:database:username:password
        db-replica.prod.acme.internal:5432:orders:YOUR_USER:YOUR_PASSWORD
        ```

        and for MySQL create `~/.my.cnf`:

        ```ini
        [client]
        user=your.name
        password=<from the vault>
        ```

        Git over HTTPS: `git config --global credential.helper osxkeychain`
        (never `store`). A `.git-credentials` line looks like
        `https://USERNAME:TOKEN@github.com`.
        '''))


# ==========================================================================
# family: command-line
# ==========================================================================
def fam_command_line():
    F = "command-line"

    p = human_pw()
    add(F, "shell", "scripts/deploy-legacy.sh", T('''
        #!/usr/bin/env bash
        # Deploy the PHP monolith to the two legacy web servers.
        set -euo pipefail

        HOSTS=(web01.legacy.acme.internal web02.legacy.acme.internal)
        RELEASE=$(date +%Y%m%d%H%M)

        tar czf "/tmp/release-$RELEASE.tgz" -C build .

        for h in "${HOSTS[@]}"; do
          echo "-> $h"
          sshpass -p '@@p@@' scp -o StrictHostKeyChecking=no "/tmp/release-$RELEASE.tgz" "www@$h:/tmp/"
          sshpass -p '@@p@@' ssh -o StrictHostKeyChecking=no "www@$h" \\
            "mkdir -p /var/www/releases/$RELEASE && tar xzf /tmp/release-$RELEASE.tgz -C /var/www/releases/$RELEASE && ln -sfn /var/www/releases/$RELEASE /var/www/current"
        done

        rm -f "/tmp/release-$RELEASE.tgz"
        echo "released $RELEASE"
        ''', p=p), [(p, "sshpass -p password (used twice)")])

    p1, p2 = url_pw(16), human_pw()
    add(F, "shell", "backup/mysql-backup.sh", T('''
        #!/bin/bash
        # Daily logical backup of the shop database.
        DATE=$(date +%F)
        DEST=/backups/mysql/$DATE
        mkdir -p "$DEST"

        mysqldump -h db01.internal -u backup -p@@p1@@ --single-transaction --routines shop \\
          | gzip > "$DEST/shop.sql.gz"

        # sanity check: count orders in the live db
        mysql -h db01.internal -u report --password=@@p2@@ -N -e "SELECT COUNT(*) FROM shop.orders" \\
          > "$DEST/orders.count"

        find /backups/mysql -maxdepth 1 -type d -mtime +14 -exec rm -rf {} +
        echo "backup $DATE done"
        ''', p1=p1, p2=p2), [(p1, "mysqldump -p<password>"), (p2, "mysql --password=")])

    p = url_pw()
    add(F, "dockerfile", "build/Dockerfile", T('''
        FROM eclipse-temurin:21-jre

        ARG APP_VERSION=4.2.0
        WORKDIR /opt/app

        RUN apt-get update && apt-get install -y --no-install-recommends curl \\
            && rm -rf /var/lib/apt/lists/*

        RUN curl -fsSL -u ci-reader:@@p@@ \\
              -o app.jar \\
              "https://nexus.acme.internal/repository/releases/com/acme/app/${APP_VERSION}/app-${APP_VERSION}.jar"

        COPY docker/entrypoint.sh /entrypoint.sh
        RUN chmod +x /entrypoint.sh

        USER 1000
        EXPOSE 8080
        ENTRYPOINT ["/entrypoint.sh"]
        ''', p=p), [(p, "curl -u user:password")])

    p = token(28)
    add(F, "makefile", "Makefile", T('''
        IMAGE ?= registry.acme.example/platform/gateway
        TAG   ?= $(shell git describe --tags --always --dirty)

        .PHONY: build test push login clean

        build:
        	docker build -t $(IMAGE):$(TAG) .

        test:
        	go test ./... -race -count=1

        login:
        	docker login -u ci-bot -p @@p@@ registry.acme.example

        push: login build
        	docker push $(IMAGE):$(TAG)

        clean:
        	rm -rf dist/ coverage.out
        ''', p=p), [(p, "docker login -p password")])

    p = url_pw()
    add(F, "github-actions", ".github/workflows/migrate.yml", T('''
        name: migrate

        on:
          workflow_dispatch:
            inputs:
              target:
                description: "environment"
                default: staging

        jobs:
          migrate:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - name: Install psql
                run: sudo apt-get install -y postgresql-client
              - name: Apply migrations
                run: |
                  for f in migrations/*.sql; do
                    PGPASSWORD=@@p@@ psql -h staging-db.acme.example -U migrator -d app -v ON_ERROR_STOP=1 -f "$f"
                  done
        ''', p=p), [(p, "PGPASSWORD= on command line")])

    p = human_pw()
    add(F, "gitlab-ci", "ops/nginx/.gitlab-ci.yml", T('''
        build-proxy:
          stage: build
          image: docker:24
          services:
            - docker:24-dind
          before_script:
            - apk add --no-cache apache2-utils
          script:
            - htpasswd -b -c conf/.htpasswd metrics @@p@@
            - docker build -t "$CI_REGISTRY_IMAGE/proxy:$CI_COMMIT_SHORT_SHA" .
            - docker push "$CI_REGISTRY_IMAGE/proxy:$CI_COMMIT_SHORT_SHA"
          rules:
            - changes:
                - conf/**
                - Dockerfile
        ''', p=p), [(p, "htpasswd -b password")])

    p = url_pw()
    add(F, "markdown", "docs/reporting.md", T('''
        # Ad-hoc reporting

        The reporting replica lags the primary by up to five minutes.

        ## Quick queries

        ```bash
        mysql -h reporting.db.acme.internal -u analyst --password=@@p@@ analytics
        ```

        Useful tables:

        - `orders_daily` - one row per day and country
        - `sessions` - raw web sessions, partitioned by month
        - `refunds` - refunds with reason codes

        ## Exports

        Use `SELECT ... INTO OUTFILE` only on the replica, never on the primary.
        ''', p=p), [(p, "mysql --password= in README snippet")])

    p = human_pw()
    add(F, "powershell", "scripts/map-drives.ps1", T('''
        # Map the shared drives for the build agents.
        $ErrorActionPreference = "Stop"

        $shares = @{
            "S:" = "\\\\fs01.corp.acme.example\\builds"
            "T:" = "\\\\fs01.corp.acme.example\\tools"
        }

        foreach ($drive in $shares.Keys) {
            if (Test-Path $drive) {
                net use $drive /delete /y | Out-Null
            }
            net use $drive $shares[$drive] /user:CORP\\svc-build @@p@@ /persistent:yes
        }

        Write-Host "Mapped $($shares.Count) drives"
        ''', p=p), [(p, "net use password argument")])

    p = human_pw()
    add(F, "python", "tools/push_configs.py", T('''
        #!/usr/bin/env python3
        """Copy switch configs to the TFTP host."""
        import pathlib
        import subprocess
        import sys

        HOST = "tftp01.net.acme.internal"
        CONFIG_DIR = pathlib.Path("configs")


        def push(path: pathlib.Path) -> None:
            subprocess.run(
                ["sshpass", "-p", "@@p@@", "scp", str(path), f"netops@{HOST}:/srv/tftp/"],
                check=True,
            )


        def main() -> int:
            files = sorted(CONFIG_DIR.glob("*.cfg"))
            for f in files:
                push(f)
            print(f"pushed {len(files)} configs")
            return 0


        if __name__ == "__main__":
            sys.exit(main())
        ''', p=p), [(p, "sshpass -p password in argv list")])

    p = url_pw(14)
    add(F, "crontab", "ops/cron/db-backup.crontab", T('''
        # m h dom mon dow  command
        SHELL=/bin/bash
        PATH=/usr/local/bin:/usr/bin:/bin
        MAILTO=ops@acme.example

        # nightly full dump
        15 3 * * * /usr/bin/mysqldump -uroot -p@@p@@ --all-databases | gzip > /backups/all-$(date +\\%F).sql.gz
        # prune old dumps
        30 4 * * * find /backups -name 'all-*.sql.gz' -mtime +7 -delete
        # rotate slow log
        0 5 * * 0 /usr/sbin/logrotate -f /etc/logrotate.d/mysql-slow
        ''', p=p), [(p, "mysqldump -p<password> in crontab")])

    p = token(20)
    add(F, "groovy", "Jenkinsfile", T('''
        pipeline {
            agent { label 'linux' }
            options { timestamps() }

            stages {
                stage('Build') {
                    steps {
                        sh './gradlew clean build -x test'
                    }
                }
                stage('Test') {
                    steps {
                        sh './gradlew test'
                    }
                }
                stage('Publish') {
                    when { branch 'main' }
                    steps {
                        sh "curl -sf -u jenkins:@@p@@ -T build/libs/app.jar https://artifacts.acme.internal/libs-release-local/app/"
                    }
                }
            }
        }
        ''', p=p), [(p, "curl -u user:password in Jenkinsfile")])

    p1, p2 = url_pw(), token(24)
    add(F, "shell", "scripts/flush-caches.sh", T('''
        #!/bin/sh
        # Flush the CDN-facing caches after a deploy.
        set -e

        echo "flushing redis page cache"
        redis-cli -h cache01.acme.internal -p 6380 -a @@p1@@ --no-auth-warning FLUSHDB

        echo "flushing varnish"
        varnishadm -T varnish01.acme.internal:6082 -S /etc/varnish/secret "ban req.url ~ ."

        echo "clearing file share thumbnails"
        smbclient //fs01/thumbs -U 'svc-web%@@p2@@' -c 'deltree cache'

        echo "done"
        ''', p1=p1, p2=p2), [(p1, "redis-cli -a password"), (p2, "smbclient -U user%password")])

    # ---- hard negatives -------------------------------------------------
    add(F, "shell", "scripts/db-shell.sh", T('''
        #!/usr/bin/env bash
        # Open a shell on one of the databases. Credentials come from the vault.
        set -euo pipefail
        env=${1:?usage: db-shell.sh <env>}

        DB_PASSWORD=$(vault kv get -field=password "secret/$env/db")
        export MYSQL_PWD="$DB_PASSWORD"

        case "$env" in
          staging) host=staging-db.internal ;;
          prod)    host=prod-db-ro.internal ;;
          *) echo "unknown env" >&2; exit 1 ;;
        esac

        # -P is the port, not the password
        mysql -h "$host" -P 3306 -u "$USER"
        # interactive prompt variant:
        # mysql -h "$host" -u "$USER" -p
        sshpass -f /run/secrets/jump-pw ssh -p 2222 "jump@$host" true
        '''))

    add(F, "makefile", "deploy/Makefile", T('''
        REGISTRY := registry.acme.example
        IMAGE    := $(REGISTRY)/billing/worker
        VERSION  ?= dev

        .PHONY: login push

        login:
        	@cat $(REGISTRY_TOKEN_FILE) | docker login -u $(REGISTRY_USER) --password-stdin $(REGISTRY)

        push: login
        	docker build -t $(IMAGE):$(VERSION) .
        	docker push $(IMAGE):$(VERSION)

        psql:
        	psql -h localhost -p 5432 -U $(DB_USER) -d billing

        ssh:
        	ssh -p 2200 ops@bastion.acme.example
        '''))

    add(F, "github-actions", ".github/workflows/image.yml", T('''
        name: image
        on:
          push:
            branches: [main]
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - name: Log in
                run: echo "${{ secrets.REGISTRY_TOKEN }}" | docker login ghcr.io -u "${{ github.actor }}" --password-stdin
              - name: Build and push
                run: |
                  docker build -t ghcr.io/${{ github.repository }}:${{ github.sha }} .
                  docker push ghcr.io/${{ github.repository }}:${{ github.sha }}
              - name: Smoke test
                run: curl -fsS -u "$SMOKE_USER:$SMOKE_PASS" https://staging.acme.example/health
                env:
                  SMOKE_USER: ${{ vars.SMOKE_USER }}
                  SMOKE_PASS: ${{ secrets.SMOKE_PASS }}
        '''))

    add(F, "dockerfile", "services/search/Dockerfile", T('''
        # syntax=docker/dockerfile:1.7
        FROM node:20-alpine AS deps
        WORKDIR /src
        COPY package.json package-lock.json ./
        RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev

        FROM node:20-alpine
        WORKDIR /app
        COPY --from=deps /src/node_modules ./node_modules
        COPY . .
        HEALTHCHECK CMD wget -q -O- http://localhost:3000/health || exit 1
        # psql -p is the port; the password is read from PGPASSFILE at runtime
        ENV PGPORT=5432 PGPASSFILE=/run/secrets/pgpass
        USER node
        CMD ["node", "server.js"]
        '''))

    add(F, "markdown", "docs/cheatsheet.md", T('''
        # Ops cheat sheet

        Replace the angle-bracket parts with your own values.

        ```bash
        sshpass -p <password> ssh <user>@<host>
        mysql -u <user> -p<password> -h <host>
        curl -u username:password https://api.example.com/v1/status
        PGPASSWORD=<password> psql -h <host> -U <user>
        docker login -u <user> -p <token> registry.example.com   # prefer --password-stdin
        htpasswd -b .htpasswd <user> <password>
        ```

        Better: use `~/.pgpass`, `~/.my.cnf` and `docker login --password-stdin`
        so nothing ends up in your shell history.
        '''))


# ==========================================================================
# family: url-credentials
# ==========================================================================
def fam_url_credentials():
    F = "url-credentials"

    p = url_pw()
    add(F, "python", "orders/db.py", T('''
        from contextlib import contextmanager

        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker

        ENGINE = create_engine(
            "postgresql+psycopg2://orders_svc:@@p@@@db-primary.prod.acme.internal:5432/orders",
            pool_size=10,
            max_overflow=5,
            pool_pre_ping=True,
        )
        Session = sessionmaker(bind=ENGINE, expire_on_commit=False)


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
        ''', p=p), [(p, "postgresql+psycopg2 URL password")])

    a, b, c = url_pw(), token(32), url_pw()
    add(F, "dotenv", "backend/.env.production", T('''
        NODE_ENV=production
        PORT=3000
        TRUST_PROXY=1

        DATABASE_URL=postgres://app:@@a@@@pg.prod.acme.internal:5432/app?sslmode=require
        REDIS_URL=rediss://:@@b@@@cache.prod.acme.internal:6380/0
        AMQP_URL=amqps://worker:@@c@@@mq.prod.acme.internal:5671/%2f

        SESSION_TTL=86400
        CORS_ORIGINS=https://app.acme.example,https://admin.acme.example
        FEATURE_FLAGS=new-checkout,fast-search
        ''', a=a, b=b, c=c),
        [(a, "postgres URL password"), (b, "rediss URL password"), (c, "amqps URL password")])

    p = url_pw()
    add(F, "javascript", "server/db/mongo.js", T('''
        const mongoose = require("mongoose");

        const uri =
          "mongodb+srv://catalog:@@p@@@cluster0.x7k2p.mongodb.net/catalog?retryWrites=true&w=majority";

        mongoose.set("strictQuery", true);

        async function connect() {
          await mongoose.connect(uri, {
            maxPoolSize: 20,
            serverSelectionTimeoutMS: 5000,
          });
          console.log("mongo connected");
        }

        mongoose.connection.on("error", (err) => {
          console.error("mongo error", err);
        });

        module.exports = { connect };
        ''', p=p), [(p, "mongodb+srv URL password")])

    p = url_pw()
    add(F, "go", "cmd/inventory/main.go", T('''
        package main

        import (
        	"database/sql"
        	"log"
        	"net/http"
        	"time"

        	_ "github.com/go-sql-driver/mysql"
        )

        const dsn = "inventory:@@p@@@tcp(mysql-1.internal:3306)/inventory?parseTime=true&loc=UTC"

        func main() {
        	db, err := sql.Open("mysql", dsn)
        	if err != nil {
        		log.Fatal(err)
        	}
        	db.SetMaxOpenConns(25)
        	db.SetConnMaxLifetime(5 * time.Minute)

        	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
        		if err := db.Ping(); err != nil {
        			http.Error(w, "db down", http.StatusServiceUnavailable)
        			return
        		}
        		w.Write([]byte("ok"))
        	})
        	log.Fatal(http.ListenAndServe(":8080", nil))
        }
        ''', p=p), [(p, "Go MySQL DSN password")])

    p = url_pw()
    add(F, "properties", "src/main/resources/application-prod.properties", T('''
        server.port=8080
        server.shutdown=graceful
        spring.application.name=shop-service

        spring.datasource.url=jdbc:mysql://mysql.prod.acme.internal:3306/shop?user=shop&password=@@p@@&useSSL=true&serverTimezone=UTC
        spring.datasource.hikari.maximum-pool-size=20
        spring.jpa.hibernate.ddl-auto=validate
        spring.jpa.open-in-view=false

        management.endpoints.web.exposure.include=health,info,prometheus
        logging.level.root=INFO
        logging.level.com.acme=DEBUG
        ''', p=p), [(p, "JDBC URL password parameter")])

    p = human_pw()
    add(F, "xml", "Billing.Web/Web.config", T('''
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <configSections>
            <section name="entityFramework" type="System.Data.Entity.Internal.ConfigFile.EntityFrameworkSection, EntityFramework" />
          </configSections>
          <connectionStrings>
            <add name="BillingDb"
                 connectionString="Server=sql01.corp.acme.example;Database=Billing;User Id=billing_app;Password=@@p@@;MultipleActiveResultSets=True"
                 providerName="System.Data.SqlClient" />
          </connectionStrings>
          <appSettings>
            <add key="webpages:Version" value="3.0.0.0" />
            <add key="InvoicePrefix" value="INV-" />
          </appSettings>
          <system.web>
            <compilation debug="false" targetFramework="4.8" />
            <httpRuntime targetFramework="4.8" />
          </system.web>
        </configuration>
        ''', p=p), [(p, "ADO.NET connection string password")])

    p = url_pw()
    add(F, "csharp", "src/Reporting/WarehouseConnection.cs", T('''
        using System.Data.Odbc;

        namespace Acme.Reporting
        {
            public static class WarehouseConnection
            {
                private const string ConnectionString =
                    "Driver={ODBC Driver 18 for SQL Server};Server=tcp:acme-dw.database.windows.net,1433;" +
                    "Database=warehouse;Uid=report_reader;Pwd=@@p@@;Encrypt=yes;TrustServerCertificate=no;";

                public static OdbcConnection Open()
                {
                    var conn = new OdbcConnection(ConnectionString);
                    conn.Open();
                    return conn;
                }

                public static int CountRows(string table)
                {
                    using var conn = Open();
                    using var cmd = new OdbcCommand($"SELECT COUNT(*) FROM {table}", conn);
                    return (int)cmd.ExecuteScalar();
                }
            }
        }
        ''', p=p), [(p, "ODBC connection string PWD")])

    a, b = url_pw(), url_pw()
    add(F, "docker-compose", "compose/notifications.yml", T('''
        services:
          notifier:
            image: registry.acme.example/notifier:2.4.1
            environment:
              SMTP_URL: smtp://postmaster%40mg.acme.example:@@a@@@smtp.mailgun.org:587
              LDAP_URL: ldaps://cn=notifier,ou=services,dc=acme,dc=example:@@b@@@ldap.acme.internal:636
              LDAP_BASE_DN: ou=people,dc=acme,dc=example
              FROM_ADDRESS: notifications@acme.example
            restart: always
            deploy:
              resources:
                limits:
                  memory: 256M
        ''', a=a, b=b), [(a, "smtp URL password"), (b, "ldaps URL password")])

    p = url_pw()
    add(F, "yaml", "config/database.yml", T('''
        default: &default
          adapter: mysql2
          encoding: utf8mb4
          pool: <%= ENV.fetch("RAILS_MAX_THREADS") { 5 } %>
          timeout: 5000

        development:
          <<: *default
          database: shop_development
          username: root
          host: 127.0.0.1

        test:
          <<: *default
          database: shop_test

        production:
          <<: *default
          url: mysql2://rails:@@p@@@mysql.prod.acme.internal/shop_production
        ''', p=p), [(p, "mysql2 URL password in Rails database.yml")])

    p = human_pw()
    add(F, "php", "src/Db.php", T('''
        <?php
        declare(strict_types=1);

        namespace Acme;

        use PDO;

        final class Db
        {
            private const DSN = 'pgsql:host=pg.acme.internal;port=5432;dbname=crm;user=crm_web;password=@@p@@';

            private static ?PDO $pdo = null;

            public static function get(): PDO
            {
                if (self::$pdo === null) {
                    self::$pdo = new PDO(self::DSN, null, null, [
                        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
                        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
                    ]);
                }
                return self::$pdo;
            }
        }
        ''', p=p), [(p, "PDO pgsql DSN password")])

    a, b = url_pw(), url_pw()
    add(F, "shell", "scripts/fetch-partner-files.sh", T('''
        #!/usr/bin/env bash
        # Pull the partner's daily drop and archive it.
        set -euo pipefail
        DAY=$(date -d yesterday +%Y%m%d)
        mkdir -p "incoming/$DAY"

        lftp -c "open sftp://acme:@@a@@@sftp.partner.example; mirror /outbox/$DAY incoming/$DAY"

        # legacy supplier still on plain FTP
        wget -q -r -nH --cut-dirs=1 -P "incoming/$DAY" "ftp://acme_dl:@@b@@@ftp.supplier.example/export/$DAY/"

        tar czf "archive/partner-$DAY.tgz" "incoming/$DAY"
        echo "fetched $(find "incoming/$DAY" -type f | wc -l) files"
        ''', a=a, b=b), [(a, "sftp URL password"), (b, "ftp URL password")])

    a, b = url_pw(), token(32)
    add(F, "toml", "config/production.toml", T('''
        [server]
        bind = "0.0.0.0:8443"
        workers = 8
        request_timeout_secs = 30

        [database]
        url = "postgresql://ledger:@@a@@@ledger-db.internal:5432/ledger"
        max_connections = 32
        statement_cache = 256

        [cache]
        url = "redis://default:@@b@@@redis-ledger.internal:6379/2"
        ttl_secs = 600

        [telemetry]
        otlp_endpoint = "http://otel-collector:4317"
        sample_ratio = 0.05
        ''', a=a, b=b), [(a, "postgresql URL password"), (b, "redis URL password")])

    p = url_pw()
    add(F, "kubernetes", "k8s/orders/configmap.yaml", T('''
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: orders-config
          namespace: orders
        data:
          LOG_LEVEL: info
          HTTP_PORT: "8080"
          AMQP_URI: amqp://orders:@@p@@@rabbitmq.messaging.svc.cluster.local:5672/orders
          PREFETCH: "50"
          RETRY_BACKOFF: 2s,10s,60s
          FEATURE_PARTIAL_REFUNDS: "true"
        ''', p=p), [(p, "amqp URL password in ConfigMap")])

    p = url_pw()
    add(F, "terraform", "infra/azure/app_service.tf", T('''
        resource "azurerm_linux_web_app" "api" {
          name                = "acme-api-prod"
          resource_group_name = azurerm_resource_group.prod.name
          location            = azurerm_resource_group.prod.location
          service_plan_id     = azurerm_service_plan.prod.id
          https_only          = true

          site_config {
            always_on = true
            application_stack {
              dotnet_version = "8.0"
            }
          }

          connection_string {
            name  = "Default"
            type  = "SQLAzure"
            value = "Server=tcp:acme-sql-prod.database.windows.net,1433;Initial Catalog=api;User ID=api_user;Password=@@p@@;Encrypt=True;"
          }
        }
        ''', p=p), [(p, "SQL connection string password in Terraform")])

    p = url_pw()
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Churn analysis\n", "Monthly cohort churn from the warehouse."]},
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": ["import pandas as pd\n", "from sqlalchemy import create_engine\n", "\n",
                        f"engine = create_engine(\"postgresql://analyst:{p}@warehouse.acme.internal:5432/dw\")\n",
                        "df = pd.read_sql(\"select * from marts.cohorts\", engine)\n", "df.head()"]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
             "source": ["churn = df.groupby(\"cohort_month\")[\"churned\"].mean()\n", "churn.plot(kind=\"bar\")"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python", "version": "3.11.6"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    add(F, "ipynb", "notebooks/churn.ipynb", json.dumps(nb, indent=1) + "\n", [(p, "postgresql URL password in notebook source")])

    p = url_pw()
    add(F, "ini", "deploy/pip.conf", T('''
        [global]
        index-url = https://ci-pull:@@p@@@pypi.acme.internal/simple
        extra-index-url = https://pypi.org/simple
        timeout = 60
        retries = 3
        disable-pip-version-check = true

        [install]
        prefer-binary = true
        no-warn-script-location = true
        ''', p=p), [(p, "https URL password in pip index-url")])

    p = human_pw()
    add(F, "xml", "src/main/resources/hibernate.cfg.xml", T('''
        <?xml version="1.0" encoding="utf-8"?>
        <!DOCTYPE hibernate-configuration PUBLIC
            "-//Hibernate/Hibernate Configuration DTD 3.0//EN"
            "http://www.hibernate.org/dtd/hibernate-configuration-3.0.dtd">
        <hibernate-configuration>
          <session-factory>
            <property name="hibernate.connection.driver_class">org.postgresql.Driver</property>
            <property name="hibernate.connection.url">jdbc:postgresql://pg-hr.internal:5432/hr?user=hr_app&amp;password=@@p@@&amp;ssl=true</property>
            <property name="hibernate.dialect">org.hibernate.dialect.PostgreSQLDialect</property>
            <property name="hibernate.hbm2ddl.auto">validate</property>
            <property name="hibernate.show_sql">false</property>
            <mapping class="com.acme.hr.Employee"/>
            <mapping class="com.acme.hr.Department"/>
          </session-factory>
        </hibernate-configuration>
        ''', p=p), [(p, "JDBC URL password in Hibernate XML")])

    # ---- hard negatives -------------------------------------------------
    add(F, "dotenv", "backend/.env.example", T('''
        # Copy to .env and adjust. These are local-development defaults.
        NODE_ENV=development
        PORT=3000
        DATABASE_URL=postgres://user:password@localhost:5432/app_dev
        REDIS_URL=redis://localhost:6379/0
        AMQP_URL=amqp://guest:guest@localhost:5672/
        SMTP_URL=smtp://localhost:1025
        SESSION_TTL=86400
        CORS_ORIGINS=http://localhost:5173
        '''))

    add(F, "python", "worker/settings.py", T('''
        import os

        # The password is supplied by libpq from PGPASSFILE, never in the URL.
        DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://worker@db:5432/worker")
        BROKER_URL = "amqp://{user}:{pw}@{host}:5672/jobs".format(
            user=os.environ["RABBIT_USER"],
            pw=os.environ["RABBIT_PASS"],
            host=os.environ.get("RABBIT_HOST", "rabbitmq"),
        )
        RESULT_BACKEND = "redis://redis:6379/1"
        UPSTREAM_REPO = "git@github.com:acme/worker-plugins.git"
        MIRROR = "https://mirror.acme.internal/pypi/simple"
        SENTRY_ENVIRONMENT = os.environ.get("ENV", "dev")
        CONCURRENCY = int(os.environ.get("CONCURRENCY", "4"))
        '''))

    add(F, "javascript", "test/helpers/db.js", T('''
        const { MongoMemoryServer } = require("mongodb-memory-server");
        const mongoose = require("mongoose");

        let server;

        async function start() {
          server = await MongoMemoryServer.create();
          await mongoose.connect(server.getUri());
        }

        async function stop() {
          await mongoose.disconnect();
          if (server) await server.stop();
        }

        const LOCAL_FALLBACK = "mongodb://localhost:27017/test";
        const url = `mongodb://${process.env.MONGO_USER}:${process.env.MONGO_PASS}@${process.env.MONGO_HOST}/app`;

        module.exports = { start, stop, LOCAL_FALLBACK, url };
        '''))

    add(F, "markdown", "docs/connection-strings.md", T('''
        # Connection string formats

        | Driver | Template |
        |--------|----------|
        | JDBC MySQL | `jdbc:mysql://<host>:3306/<db>?user=<user>&password=<password>` |
        | JDBC Postgres | `jdbc:postgresql://<host>:5432/<db>?user=<user>&password=<password>` |
        | ADO.NET | `Server=<server>;Database=<db>;User Id=<user>;Password=<password>;` |
        | ODBC | `Driver={ODBC Driver 18 for SQL Server};Server=<server>;Uid=<user>;Pwd=<password>;` |
        | Go MySQL | `user:password@tcp(localhost:3306)/dbname?parseTime=true` |
        | MongoDB | `mongodb+srv://<username>:<password>@<cluster>.mongodb.net/` |

        Never put real values in the repository. Use the `DATABASE_URL` secret of
        the environment instead.
        '''))

    add(F, "xml", "Intranet/App.config", T('''
        <?xml version="1.0" encoding="utf-8" ?>
        <configuration>
          <connectionStrings>
            <add name="Intranet"
                 connectionString="Data Source=sql02.corp.acme.example;Initial Catalog=Intranet;Integrated Security=SSPI;"
                 providerName="System.Data.SqlClient" />
            <add name="Audit"
                 connectionString="Server=sql03.corp.acme.example;Database=Audit;Trusted_Connection=True;Encrypt=True;"
                 providerName="System.Data.SqlClient" />
          </connectionStrings>
          <startup>
            <supportedRuntime version="v4.0" sku=".NETFramework,Version=v4.8" />
          </startup>
        </configuration>
        '''))

    add(F, "go", "internal/store/store_test.go", T('''
        package store

        import (
        	"os"
        	"testing"
        )

        func testDSN() string {
        	if v := os.Getenv("TEST_MYSQL_DSN"); v != "" {
        		return v
        	}
        	return "root@tcp(127.0.0.1:3306)/store_test?parseTime=true"
        }

        func TestOpen(t *testing.T) {
        	s, err := Open(testDSN())
        	if err != nil {
        		t.Skipf("mysql not available: %v", err)
        	}
        	defer s.Close()
        	if err := s.Ping(); err != nil {
        		t.Fatal(err)
        	}
        }
        '''))


# ==========================================================================
# family: basic-auth
# ==========================================================================
def fam_basic_auth():
    F = "basic-auth"

    h = basic("jenkins-admin", human_pw())
    add(F, "shell", "scripts/trigger-job.sh", T('''
        #!/usr/bin/env bash
        # Trigger a parameterised Jenkins job from the release tooling.
        set -euo pipefail
        JOB=${1:?job name}
        BRANCH=${2:-main}

        crumb=$(curl -fsS -H "Authorization: Basic @@h@@" \\
          "https://jenkins.acme.internal/crumbIssuer/api/json" | jq -r .crumb)

        curl -fsS -X POST \\
          -H "Authorization: Basic @@h@@" \\
          -H "Jenkins-Crumb: $crumb" \\
          "https://jenkins.acme.internal/job/$JOB/buildWithParameters?BRANCH=$BRANCH"

        echo "triggered $JOB on $BRANCH"
        ''', h=h), [(h, "HTTP Basic credentials (base64 user:password)")])

    h = basic("api-tester", url_pw())
    add(F, "http", "http/orders.http", T('''
        ### List orders
        GET https://api.staging.acme.example/v2/orders?limit=20
        Accept: application/json
        Authorization: Basic @@h@@

        ### Create order
        POST https://api.staging.acme.example/v2/orders
        Content-Type: application/json
        Authorization: Basic @@h@@

        {
          "customerId": "c_1042",
          "items": [{"sku": "TENT-2P", "qty": 1}],
          "currency": "EUR"
        }
        ''', h=h), [(h, "HTTP Basic credentials in .http file")])

    h = basic("svc-sync", token(20))
    add(F, "python", "sync/confluence.py", T('''
        import requests

        BASE = "https://wiki.acme.example/rest/api"
        HEADERS = {
            "Authorization": "Basic @@h@@",
            "Accept": "application/json",
        }


        def page_ids(space: str) -> list[str]:
            ids, start = [], 0
            while True:
                r = requests.get(
                    f"{BASE}/content",
                    params={"spaceKey": space, "start": start, "limit": 50},
                    headers=HEADERS,
                    timeout=30,
                )
                r.raise_for_status()
                data = r.json()
                ids += [p["id"] for p in data["results"]]
                if data["size"] < 50:
                    return ids
                start += 50
        ''', h=h), [(h, "HTTP Basic header in requests code")])

    h = basic("prober", url_pw())
    add(F, "kubernetes", "k8s/legacy-admin/deployment.yaml", T('''
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: legacy-admin
          namespace: tools
        spec:
          replicas: 1
          selector:
            matchLabels:
              app: legacy-admin
          template:
            metadata:
              labels:
                app: legacy-admin
            spec:
              containers:
                - name: admin
                  image: registry.acme.example/legacy-admin:7.1
                  ports:
                    - containerPort: 8080
                  livenessProbe:
                    httpGet:
                      path: /admin/health
                      port: 8080
                      httpHeaders:
                        - name: Authorization
                          value: Basic @@h@@
                    periodSeconds: 20
        ''', h=h), [(h, "HTTP Basic header in liveness probe")])

    h = basic("es-writer", human_pw())
    add(F, "javascript", "src/search/indexer.js", T('''
        const fetch = require("node-fetch");

        const ES = "https://search.acme.internal:9200";

        async function bulkIndex(docs) {
          const body =
            docs.map((d) => JSON.stringify({ index: { _index: "products", _id: d.id } }) + "\\n" + JSON.stringify(d)).join("\\n") + "\\n";
          const res = await fetch(`${ES}/_bulk`, {
            method: "POST",
            headers: {
              "Content-Type": "application/x-ndjson",
              Authorization: "Basic @@h@@",
            },
            body,
          });
          if (!res.ok) throw new Error(`bulk failed: ${res.status}`);
          const json = await res.json();
          return json.items.length;
        }

        module.exports = { bulkIndex };
        ''', h=h), [(h, "HTTP Basic header in fetch call")])

    h = basic("integration", url_pw())
    add(F, "java", "src/main/java/com/acme/erp/ErpClient.java", T('''
        package com.acme.erp;

        import java.io.InputStream;
        import java.net.HttpURLConnection;
        import java.net.URL;

        public class ErpClient {
            private static final String BASE = "https://erp.acme.internal/sap/opu/odata/sap/";

            public InputStream fetch(String entity) throws Exception {
                URL url = new URL(BASE + entity + "?$format=json");
                HttpURLConnection conn = (HttpURLConnection) url.openConnection();
                conn.setRequestMethod("GET");
                conn.setRequestProperty("Authorization", "Basic @@h@@");
                conn.setConnectTimeout(10_000);
                conn.setReadTimeout(60_000);
                if (conn.getResponseCode() != 200) {
                    throw new IllegalStateException("ERP returned " + conn.getResponseCode());
                }
                return conn.getInputStream();
            }
        }
        ''', h=h), [(h, "HTTP Basic header in Java client")])

    h = basic("grafana", token(24))
    add(F, "nginx", "nginx/conf.d/grafana-proxy.conf", T('''
        upstream grafana {
            server 10.20.0.15:3000;
            keepalive 16;
        }

        server {
            listen 443 ssl;
            server_name dashboards.acme.example;

            ssl_certificate     /etc/nginx/ssl/dashboards.crt;
            ssl_certificate_key /etc/nginx/ssl/dashboards.key;

            location / {
                proxy_pass http://grafana;
                proxy_set_header Host $host;
                proxy_set_header Authorization "Basic @@h@@";
                proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            }
        }
        ''', h=h), [(h, "HTTP Basic header injected by nginx")])

    h = basic("metrics_ro", url_pw())
    add(F, "json", "grafana/provisioning/datasources/legacy.json", T('''
        {
          "apiVersion": 1,
          "datasources": [
            {
              "name": "Legacy metrics",
              "type": "prometheus",
              "access": "proxy",
              "url": "https://metrics-legacy.acme.internal",
              "isDefault": false,
              "jsonData": {
                "httpHeaderName1": "Authorization",
                "timeInterval": "30s"
              },
              "secureJsonData": {
                "httpHeaderValue1": "Basic @@h@@"
              }
            }
          ]
        }
        ''', h=h), [(h, "HTTP Basic header value in Grafana datasource")])

    h = basic("payments-api", token(32))
    add(F, "csharp", "src/Payments/GatewayClient.cs", T('''
        using System.Net.Http;
        using System.Net.Http.Headers;
        using System.Threading.Tasks;

        namespace Acme.Payments
        {
            public sealed class GatewayClient
            {
                private readonly HttpClient _http;

                public GatewayClient(HttpClient http)
                {
                    _http = http;
                    _http.DefaultRequestHeaders.Authorization =
                        new AuthenticationHeaderValue("Basic", "@@h@@");
                }

                public async Task<string> StatusAsync(string paymentId)
                {
                    var res = await _http.GetAsync($"payments/{paymentId}");
                    res.EnsureSuccessStatusCode();
                    return await res.Content.ReadAsStringAsync();
                }
            }
        }
        ''', h=h), [(h, "HTTP Basic credentials in AuthenticationHeaderValue")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "clients/base.py", T('''
        import base64
        import os

        import requests


        def basic_header(user: str, password: str) -> dict:
            raw = f"{user}:{password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


        def session() -> requests.Session:
            s = requests.Session()
            s.headers.update(basic_header(os.environ["API_USER"], os.environ["API_PASSWORD"]))
            s.headers["Accept"] = "application/json"
            return s


        if __name__ == "__main__":
            print(session().get("https://api.acme.example/v1/ping", timeout=5).status_code)
        '''))

    add(F, "markdown", "docs/api/authentication.md", T('''
        # Authentication

        The API accepts HTTP Basic authentication. Send your username and
        password joined by a colon and base64-encoded:

        ```http
        GET /v1/accounts HTTP/1.1
        Host: api.example.com
        Authorization: Basic <credentials>
        ```

        For example, for the user `username` with password `password` the
        header is:

        ```
        Authorization: Basic dXNlcm5hbWU6cGFzc3dvcmQ=
        ```

        Tokens are preferred for automation; see `tokens.md`.
        '''))

    add(F, "yaml", "monitoring/blackbox.yml", T('''
        modules:
          http_2xx:
            prober: http
            timeout: 5s
            http:
              preferred_ip_protocol: ip4
          http_admin:
            prober: http
            http:
              headers:
                Authorization: "Basic ${ADMIN_BASIC_AUTH}"
              valid_status_codes: [200, 204]
          http_public:
            prober: http
            http:
              basic_auth:
                username: prober
                password_file: /etc/blackbox/prober.pw
        '''))

    add(F, "javascript", "test/auth.test.js", T('''
        const request = require("supertest");
        const app = require("../src/app");

        // Fixture users exist only in the in-memory test store.
        const GOOD = "Basic " + Buffer.from("test:test").toString("base64");
        const BAD = "Basic Zm9vOmJhcg==";

        describe("basic auth", () => {
          it("accepts the fixture user", async () => {
            await request(app).get("/private").set("Authorization", GOOD).expect(200);
          });

          it("rejects unknown users", async () => {
            await request(app).get("/private").set("Authorization", BAD).expect(401);
          });

          it("rejects a missing header", async () => {
            await request(app).get("/private").expect(401);
          });
        });
        '''))


# ==========================================================================
# family: webhook-bot
# ==========================================================================
def fam_webhook_bot():
    F = "webhook-bot"

    u = discord_webhook()
    add(F, "python", "monitoring/notify.py", T('''
        """Post build results to the team channel."""
        import json
        import sys
        import urllib.request

        WEBHOOK_URL = "@@u@@"

        COLORS = {"success": 0x2ECC71, "failure": 0xE74C3C}


        def post(status: str, job: str, url: str) -> None:
            payload = {
                "username": "ci",
                "embeds": [{
                    "title": f"{job}: {status}",
                    "url": url,
                    "color": COLORS.get(status, 0x95A5A6),
                }],
            }
            req = urllib.request.Request(
                WEBHOOK_URL, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
            )
            urllib.request.urlopen(req, timeout=10)


        if __name__ == "__main__":
            post(*sys.argv[1:4])
        ''', u=u), [(u, "Discord webhook URL")])

    u = slack_webhook()
    add(F, "shell", "scripts/notify-deploy.sh", T('''
        #!/usr/bin/env bash
        set -euo pipefail
        SERVICE=${1:?service}
        VERSION=${2:?version}
        ENVIRONMENT=${3:-production}

        text="Deployed *${SERVICE}* ${VERSION} to ${ENVIRONMENT} by ${USER}"

        curl -fsS -X POST -H 'Content-type: application/json' \\
          --data "{\\"text\\": \\"${text}\\"}" \\
          @@u@@

        echo "notified"
        ''', u=u), [(u, "Slack incoming webhook URL")])

    u = slack_webhook()
    add(F, "github-actions", ".github/workflows/nightly.yml", T('''
        name: nightly
        on:
          schedule:
            - cron: "0 2 * * *"
        jobs:
          e2e:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: npm ci && npx playwright install --with-deps
              - run: npx playwright test
              - name: Report failure
                if: failure()
                uses: slackapi/slack-github-action@v1.26.0
                with:
                  payload: |
                    {"text": "Nightly e2e failed: ${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"}
                env:
                  SLACK_WEBHOOK_URL: @@u@@
                  SLACK_WEBHOOK_TYPE: INCOMING_WEBHOOK
        ''', u=u), [(u, "Slack webhook URL hard-coded in workflow")])

    t = discord_bot_token()
    add(F, "javascript", "bot/index.js", T('''
        const { Client, GatewayIntentBits, Events } = require("discord.js");

        const client = new Client({
          intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
        });

        client.once(Events.ClientReady, (c) => {
          console.log(`logged in as ${c.user.tag}`);
        });

        client.on(Events.MessageCreate, async (msg) => {
          if (msg.author.bot) return;
          if (msg.content === "!ping") {
            await msg.reply(`pong (${client.ws.ping} ms)`);
          }
        });

        client.login("@@t@@");
        ''', t=t), [(t, "Discord bot token")])

    t = telegram_token()
    add(F, "python", "alerts/tg_bot.py", T('''
        import logging

        from telegram import Update
        from telegram.ext import Application, CommandHandler, ContextTypes

        logging.basicConfig(level=logging.INFO)


        async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text("Alert bot online. /status for the last check.")


        async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text("all green")


        def main() -> None:
            app = Application.builder().token("@@t@@").build()
            app.add_handler(CommandHandler("start", start))
            app.add_handler(CommandHandler("status", status))
            app.run_polling()


        if __name__ == "__main__":
            main()
        ''', t=t), [(t, "Telegram bot token")])

    t = telegram_token()
    add(F, "json", "config/notifier.json", T('''
        {
          "service": "uptime-notifier",
          "checkIntervalSeconds": 60,
          "targets": [
            {"name": "api", "url": "https://api.acme.example/health"},
            {"name": "web", "url": "https://www.acme.example/"}
          ],
          "channel": {
            "kind": "chat",
            "token": "@@t@@",
            "chat": -1001876543210,
            "silentBetween": ["23:00", "07:00"]
          },
          "retries": 3
        }
        ''', t=t), [(t, "Telegram bot token without service name")])

    t = telegram_token()
    add(F, "go", "internal/notify/telegram.go", T('''
        package notify

        import (
        	"net/http"
        	"net/url"
        	"strconv"
        )

        const sendURL = "https://api.telegram.org/bot@@t@@/sendMessage"

        type Notifier struct {
        	ChatID int64
        	Client *http.Client
        }

        func (n *Notifier) Send(text string) error {
        	form := url.Values{}
        	form.Set("chat_id", strconv.FormatInt(n.ChatID, 10))
        	form.Set("text", text)
        	form.Set("parse_mode", "Markdown")
        	resp, err := n.Client.PostForm(sendURL, form)
        	if err != nil {
        		return err
        	}
        	return resp.Body.Close()
        }
        ''', t=t), [(t, "Telegram bot token in API URL")])

    u = discord_webhook("discordapp.com")
    add(F, "toml", "alerting.toml", T('''
        # which events fan out where
        [general]
        min_severity = "warning"
        dedupe_window = "10m"

        [[route]]
        match = "backup.*"
        url = "@@u@@"
        mention = "<@&987654321098765432>"

        [[route]]
        match = "disk.*"
        email = "ops@acme.example"

        [[route]]
        match = "*"
        log_only = true
        ''', u=u), [(u, "Discord webhook URL (legacy discordapp.com domain)")])

    u = slack_webhook()
    add(F, "ini", "etc/backup-agent.cfg", T('''
        [agent]
        name = backup-agent-03
        spool = /var/spool/backup
        parallel = 4

        [targets]
        paths = /etc,/srv/data,/home
        exclude = *.tmp,*.swp,node_modules

        [report]
        hook = @@u@@
        on = failure,warning
        ''', u=u), [(u, "Slack webhook URL without service name")])

    t = discord_bot_token()
    add(F, "rust", "src/main.rs", T('''
        use serenity::async_trait;
        use serenity::model::channel::Message;
        use serenity::prelude::*;

        const TOKEN: &str = "@@t@@";

        struct Handler;

        #[async_trait]
        impl EventHandler for Handler {
            async fn message(&self, ctx: Context, msg: Message) {
                if msg.content == "!uptime" {
                    let _ = msg.channel_id.say(&ctx.http, "up").await;
                }
            }
        }

        #[tokio::main]
        async fn main() {
            let intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT;
            let mut client = Client::builder(TOKEN, intents)
                .event_handler(Handler)
                .await
                .expect("client");
            client.start().await.expect("start");
        }
        ''', t=t), [(t, "Discord bot token (no service name on the line)")])

    u = discord_webhook()
    add(F, "markdown", "docs/incidents/2024-04-12-backup-alerts.md", T('''
        # 2024-04-12: backup alerts not delivered

        **Impact:** three failed backups went unnoticed for two days.

        ## Timeline

        - 04-10 02:00 first failed backup; alert POST returned 404
        - 04-12 09:30 noticed during the weekly check

        ## Root cause

        The alert channel was re-created and the old hook URL was deleted.
        The new one is:

            @@u@@

        ## Actions

        - [x] update the hook in the alerting config
        - [ ] add a weekly synthetic alert
        ''', u=u), [(u, "Discord webhook URL pasted in a post-mortem")])

    t = telegram_token()
    add(F, "csharp", "src/Alerts/Program.cs", T('''
        using System;
        using System.Threading.Tasks;
        using Telegram.Bot;

        namespace Acme.Alerts
        {
            public static class Program
            {
                private const long OpsChat = -1001122334455;

                public static async Task Main(string[] args)
                {
                    var bot = new TelegramBotClient("@@t@@");
                    var me = await bot.GetMeAsync();
                    Console.WriteLine($"running as @{me.Username}");

                    var text = args.Length > 0 ? string.Join(' ', args) : "test alert";
                    await bot.SendTextMessageAsync(OpsChat, text);
                }
            }
        }
        ''', t=t), [(t, "Telegram bot token")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "monitoring/hooks.py", T('''
        import os
        import re

        DISCORD_HOOK_RE = re.compile(r"^https://discord(?:app)?\\.com/api/webhooks/\\d{17,20}/[\\w-]{60,80}$")
        SLACK_HOOK_RE = re.compile(r"^https://hooks\\.slack\\.com/services/T\\w+/B\\w+/\\w+$")


        def hook_url() -> str:
            url = os.environ["ALERT_WEBHOOK_URL"]
            if not (DISCORD_HOOK_RE.match(url) or SLACK_HOOK_RE.match(url)):
                raise ValueError("ALERT_WEBHOOK_URL is not a Discord or Slack webhook")
            return url


        def telegram_token() -> str:
            return os.environ["TELEGRAM_BOT_TOKEN"]
        '''))

    add(F, "markdown", "docs/alerting.md", T('''
        # Alerting hooks

        Create an incoming webhook in Slack (Apps -> Incoming Webhooks). The
        URL looks like

            https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX

        For Discord: channel settings -> Integrations -> Webhooks -> *Copy URL*
        (`https://discord.com/api/webhooks/<id>/<token>`).

        For Telegram talk to @BotFather; the token has the form
        `123456789:<35 characters>`.

        Store the value in the `ALERT_WEBHOOK_URL` secret; do not commit it.
        '''))

    add(F, "yaml", "community/links.yml", T('''
        # public community links rendered on the website footer
        discord:
          invite: https://discord.gg/acme-dev
          announcements: https://discord.com/channels/912345678901234567/912345678901234570
          guild_id: "912345678901234567"
        telegram:
          channel: https://t.me/acme_updates
          bot: "@acme_status_bot"
        slack:
          workspace: https://acme-community.slack.com
          join: https://join.slack.com/t/acme-community/shared_invite/zt-2abc-def
        matrix: "#acme:matrix.org"
        '''))

    add(F, "json", "tests/fixtures/telegram_update.json", T('''
        {
          "update_id": 718293645,
          "message": {
            "message_id": 4821,
            "from": {"id": 5123456789, "is_bot": false, "first_name": "Mara", "language_code": "de"},
            "chat": {"id": -1001234567890, "title": "ops-alerts", "type": "supergroup"},
            "date": 1714557600,
            "photo": [
              {
                "file_id": "AgACAgIAAxkBAAIS@@f@@",
                "file_unique_id": "AQAD@@u@@",
                "file_size": 1843,
                "width": 90,
                "height": 90
              }
            ],
            "caption": "disk usage graph"
          }
        }
        ''', f=mixed(B64URL, 60), u=mixed(B64URL, 12)))


# ==========================================================================
# family: generic-assignment
# ==========================================================================
def fam_generic():
    F = "generic-assignment"

    sk, pw = mixed(ALNUM + "!#%^&*(-_=+)", 50), human_pw()
    add(F, "python", "mysite/settings/production.py", T('''
        from .base import *  # noqa

        DEBUG = False
        ALLOWED_HOSTS = ["www.acme.example", "acme.example"]

        SECRET_KEY = '@@sk@@'

        DATABASES["default"]["HOST"] = "pg.prod.acme.internal"
        DATABASES["default"]["CONN_MAX_AGE"] = 60

        EMAIL_HOST = "smtp.office365.com"
        EMAIL_PORT = 587
        EMAIL_USE_TLS = True
        EMAIL_HOST_USER = "noreply@acme.example"
        EMAIL_HOST_PASSWORD = "@@pw@@"

        SESSION_COOKIE_SECURE = True
        CSRF_COOKIE_SECURE = True
        SECURE_HSTS_SECONDS = 31536000
        ''', sk=sk, pw=pw), [(sk, "Django SECRET_KEY"), (pw, "SMTP password")])

    dbpw, apikey = human_pw(), token(40)
    add(F, "kubernetes", "k8s/payments/secret.yaml", T('''
        apiVersion: v1
        kind: Secret
        metadata:
          name: payments-credentials
          namespace: payments
          labels:
            app: payments
        type: Opaque
        data:
          DB_USER: @@u@@
          DB_PASSWORD: @@p@@
          PSP_API_KEY: @@k@@
          PSP_ENDPOINT: @@e@@
        ''', u=b64s("payments"), p=b64s(dbpw), k=b64s(apikey), e=b64s("https://psp.example.net/v3")),
        [(b64s(dbpw), "base64 DB password in Secret data"), (b64s(apikey), "base64 API key in Secret data")])

    a, b = url_pw(24), token(48)
    add(F, "kubernetes", "k8s/search/secret.yaml", T('''
        apiVersion: v1
        kind: Secret
        metadata:
          name: search-secrets
          namespace: search
        type: Opaque
        stringData:
          elastic-username: search-app
          elastic-password: "@@a@@"
          admin-api-token: @@b@@
          index-prefix: prod-
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: search
          namespace: search
        spec:
          selector:
            app: search
          ports:
            - port: 80
              targetPort: 8080
        ''', a=a, b=b), [(a, "password in Secret stringData"), (b, "API token in Secret stringData")])

    a, b = human_pw(), b64(rand_bytes(48))
    add(F, "yaml", "src/main/resources/application.yml", T('''
        server:
          port: 8080

        spring:
          application:
            name: customer-service
          datasource:
            url: jdbc:postgresql://pg-customers.internal:5432/customers
            username: customer_svc
            password: @@a@@
          jpa:
            open-in-view: false

        security:
          jwt:
            secret: @@b@@
            expiration: 3600

        management:
          endpoints:
            web:
              exposure:
                include: health,prometheus
        ''', a=a, b=b), [(a, "datasource password"), (b, "JWT signing secret")])

    a, b = url_pw(), human_pw()
    add(F, "properties", "conf/app.properties", T('''
        # Order service configuration
        app.name=order-service
        app.region=eu-west

        db.url=jdbc:oracle:thin:@//ora-prod.internal:1521/ORDERS
        db.user=ORDER_APP
        db.password=@@a@@
        db.pool.max=30

        mail.smtp.host=smtp.acme.internal
        mail.smtp.port=587
        mail.smtp.user=orders@acme.example
        mail.smtp.password=@@b@@
        mail.smtp.starttls.enable=true
        ''', a=a, b=b), [(a, "db.password"), (b, "mail.smtp.password")])

    p = token(32)
    add(F, "xml", "ci/maven/settings.xml", T('''
        <?xml version="1.0" encoding="UTF-8"?>
        <settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
          <servers>
            <server>
              <id>acme-releases</id>
              <username>deployer</username>
              <password>@@p@@</password>
            </server>
          </servers>
          <mirrors>
            <mirror>
              <id>acme-central</id>
              <mirrorOf>central</mirrorOf>
              <url>https://nexus.acme.internal/repository/maven-central/</url>
            </mirror>
          </mirrors>
        </settings>
        ''', p=p), [(p, "Maven server password")])

    a, b = token(40), hexs(64)
    add(F, "xml", "Acme.Api/appSettings.config", T('''
        <?xml version="1.0" encoding="utf-8"?>
        <appSettings>
          <add key="Environment" value="Production" />
          <add key="PartnerApiBaseUrl" value="https://partner.example.com/api/" />
          <add key="PartnerApiKey" value="@@a@@" />
          <add key="WebhookSigningSecret" value="@@b@@" />
          <add key="RetryCount" value="3" />
          <add key="CacheMinutes" value="15" />
          <add key="EnableSwagger" value="false" />
        </appSettings>
        ''', a=a, b=b), [(a, "partner API key"), (b, "webhook signing secret")])

    cs = azure_client_secret()
    add(F, "json", "src/Portal/appsettings.Production.json", T('''
        {
          "Logging": {
            "LogLevel": {
              "Default": "Information",
              "Microsoft.AspNetCore": "Warning"
            }
          },
          "AzureAd": {
            "Instance": "https://login.microsoftonline.com/",
            "TenantId": "@@t@@",
            "ClientId": "@@c@@",
            "ClientSecret": "@@cs@@",
            "CallbackPath": "/signin-oidc"
          },
          "AllowedHosts": "portal.acme.example"
        }
        ''', t=uuid4(), c=uuid4(), cs=cs), [(cs, "Azure AD client secret")])

    a, b = human_pw(), hexs(32)
    add(F, "terraform", "envs/prod/terraform.tfvars", T('''
        environment      = "prod"
        region           = "eu-west-1"
        instance_class   = "db.r6g.large"
        allocated_storage = 200

        db_username = "app_admin"
        db_password = "@@a@@"

        datadog_api_key = "@@b@@"

        allowed_cidrs = [
          "10.0.0.0/8",
          "192.168.100.0/24",
        ]

        tags = {
          owner = "platform"
          cost  = "shared"
        }
        ''', a=a, b=b), [(a, "Terraform db_password"), (b, "Datadog API key (hex)")])

    k = hexs(128)
    add(F, "ruby", "config/initializers/devise.rb", T('''
        # frozen_string_literal: true

        Devise.setup do |config|
          config.secret_key = '@@k@@'
          config.mailer_sender = 'accounts@acme.example'

          require 'devise/orm/active_record'

          config.case_insensitive_keys = [:email]
          config.strip_whitespace_keys = [:email]
          config.skip_session_storage = [:http_auth]
          config.stretches = Rails.env.test? ? 1 : 12
          config.reconfirmable = true
          config.expire_all_remember_me_on_sign_out = true
          config.password_length = 12..128
          config.reset_password_within = 6.hours
          config.sign_out_via = :delete
        end
        ''', k=k), [(k, "Devise secret_key")])

    dbp = human_pw()
    salts = {n: mixed(string.ascii_letters + string.digits + "!#%&()*+,-./:;<=>?[]^_`{|}~", 64)
             for n in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                       "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT")}
    salt_lines = "\n".join(f"define( '{n}', {' ' * (17 - len(n))}'{v}' );" for n, v in salts.items())
    add(F, "php", "wp-config.php", T('''
        <?php
        /** The name of the database for WordPress */
        define( 'DB_NAME', 'wp_blog' );
        define( 'DB_USER', 'wp_blog' );
        define( 'DB_PASSWORD', '@@dbp@@' );
        define( 'DB_HOST', 'mysql.internal' );
        define( 'DB_CHARSET', 'utf8mb4' );
        define( 'DB_COLLATE', '' );

        /**#@+
         * Authentication unique keys and salts.
         */
        @@salts@@
        /**#@-*/

        $table_prefix = 'wp_';

        define( 'WP_DEBUG', false );

        if ( ! defined( 'ABSPATH' ) ) {
        	define( 'ABSPATH', __DIR__ . '/' );
        }

        require_once ABSPATH . 'wp-settings.php';
        ''', dbp=dbp, salts=salt_lines),
        [(dbp, "WordPress DB_PASSWORD")] + [(v, f"WordPress {n}") for n, v in salts.items()])

    a = token(40)
    add(F, "rust", "src/oauth.rs", T('''
        use oauth2::basic::BasicClient;
        use oauth2::{AuthUrl, ClientId, ClientSecret, RedirectUrl, TokenUrl};

        pub fn client() -> BasicClient {
            let client_id = ClientId::new("acme-dashboard".to_string());
            let client_secret = ClientSecret::new("@@a@@".to_string());
            let auth_url = AuthUrl::new("https://sso.acme.example/oauth2/authorize".to_string()).unwrap();
            let token_url = TokenUrl::new("https://sso.acme.example/oauth2/token".to_string()).unwrap();

            BasicClient::new(client_id, Some(client_secret), auth_url, Some(token_url))
                .set_redirect_uri(
                    RedirectUrl::new("https://dash.acme.example/auth/callback".to_string()).unwrap(),
                )
        }

        pub const SCOPES: &[&str] = &["openid", "profile", "email"];
        ''', a=a), [(a, "OAuth client secret")])

    a = human_pw()
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["## Pull tickets from the helpdesk API"]},
            {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
             "source": ["import requests\n", "\n", "user = \"support-analytics\"\n",
                        f"password = \"{a}\"\n",
                        "r = requests.get(\"https://helpdesk.acme.example/api/v2/tickets.json\", auth=(user, password))\n",
                        "tickets = r.json()[\"tickets\"]\n", "len(tickets)"]},
            {"cell_type": "code", "execution_count": 4, "metadata": {}, "outputs": [],
             "source": ["import pandas as pd\n", "pd.DataFrame(tickets)[[\"id\", \"status\", \"priority\"]].head()"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                     "language_info": {"name": "python", "version": "3.10.12"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    add(F, "ipynb", "analysis/helpdesk.ipynb", json.dumps(nb, indent=1) + "\n", [(a, "password assignment in notebook source")])

    a = human_pw()
    add(F, "toml", "mailer/config.toml", T('''
        title = "mailer"

        [smtp]
        host = "smtp.fastmail.com"
        port = 465
        tls = true
        username = "alerts@acme.example"
        password = "@@a@@"

        [queue]
        path = "/var/lib/mailer/queue"
        max_retries = 5
        backoff_secs = [30, 120, 600]

        [templates]
        dir = "templates"
        default_locale = "en"
        ''', a=a), [(a, "SMTP password in TOML")])

    a, b = b64(rand_bytes(32)), token(64)
    add(F, "dotenv", "api/.env", T('''
        APP_NAME=acme-api
        APP_ENV=production
        APP_URL=https://api.acme.example

        JWT_SECRET=@@a@@
        JWT_TTL=900
        SESSION_SECRET=@@b@@

        LOG_CHANNEL=stderr
        CACHE_DRIVER=redis
        QUEUE_CONNECTION=redis
        ''', a=a, b=b), [(a, "JWT_SECRET"), (b, "SESSION_SECRET")])

    a = mixed(ALNUM, 32)
    add(F, "go", "internal/config/defaults.go", T('''
        package config

        import "time"

        // Defaults used when no config file is present.
        var Defaults = Config{
        	ListenAddr:     ":9090",
        	ReadTimeout:    10 * time.Second,
        	WriteTimeout:   30 * time.Second,
        	UpstreamURL:    "https://geo.partner.example/v1",
        	UpstreamAPIKey: "@@a@@",
        	CacheSize:      10000,
        }

        type Config struct {
        	ListenAddr     string
        	ReadTimeout    time.Duration
        	WriteTimeout   time.Duration
        	UpstreamURL    string
        	UpstreamAPIKey string
        	CacheSize      int
        }
        ''', a=a), [(a, "upstream API key in Go struct literal")])

    a, b = human_pw(), url_pw()
    add(F, "sql", "db/migrations/0042_reporting_roles.sql", T('''
        -- 0042: roles for the reporting stack
        BEGIN;

        CREATE ROLE reporting_ro LOGIN PASSWORD '@@a@@';
        GRANT CONNECT ON DATABASE app TO reporting_ro;
        GRANT USAGE ON SCHEMA public TO reporting_ro;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting_ro;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reporting_ro;

        CREATE ROLE etl_writer LOGIN;
        ALTER ROLE etl_writer WITH PASSWORD '@@b@@';
        GRANT INSERT, UPDATE ON staging.events TO etl_writer;

        COMMIT;
        ''', a=a, b=b), [(a, "SQL role password"), (b, "SQL ALTER ROLE password")])

    a = token(36)
    add(F, "csharp", "src/Integrations/CrmSettings.cs", T('''
        namespace Acme.Integrations
        {
            public static class CrmSettings
            {
                public const string BaseUrl = "https://acme.crm.example/api/v1/";
                public const string ClientId = "acme-backoffice";
                private const string ClientSecret = "@@a@@";
                public const int PageSize = 200;

                public static string TokenRequestBody() =>
                    $"grant_type=client_credentials&client_id={ClientId}&client_secret={ClientSecret}";
            }
        }
        ''', a=a), [(a, "OAuth client secret constant")])

    a = token(40)
    add(F, "shell", "scripts/env.sh", T('''
        # source me: shared environment for the ops scripts
        export OPS_ENV=prod
        export OPS_REGION=eu-west-1
        export OPS_LOG_DIR=/var/log/ops

        export PAGERDUTY_ROUTING_KEY=@@r@@
        export STATUSPAGE_API_TOKEN="@@a@@"

        export PATH="$HOME/ops/bin:$PATH"
        alias k=kubectl
        alias kp='kubectl --context prod'
        ''', r=hexs(32), a=a), [("PAGERDUTY_ROUTING_KEY", "PagerDuty routing key"), (a, "Statuspage API token")])

    a, b = human_pw(), human_pw()
    add(F, "yaml", "ansible/group_vars/dbservers.yml", T('''
        ---
        mysql_version: "8.0"
        mysql_port: 3306
        mysql_bind_address: 0.0.0.0
        mysql_root_password: "@@a@@"
        mysql_innodb_buffer_pool_size: 8G

        mysql_databases:
          - name: shop
            encoding: utf8mb4

        mysql_users:
          - name: shop
            host: "10.%"
            password: "@@b@@"
            priv: "shop.*:ALL"

        mysql_backup_dir: /srv/backup/mysql
        ''', a=a, b=b), [(a, "mysql_root_password"), (b, "MySQL user password")])

    a = human_pw()
    add(F, "ini", "config/settings.ini", T('''
        [app]
        name = inventory-sync
        debug = false
        workers = 4

        [database]
        host = 10.12.0.21
        port = 5432
        name = inventory
        user = inventory
        password = @@a@@

        [export]
        target_dir = /srv/exports
        format = parquet
        ''', a=a), [(a, "INI database password")])

    # ---- hard negatives -------------------------------------------------
    add(F, "python", "app/forms.py", T('''
        from django import forms
        from django.conf import settings

        TOKEN_EXPIRY_SECONDS = 3600
        CSRF_TOKEN_FIELD = "csrfmiddlewaretoken"
        SECRET_NAME = "prod/portal/db"  # name in AWS Secrets Manager
        api_key_header = "X-API-Key"


        class LoginForm(forms.Form):
            username = forms.CharField(max_length=150)
            password = forms.CharField(widget=forms.PasswordInput, min_length=settings.PASSWORD_MIN_LENGTH)
            remember_me = forms.BooleanField(required=False)


        def next_token(tokenizer):
            token = tokenizer.next_token()
            while token and token.kind == "whitespace":
                token = tokenizer.next_token()
            return token
        '''))

    add(F, "kubernetes", "k8s/payments/external-secret.yaml", T('''
        apiVersion: external-secrets.io/v1beta1
        kind: ExternalSecret
        metadata:
          name: payments-credentials
          namespace: payments
        spec:
          refreshInterval: 1h
          secretStoreRef:
            name: aws-secrets-manager
            kind: ClusterSecretStore
          target:
            name: payments-credentials
            creationPolicy: Owner
          data:
            - secretKey: DB_PASSWORD
              remoteRef:
                key: prod/payments/db
                property: password
            - secretKey: PSP_API_KEY
              remoteRef:
                key: prod/payments/psp
                property: api_key
        '''))

    add(F, "json", "config/auth-policy.json", T('''
        {
          "password": "",
          "passwordPolicy": {
            "minLength": 12,
            "requireUppercase": true,
            "requireDigits": true,
            "requireSymbols": false,
            "maxAgeDays": 0
          },
          "token_type": "Bearer",
          "access_token_ttl": 900,
          "refresh_token_ttl": 1209600,
          "api_key_header": "X-API-Key",
          "secret_rotation_days": 90,
          "lockout": {"attempts": 5, "minutes": 15}
        }
        '''))

    add(F, "javascript", "src/components/LoginForm.jsx", T('''
        import { useState } from "react";

        export default function LoginForm({ onSubmit }) {
          const [email, setEmail] = useState("");
          const [password, setPassword] = useState("");

          return (
            <form onSubmit={(e) => { e.preventDefault(); onSubmit({ email, password }); }}>
              <label htmlFor="email">Email</label>
              <input id="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
              <label htmlFor="password">Password</label>
              <input
                id="password"
                type="password"
                autoComplete="current-password"
                placeholder="Password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
              <button type="submit">Sign in</button>
            </form>
          );
        }
        '''))

    add(F, "properties", "conf/security.properties", T('''
        # secrets are injected by the platform at start-up
        password.reset.url=https://accounts.acme.example/reset
        password.reset.ttl.minutes=30
        password.min.length=12
        jwt.secret=${JWT_SECRET}
        jwt.issuer=https://accounts.acme.example
        oauth.client.secret=${OAUTH_CLIENT_SECRET:}
        api.key.header.name=X-Api-Key
        token.cache.size=5000
        session.timeout=1800
        '''))

    add(F, "go", "internal/k8s/paths.go", T('''
        package k8s

        // Well-known locations inside a pod.
        const (
        	serviceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
        	serviceAccountCAPath    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        	namespacePath           = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
        )

        // Keys of the secret the operator reads.
        const (
        	passwordKey = "password"
        	usernameKey = "username"
        	tokenKey    = "token"
        )

        var secretKeys = []string{passwordKey, usernameKey, tokenKey}
        '''))


# ==========================================================================
# family: binary-key-material (path-level)
# ==========================================================================
def fam_binary():
    F = "binary-key-material"

    def p12():
        # PKCS#12 PFX: SEQUENCE { version 3, authSafe ContentInfo(data) ... }
        body = bytes.fromhex("020103308209") + rand_bytes(2) + bytes.fromhex("06092a864886f70d010701a0") + rand_bytes(rng.randint(180, 260))
        return bytes.fromhex("3082") + struct.pack(">H", len(body)) + body

    def jks():
        # JKS: magic FEEDFEED, version 2, one entry (tag 1 = private key entry), alias, then data
        alias = rng.choice([b"release", b"server", b"mykey", b"tomcat"])
        return (bytes.fromhex("feedfeed00000002") + struct.pack(">II", 1, 1)
                + struct.pack(">H", len(alias)) + alias + rand_bytes(8) + rand_bytes(rng.randint(160, 240)))

    add(F, "pkcs12", "certs/client-auth.p12", p12(), [(0, "PKCS#12 keystore file")])
    add(F, "jks", "src/main/resources/keystore.jks", jks(), [(0, "Java keystore file")])
    add(F, "pkcs12", "deploy/windows/codesign.pfx", p12(), [(0, "PFX code-signing keystore")])
    add(F, "jks", "android/app/release.keystore", jks(), [(0, "Android release keystore")])
    add(F, "jks", "config/saml/idp-signing.jks", jks(), [(0, "Java keystore file")])

    k = openssh_private("ed25519", "ci@build-07")
    add(F, "ssh-private-key", "ops/ssh/id_ed25519", k, [(1, "OpenSSH private key file (id_ed25519)")])

    k = rsa_pkcs1()
    add(F, "ssh-private-key", "keys/id_rsa", k, [(1, "RSA private key file (id_rsa)")])

    k = openssh_private("ecdsa", "backup@nas")
    add(F, "ssh-private-key", "ansible/files/backup/id_ecdsa", k, [(1, "OpenSSH ECDSA private key file (id_ecdsa)")])

    # ---- hard negatives -------------------------------------------------
    add(F, "ssh-public-key", "ops/ssh/id_ed25519.pub", ssh_ed25519_pub("ci@build-07") + "\n")

    add(F, "gitignore", ".gitignore", T('''
        # build output
        /build/
        /dist/
        *.log

        # key material never goes into git
        *.p12
        *.pfx
        *.jks
        *.keystore
        id_rsa
        id_ed25519
        *.key
        !docs/**/*.key.md

        # local env
        .env
        .env.*
        !.env.example
        '''))

    add(F, "ssh-config", "dotfiles/ssh/config", T('''
        Host bastion
          HostName bastion.acme.example
          User ops
          Port 2222
          IdentityFile ~/.ssh/id_ed25519
          IdentitiesOnly yes

        Host *.prod.acme.internal
          User deploy
          ProxyJump bastion
          IdentityFile ~/.ssh/id_rsa_deploy

        Host *
          ServerAliveInterval 30
          AddKeysToAgent yes
        '''))

    add(F, "der", "certs/root-ca.cer", cert_der())

    add(F, "properties", "android/keystore.properties.example", T('''
        # Copy to keystore.properties (git-ignored) and fill in locally.
        storeFile=release.keystore
        storePassword=
        keyAlias=release
        keyPassword=
        '''))


# ==========================================================================
# family: public-material (all negatives)
# ==========================================================================
def fam_public():
    F = "public-material"

    add(F, "pem", "certs/ca-bundle.crt", certificate() + certificate() + certificate())
    add(F, "pem", "deploy/tls/tls.crt", certificate())
    add(F, "pem", "keys/jwt-public.pem", public_key())
    add(F, "pem", "keys/license-verify.pem", rsa_public_key())

    add(F, "authorized_keys", "ansible/files/authorized_keys", "\n".join([
        "# managed by ansible - do not edit",
        ssh_ed25519_pub("alice@laptop"),
        ssh_rsa_pub("bob@workstation"),
        'from="10.0.0.0/8",no-agent-forwarding,no-port-forwarding ' + ssh_ed25519_pub("backup@nas"),
        'command="/usr/local/bin/git-shell-wrapper",restrict ' + ecdsa_pub("ci@runner"),
    ]) + "\n")

    add(F, "ssh-public-key", "deploy/keys/deploy_key.pub", ssh_ed25519_pub("deploy@acme-ci") + "\n")

    add(F, "pgp", "keys/release-signing.asc",
        "Comment: Acme release signing key <release@acme.example>\n" + pgp_public_block())

    add(F, "known_hosts", "ops/ssh/known_hosts", "\n".join([
        "github.com " + ssh_ed25519_pub("").strip(),
        "gitlab.com " + ecdsa_pub(),
        "[bastion.acme.example]:2222 " + ssh_ed25519_pub("").strip(),
        "|1|" + b64(rand_bytes(20)) + "|" + b64(rand_bytes(20)) + " " + ssh_ed25519_pub("").strip(),
    ]) + "\n")

    add(F, "javascript", "web/src/checkout/stripe.js", T('''
        import { loadStripe } from "@stripe/stripe-js";

        // Publishable keys are meant to be embedded in the browser bundle.
        const STRIPE_PUBLISHABLE_KEY = "pk_live_51@@k@@";

        let stripePromise;

        export function getStripe() {
          if (!stripePromise) {
            stripePromise = loadStripe(STRIPE_PUBLISHABLE_KEY, { locale: "auto" });
          }
          return stripePromise;
        }

        export async function redirectToCheckout(sessionId) {
          const stripe = await getStripe();
          const { error } = await stripe.redirectToCheckout({ sessionId });
          if (error) throw error;
        }
        ''', k=mixed(ALNUM, 97)))

    add(F, "html", "public/donate.html", T('''
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>Support the project</title>
          <script src="https://js.stripe.com/v3/"></script>
        </head>
        <body>
          <h1>Support the project</h1>
          <form id="payment-form">
            <div id="card-element"></div>
            <button type="submit">Donate</button>
          </form>
          <script>
            const stripe = Stripe("pk_test_51@@k@@");
            const elements = stripe.elements();
            elements.create("card").mount("#card-element");
          </script>
        </body>
        </html>
        ''', k=mixed(ALNUM, 97)))

    add(F, "typescript", "web/src/auth/google.ts", T('''
        import { GoogleAuth } from "./google-loader";

        // OAuth client ids are public identifiers; they appear in every login page.
        export const GOOGLE_CLIENT_ID =
          "@@n@@-@@c@@.apps.googleusercontent.com";

        export async function signInWithGoogle(): Promise<string> {
          const auth = await GoogleAuth.init({
            clientId: GOOGLE_CLIENT_ID,
            scopes: ["openid", "email", "profile"],
            uxMode: "popup",
          });
          const result = await auth.signIn();
          return result.credential;
        }
        ''', n=digits(12), c=pick(LOWER + DIGITS, 32)))

    add(F, "json", "src/Intranet/appsettings.json", T('''
        {
          "AzureAd": {
            "Instance": "https://login.microsoftonline.com/",
            "Domain": "acme.onmicrosoft.com",
            "TenantId": "@@t@@",
            "ClientId": "@@c@@",
            "CallbackPath": "/signin-oidc",
            "SignedOutCallbackPath": "/signout-callback-oidc"
          },
          "DownstreamApi": {
            "BaseUrl": "https://graph.microsoft.com/v1.0",
            "Scopes": "user.read"
          },
          "Logging": {
            "LogLevel": { "Default": "Information" }
          },
          "AllowedHosts": "*"
        }
        ''', t=uuid4(), c=uuid4()))

    add(F, "markdown", "docs/aws-setup.md", T('''
        # Configuring the AWS CLI

        Run `aws configure` and enter your own key pair. The AWS documentation
        uses these example values:

        ```
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

        Prefer `aws configure sso` for human users.
        '''))

    add(F, "ini", "templates/aws/credentials", T('''
        # Template - copy to ~/.aws/credentials and fill in.
        [default]
        aws_access_key_id = YOUR_KEY_HERE
        aws_secret_access_key = YOUR_SECRET_HERE
        region = eu-west-1

        [staging]
        aws_access_key_id = <staging-access-key-id>
        aws_secret_access_key = <staging-secret-access-key>
        '''))

    add(F, "dotenv", "services/billing/.env.example", T('''
        # Billing service configuration (example values only)
        PORT=4100
        LOG_LEVEL=debug
        DATABASE_URL=postgres://billing:billing@localhost:5432/billing_dev
        STRIPE_SECRET_KEY=sk_test_xxxxxxxxxxxxxxxxxxxxxxxx
        STRIPE_WEBHOOK_SECRET=whsec_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        STRIPE_PUBLISHABLE_KEY=pk_test_xxxxxxxxxxxxxxxxxxxxxxxx
        SENDGRID_API_KEY=SG.your-key-here
        INVOICE_FROM=billing@example.com
        '''))

    add(F, "dotenv", "web/.env.sample", T('''
        VITE_API_URL=http://localhost:3000
        VITE_SENTRY_DSN=
        VITE_GOOGLE_MAPS_KEY=your-google-maps-browser-key
        GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        SLACK_BOT_TOKEN=xoxb-your-token
        OPENAI_API_KEY=sk-...
        ANALYTICS_ID=G-XXXXXXXXXX
        FEATURE_NEW_NAV=true
        '''))

    add(F, "python", "tests/test_s3_upload.py", T('''
        import boto3
        import pytest
        from moto import mock_aws

        from uploader import upload


        @pytest.fixture
        def s3(monkeypatch):
            # documented AWS example credentials; moto never contacts AWS
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            with mock_aws():
                client = boto3.client("s3")
                client.create_bucket(Bucket="test-bucket")
                yield client


        def test_upload_puts_object(s3):
            upload("test-bucket", "a.txt", b"hello")
            body = s3.get_object(Bucket="test-bucket", Key="a.txt")["Body"].read()
            assert body == b"hello"
        '''))

    add(F, "kubernetes", "k8s/ca/configmap.yaml", T('''
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: internal-ca
          namespace: kube-system
          labels:
            trust.acme.example/bundle: "true"
        data:
          ca.crt: |
        @@c@@
        ''', c=indent(certificate(), 4)))

    add(F, "xml", "sso/idp-metadata.xml", T('''
        <?xml version="1.0" encoding="UTF-8"?>
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
                             xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
                             entityID="https://idp.acme.example/saml">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="signing">
              <ds:KeyInfo>
                <ds:X509Data>
                  <ds:X509Certificate>@@c@@</ds:X509Certificate>
                </ds:X509Data>
              </ds:KeyInfo>
            </md:KeyDescriptor>
            <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
            <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
                                    Location="https://idp.acme.example/saml/sso"/>
          </md:IDPSSODescriptor>
        </md:EntityDescriptor>
        ''', c=b64(cert_der())))

    n1 = base64.urlsafe_b64encode(rand_bytes(256)).decode().rstrip("=")
    n2 = base64.urlsafe_b64encode(rand_bytes(256)).decode().rstrip("=")
    add(F, "json", "public/.well-known/jwks.json", T('''
        {
          "keys": [
            {
              "kty": "RSA",
              "use": "sig",
              "alg": "RS256",
              "kid": "@@k1@@",
              "n": "@@n1@@",
              "e": "AQAB"
            },
            {
              "kty": "RSA",
              "use": "sig",
              "alg": "RS256",
              "kid": "@@k2@@",
              "n": "@@n2@@",
              "e": "AQAB"
            }
          ]
        }
        ''', k1=hexs(16), k2=hexs(16), n1=n1, n2=n2))

    add(F, "php", "templates/contact.php", T('''
        <?php
        // reCAPTCHA *site* key: public, rendered into the page.
        // The secret key is read from the environment in ContactController.
        $recaptchaSiteKey = '6Le@@k@@';
        ?>
        <form method="post" action="/contact">
          <label>Name <input name="name" required></label>
          <label>Email <input name="email" type="email" required></label>
          <label>Message <textarea name="message" rows="6"></textarea></label>
          <div class="g-recaptcha" data-sitekey="<?= htmlspecialchars($recaptchaSiteKey) ?>"></div>
          <button type="submit">Send</button>
        </form>
        <script src="https://www.google.com/recaptcha/api.js" async defer></script>
        ''', k=mixed(B64URL, 37)))

    add(F, "markdown", "docs/payments.md", T('''
        # Payments integration

        Use test-mode keys while developing. Stripe's test keys start with
        `sk_test_` (secret) and `pk_test_` (publishable):

        ```bash
        export STRIPE_SECRET_KEY=sk_test_YOUR_TEST_KEY
        stripe listen --forward-to localhost:4100/webhooks/stripe
        ```

        ```js
        const stripe = require("stripe")(process.env.STRIPE_SECRET_KEY);
        ```

        Live keys (`sk_live_...`) are only available in the production secret
        store. Card number `4242 4242 4242 4242` with any future expiry works in
        test mode.
        '''))

    add(F, "yaml", ".github/workflows/verify-release.yml", T('''
        name: verify-release
        on:
          release:
            types: [published]
        env:
          # cosign public key for verifying our images (the private half is in KMS)
          COSIGN_PUBLIC_KEY: |
        @@k@@
        jobs:
          verify:
            runs-on: ubuntu-latest
            steps:
              - uses: sigstore/cosign-installer@v3
              - run: |
                  echo "$COSIGN_PUBLIC_KEY" > cosign.pub
                  cosign verify --key cosign.pub ghcr.io/acme/api:${{ github.event.release.tag_name }}
        ''', k=indent(pem("PUBLIC KEY", bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004") + rand_bytes(64)), 4)))

    add(F, "json", "src-tauri/tauri.conf.json", T('''
        {
          "productName": "Acme Notes",
          "version": "1.6.2",
          "identifier": "example.acme.notes",
          "build": {
            "frontendDist": "../dist"
          },
          "plugins": {
            "updater": {
              "endpoints": ["https://releases.acme.example/notes/{{target}}/{{current_version}}"],
              "pubkey": "@@k@@"
            }
          },
          "bundle": {
            "active": true,
            "targets": ["dmg", "msi", "appimage"]
          }
        }
        ''', k=b64s("untrusted comment: minisign public key " + hexs(16).upper() + "\n" + b64(b"Ed" + rand_bytes(40)) + "\n")))

    add(F, "terraform", "infra/keys.tf", T('''
        resource "aws_key_pair" "ops" {
          key_name   = "ops-2024"
          public_key = "@@k@@"
        }

        resource "aws_key_pair" "ci" {
          key_name   = "ci-runner"
          public_key = file("${path.module}/keys/ci.pub")
        }

        output "ops_key_fingerprint" {
          value = aws_key_pair.ops.fingerprint
        }
        ''', k=ssh_ed25519_pub("ops@acme")))

    add(F, "javascript", "web/src/monitoring.js", T('''
        import * as Sentry from "@sentry/browser";

        // DSNs are public: they only allow sending events, never reading them.
        Sentry.init({
          dsn: "https://@@k@@@o@@o@@.ingest.sentry.io/@@p@@",
          release: import.meta.env.VITE_RELEASE,
          environment: import.meta.env.MODE,
          tracesSampleRate: 0.1,
          replaysSessionSampleRate: 0,
        });

        export function report(err, context = {}) {
          Sentry.withScope((scope) => {
            scope.setExtras(context);
            Sentry.captureException(err);
          });
        }
        ''', k=hexs(32), o=digits(6), p=digits(7)))

    add(F, "javascript", "web/src/map.js", T('''
        import mapboxgl from "mapbox-gl";

        // public (pk.) token, URL-restricted to *.acme.example in the Mapbox account
        mapboxgl.accessToken = "pk.@@a@@.@@b@@";

        export function mountMap(el, center) {
          const map = new mapboxgl.Map({
            container: el,
            style: "mapbox://styles/mapbox/streets-v12",
            center,
            zoom: 11,
          });
          map.addControl(new mapboxgl.NavigationControl());
          return map;
        }
        ''', a=base64.urlsafe_b64encode(json.dumps({"u": "acme-web", "a": pick(LOWER + DIGITS, 25)}, separators=(",", ":")).encode()).decode().rstrip("="),
        b=mixed(B64URL, 22)))

    add(F, "csharp", "src/Acme.Trust/PinnedCertificates.cs", T('''
        using System;
        using System.Security.Cryptography.X509Certificates;

        namespace Acme.Trust
        {
            // Public certificate of the partner API, pinned for mutual trust.
            public static class PinnedCertificates
            {
                private const string PartnerCertBase64 =
                    "@@c@@";

                public static X509Certificate2 Partner() =>
                    new X509Certificate2(Convert.FromBase64String(PartnerCertBase64));

                public static bool Matches(X509Certificate2 presented) =>
                    presented.Thumbprint == Partner().Thumbprint;
            }
        }
        ''', c=b64(cert_der())))

    add(F, "yaml", "deploy/kubeconfig-ci.yaml", T('''
        apiVersion: v1
        kind: Config
        clusters:
          - name: prod-eu
            cluster:
              server: https://10.40.0.10:6443
              certificate-authority-data: @@ca@@
        users:
          - name: ci
            user:
              exec:
                apiVersion: client.authentication.k8s.io/v1beta1
                command: aws
                args: ["eks", "get-token", "--cluster-name", "prod-eu"]
        contexts:
          - name: ci@prod-eu
            context:
              cluster: prod-eu
              user: ci
              namespace: apps
        current-context: ci@prod-eu
        ''', ca=b64s(certificate())))

    add(F, "pem", "certs/intermediate.pem", T('''
        subject=C = US, O = Acme Internal, CN = Acme Issuing CA 2
        issuer=C = US, O = Acme Internal, CN = Acme Root CA
        @@c@@
        ''', c=certificate()))

    add(F, "go", "internal/verify/keys.go", T('''
        package verify

        import (
        	"crypto/ed25519"
        	"encoding/base64"
        )

        // Public keys allowed to sign plugin bundles. Private halves live in the HSM.
        var trustedKeys = []string{
        	"@@a@@",
        	"@@b@@",
        }

        func Keys() ([]ed25519.PublicKey, error) {
        	out := make([]ed25519.PublicKey, 0, len(trustedKeys))
        	for _, k := range trustedKeys {
        		raw, err := base64.StdEncoding.DecodeString(k)
        		if err != nil {
        			return nil, err
        		}
        		out = append(out, ed25519.PublicKey(raw))
        	}
        	return out, nil
        }
        ''', a=b64(rand_bytes(32)), b=b64(rand_bytes(32))))


# ==========================================================================
# family: placeholder-and-reference (all negatives)
# ==========================================================================
def fam_placeholder():
    F = "placeholder-and-reference"

    add(F, "kubernetes", "charts/api/templates/secret.yaml", T('''
        apiVersion: v1
        kind: Secret
        metadata:
          name: {{ include "api.fullname" . }}
          labels:
            {{- include "api.labels" . | nindent 4 }}
        type: Opaque
        data:
          DB_PASSWORD: {{ .Values.db.password | b64enc | quote }}
          API_TOKEN: {{ required "apiToken is required" .Values.apiToken | b64enc | quote }}
          {{- if .Values.smtp.enabled }}
          SMTP_PASSWORD: {{ .Values.smtp.password | b64enc | quote }}
          {{- end }}
        '''))

    add(F, "github-actions", ".github/workflows/deploy.yml", T('''
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
                  role-to-assume: arn:aws:iam::123456789012:role/gha-deploy
                  aws-region: eu-west-1
              - run: ./scripts/deploy.sh
                env:
                  DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
                  API_TOKEN: ${{ secrets.API_TOKEN }}
                  SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}
                  DEPLOY_ENV: ${{ vars.DEPLOY_ENV }}
        '''))

    add(F, "python", "app/config.py", T('''
        import os
        from dataclasses import dataclass


        @dataclass(frozen=True)
        class Settings:
            db_host: str
            db_password: str
            api_key: str
            secret_key: str


        def load() -> Settings:
            return Settings(
                db_host=os.environ.get("DB_HOST", "localhost"),
                db_password=os.environ["PASSWORD"],
                api_key=os.getenv("API_KEY", ""),
                secret_key=os.environ["SECRET_KEY"],
            )


        password = os.environ.get("SMTP_PASSWORD")
        token = os.getenv("GITHUB_TOKEN") or ""
        '''))

    add(F, "dotenv", ".env.defaults", T('''
        # Defaults only - real values come from the deployment environment.
        APP_ENV=development
        DB_HOST=localhost
        DB_USER=app
        DB_PASSWORD=changeme
        API_KEY=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
        API_SECRET=<your-api-secret>
        GITHUB_TOKEN=<your-token>
        JWT_SECRET=replace-me-with-a-long-random-string
        ADMIN_PASSWORD=
        '''))

    add(F, "docker-compose", "docker-compose.yml", T('''
        services:
          db:
            image: postgres:16
            environment:
              POSTGRES_USER: app
              POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}
              POSTGRES_DB: app
          api:
            build: .
            environment:
              DATABASE_URL: postgres://app:${POSTGRES_PASSWORD}@db:5432/app
              API_KEY_FILE: /run/secrets/api_key
            secrets:
              - api_key
            depends_on: [db]
        secrets:
          api_key:
            file: ./secrets/api_key.txt
        '''))

    add(F, "shell", "scripts/start.sh", T('''
        #!/bin/sh
        # Entry point: read mounted secrets into the environment.
        set -eu

        DB_PASSWORD=$(cat /run/secrets/db_password)
        API_TOKEN="$(vault kv get -field=token secret/data/api)"
        SIGNING_KEY=$(aws secretsmanager get-secret-value --secret-id prod/signing --query SecretString --output text)
        export DB_PASSWORD API_TOKEN SIGNING_KEY

        : "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"

        exec /app/server --password-file /run/secrets/admin_password "$@"
        '''))

    add(F, "ini", "etc/app.cfg", T('''
        [DEFAULT]
        host = db.internal
        port = 5432
        user = reporting

        [database]
        # password is substituted from the [secrets] section at load time
        url = postgresql://%(user)s:%(password)s@%(host)s:%(port)s/reports
        password = %(DB_PASSWORD)s
        pool_size = 5

        [smtp]
        password_env = SMTP_PASSWORD
        '''))

    add(F, "kubernetes", "k8s/api/deployment.yaml", T('''
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
          annotations:
            vault.security.banzaicloud.io/vault-addr: https://vault.acme.internal:8200
        spec:
          replicas: 3
          selector:
            matchLabels: {app: api}
          template:
            metadata:
              labels: {app: api}
            spec:
              containers:
                - name: api
                  image: registry.acme.example/api:5.0.1
                  env:
                    - name: DB_PASSWORD
                      value: vault:secret/data/db#password
                    - name: API_TOKEN
                      valueFrom:
                        secretKeyRef:
                          name: api-secrets
                          key: token
        '''))

    add(F, "json", "ecs/task-definition.json", T('''
        {
          "family": "billing-worker",
          "networkMode": "awsvpc",
          "containerDefinitions": [
            {
              "name": "worker",
              "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/billing-worker:3.4.0",
              "essential": true,
              "secrets": [
                {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/billing/db-Xy12Ab"},
                {"name": "STRIPE_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/billing/stripe-key"}
              ],
              "environment": [{"name": "QUEUE", "value": "billing-jobs"}]
            }
          ],
          "cpu": "512",
          "memory": "1024"
        }
        '''))

    vault_hex = "\n".join("          " + hexs(80) for _ in range(5))
    add(F, "yaml", "ansible/group_vars/all/vault.yml", T('''
        ---
        db_admin_user: admin
        db_admin_password: !vault |
                  $ANSIBLE_VAULT;1.1;AES256
        @@v@@
        smtp_relay: smtp.acme.internal
        smtp_port: 587
        ntp_servers:
          - 0.pool.ntp.org
          - 1.pool.ntp.org
        ''', v=vault_hex))

    def enc(n):
        return f"ENC[AES256_GCM,data:{b64(rand_bytes(n))},iv:{b64(rand_bytes(32))},tag:{b64(rand_bytes(16))},type:str]"
    age_block = "-----BEGIN AGE ENCRYPTED FILE-----\\n" + "\\n".join(wrap(b64(rand_bytes(180)), 64).split("\n")) + "\\n-----END AGE ENCRYPTED FILE-----\\n"
    add(F, "yaml", "secrets/prod.enc.yaml", T('''
        database:
            user: ENC[AES256_GCM,data:@@u@@,iv:@@iv@@,tag:@@tg@@,type:str]
            password: @@p@@
        stripe:
            secret_key: @@s@@
        sops:
            age:
                - recipient: age1@@r@@
                  enc: "@@age@@"
            lastmodified: "2024-04-30T09:12:44Z"
            mac: @@mac@@
            unencrypted_suffix: _unencrypted
            version: 3.8.1
        ''', u=b64(rand_bytes(6)), iv=b64(rand_bytes(32)), tg=b64(rand_bytes(16)), p=enc(18), s=enc(80),
        r=pick("023456789acdefghjklmnpqrstuvwxyz", 58), age=age_block, mac=enc(64)))

    add(F, "htpasswd", "ops/nginx/.htpasswd", "".join(
        f"{u}:$2y$10${pick(ALNUM + './', 53)}\n" for u in ("admin", "metrics", "grafana")) +
        f"legacy:$apr1${pick(ALNUM, 8)}${pick(ALNUM + './', 22)}\n")

    add(F, "json", "fixtures/users.json", json.dumps([
        {"model": "accounts.user", "pk": i + 1, "fields": {
            "username": u, "email": f"{u}@example.com", "is_staff": i == 0,
            "password": f"pbkdf2_sha256$600000${pick(ALNUM, 22)}${b64(rand_bytes(32))}"}}
        for i, u in enumerate(["admin", "editor", "viewer"])], indent=2) + "\n")

    def integ():
        return "sha512-" + b64(rand_bytes(64))
    add(F, "json", "package-lock.json", T('''
        {
          "name": "acme-web",
          "version": "2.8.0",
          "lockfileVersion": 3,
          "requires": true,
          "packages": {
            "": {
              "name": "acme-web",
              "version": "2.8.0",
              "dependencies": {"dayjs": "^1.11.10", "nanoid": "^5.0.7"}
            },
            "node_modules/dayjs": {
              "version": "1.11.10",
              "resolved": "https://registry.npmjs.org/dayjs/-/dayjs-1.11.10.tgz",
              "integrity": "@@a@@"
            },
            "node_modules/nanoid": {
              "version": "5.0.7",
              "resolved": "https://registry.npmjs.org/nanoid/-/nanoid-5.0.7.tgz",
              "integrity": "@@b@@",
              "bin": {"nanoid": "bin/nanoid.js"}
            }
          }
        }
        ''', a=integ(), b=integ()))

    mods = ["github.com/go-sql-driver/mysql v1.8.1", "github.com/google/uuid v1.6.0",
            "golang.org/x/crypto v0.22.0", "golang.org/x/sys v0.19.0", "gopkg.in/yaml.v3 v3.0.1"]
    add(F, "go.sum", "go.sum", "".join(
        f"{m} h1:{b64(rand_bytes(32))}\n{m}/go.mod h1:{b64(rand_bytes(32))}\n" for m in mods))

    add(F, "github-actions", ".github/workflows/ci.yml", T('''
        name: ci
        on: [push, pull_request]
        permissions:
          contents: read
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@@@a@@ # v4.1.4
              - uses: actions/setup-go@@@b@@ # v5.0.0
                with:
                  go-version-file: go.mod
              - run: go test ./...
              - uses: codecov/codecov-action@@@c@@ # v4.3.0
                with:
                  token: ${{ secrets.CODECOV_TOKEN }}
        ''', a=hexs(40), b=hexs(40), c=hexs(40)))

    add(F, "markdown", "README.md", T('''
        # Acme Notes

        ![logo](data:image/png;base64,@@img@@)

        A small note-taking app.

        ## Getting started

        1. Copy `.env.example` to `.env`.
        2. Set `API_TOKEN=your-token-here` and `DB_PASSWORD=...`.
        3. Run `docker compose up`.

        Commit `abc` refs such as `@@sha@@` are reproducible builds.
        ''', img=b64(bytes.fromhex("89504e470d0a1a0a0000000d49484452") + rand_bytes(150)), sha=hexs(40)))

    add(F, "python", "tests/test_integrity.py", T('''
        import hashlib

        from fetcher import verify

        # Fixed test vectors; none of these are credentials.
        checksum = "@@c@@"
        digest = "sha256:@@d@@"
        nonce = "@@n@@"
        request_id = "@@r@@"
        commit_sha = "@@s@@"


        def test_verify_accepts_matching_checksum(tmp_path):
            f = tmp_path / "blob.bin"
            f.write_bytes(b"hello world")
            assert verify(f, hashlib.sha256(b"hello world").hexdigest())


        def test_nonce_length():
            assert len(nonce) == 24
        ''', c=hexs(64), d=hexs(64), n=b64(rand_bytes(18)), r=uuid4(), s=hexs(40)))

    add(F, "python", "accounts/password_policy.py", T('''
        import re

        MIN_PASSWORD_LENGTH = 12
        MAX_PASSWORD_LENGTH = 128
        PASSWORD_HISTORY = 5
        password_regex = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d).{12,128}$")
        COMMON_PASSWORDS_FILE = "data/common-passwords.txt"


        def check(password: str, previous_hashes: list[str], hasher) -> list[str]:
            problems = []
            if len(password) < MIN_PASSWORD_LENGTH:
                problems.append("too_short")
            if not password_regex.match(password):
                problems.append("weak")
            if any(hasher.verify(password, h) for h in previous_hashes[-PASSWORD_HISTORY:]):
                problems.append("reused")
            return problems
        '''))

    add(F, "json", "locales/en.json", T('''
        {
          "login": {
            "title": "Sign in",
            "username": "Username or email",
            "password": "Enter your password",
            "forgot_password": "Forgot your password?",
            "submit": "Sign in"
          },
          "settings": {
            "api_key": "API key",
            "api_key_help": "Create an API key to use the REST API.",
            "token_expired": "Your session token has expired. Please sign in again.",
            "secret": "Secret",
            "show_secret": "Show secret"
          }
        }
        '''))

    add(F, "po", "locale/de/LC_MESSAGES/django.po", T('''
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Language: de\\n"

        msgid "Password"
        msgstr "Passwort"

        msgid "Enter your password"
        msgstr "Geben Sie Ihr Passwort ein"

        msgid "Your API token"
        msgstr "Ihr API-Token"

        msgid "The secret key was rotated."
        msgstr "Der geheime Schlüssel wurde erneuert."
        '''))

    add(F, "terraform", "infra/rds.tf", T('''
        resource "random_password" "db" {
          length  = 32
          special = false
        }

        resource "aws_db_instance" "main" {
          identifier          = "main-${var.env}"
          engine              = "postgres"
          engine_version      = "16.2"
          instance_class      = var.instance_class
          username            = var.db_username
          password            = random_password.db.result
          skip_final_snapshot = false
        }

        data "aws_secretsmanager_secret_version" "api" {
          secret_id = "prod/api/token"
        }

        variable "db_password" {
          type      = string
          sensitive = true
        }
        '''))

    add(F, "java", "src/main/java/com/acme/auth/JwtConfig.java", T('''
        package com.acme.auth;

        import org.springframework.beans.factory.annotation.Value;
        import org.springframework.context.annotation.Configuration;

        @Configuration
        public class JwtConfig {
            @Value("${jwt.secret}")
            private String jwtSecret;

            @Value("${jwt.ttl-seconds:900}")
            private long ttlSeconds;

            @Value("${spring.datasource.password}")
            private String dbPassword;

            public String secret() {
                return jwtSecret;
            }

            public long ttlSeconds() {
                return ttlSeconds;
            }
        }
        '''))

    add(F, "csharp", "src/Api/Startup.cs", T('''
        using Microsoft.Extensions.Configuration;
        using Microsoft.Extensions.DependencyInjection;

        namespace Acme.Api
        {
            public class Startup
            {
                private readonly IConfiguration _config;

                public Startup(IConfiguration config) => _config = config;

                public void ConfigureServices(IServiceCollection services)
                {
                    var apiKey = _config["ApiKey"];
                    var connectionString = _config.GetConnectionString("Default");
                    var clientSecret = _config["AzureAd:ClientSecret"];
                    services.AddSingleton(new PartnerClient(apiKey));
                    services.AddDbContext<AppDb>(o => o.UseSqlServer(connectionString));
                    services.AddAuth(clientSecret);
                }
            }
        }
        '''))

    add(F, "xml", "src/Api/Api.csproj", T('''
        <Project Sdk="Microsoft.NET.Sdk.Web">
          <PropertyGroup>
            <TargetFramework>net8.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <UserSecretsId>@@u@@</UserSecretsId>
            <ProjectGuid>{@@g@@}</ProjectGuid>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="Microsoft.Identity.Web" Version="2.17.0" />
            <PackageReference Include="Serilog.AspNetCore" Version="8.0.1" />
          </ItemGroup>
        </Project>
        ''', u=uuid4(), g=uuid4().upper()))

    add(F, "php", "config/database.php", T('''
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
                    'password' => getenv('REDIS_PASSWORD') ?: null,
                ],
            ],
        ];
        '''))

    add(F, "ruby", "config/initializers/aws.rb", T('''
        # frozen_string_literal: true

        Aws.config.update(
          region: ENV.fetch("AWS_REGION", "eu-west-1"),
          credentials: Aws::Credentials.new(
            Rails.application.credentials.dig(:aws, :access_key_id),
            Rails.application.credentials.dig(:aws, :secret_access_key)
          )
        )

        Rails.application.config.secret_key_base = ENV.fetch("SECRET_KEY_BASE")
        SLACK_TOKEN = ENV["SLACK_TOKEN"]
        '''))

    add(F, "toml", "deploy/agent.toml", T('''
        [agent]
        name = "edge-agent"
        interval = "30s"

        [upstream]
        url = "https://ingest.acme.example"
        token_file = "/etc/edge-agent/token"
        password = "${INGEST_PASSWORD}"

        [tls]
        ca = "/etc/edge-agent/ca.pem"
        insecure_skip_verify = false
        '''))

    add(F, "sql", "db/init/01-roles.sql", T('''
        -- run with: psql -v app_password="$APP_PASSWORD" -f 01-roles.sql
        CREATE ROLE app LOGIN PASSWORD :'app_password';

        -- migrated from the old cluster; this is a SCRAM verifier, not the password
        CREATE ROLE legacy_reader LOGIN PASSWORD 'SCRAM-SHA-256$4096:@@s@@$@@k@@:@@v@@';

        GRANT CONNECT ON DATABASE app TO app, legacy_reader;
        GRANT USAGE ON SCHEMA public TO legacy_reader;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO legacy_reader;
        ''', s=b64(rand_bytes(16)), k=b64(rand_bytes(32)), v=b64(rand_bytes(32))))

    add(F, "makefile", "tools/Makefile", T('''
        TOKEN ?= $(shell cat .token 2>/dev/null)
        API   ?= https://api.acme.example

        .PHONY: check sync

        check:
        	@test -n "$(TOKEN)" || (echo "put your API token into .token" && exit 1)

        sync: check
        	curl -fsS -H "Authorization: Bearer $(TOKEN)" $(API)/v1/sync

        password-prompt:
        	@read -s -p "Password: " PASSWORD && echo && ./bin/login --password "$$PASSWORD"
        '''))

    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
             "source": ["import getpass\n", "import os\n", "\n",
                        "password = getpass.getpass(\"Password: \")\n",
                        "api_key = os.environ[\"WAREHOUSE_API_KEY\"]\n"]},
            {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
             "source": ["client = Warehouse(user=\"me\", password=password, api_key=api_key)\n", "client.tables()"]},
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    add(F, "ipynb", "notebooks/explore.ipynb", json.dumps(nb, indent=1) + "\n")

    add(F, "xml", "ci/settings.xml", T('''
        <?xml version="1.0" encoding="UTF-8"?>
        <settings>
          <servers>
            <server>
              <id>acme-releases</id>
              <username>${env.NEXUS_USER}</username>
              <password>${env.NEXUS_PASSWORD}</password>
            </server>
            <server>
              <id>docker-registry</id>
              <username>ci</username>
              <password>${env.REGISTRY_TOKEN}</password>
            </server>
          </servers>
        </settings>
        '''))


# ==========================================================================
# assembly, labelling and self-check
# ==========================================================================
POSITIVE_FAMILIES = ["provider-token", "private-key", "aws", "netrc-pgpass-mycnf-gitcreds", "command-line",
                     "url-credentials", "basic-auth", "webhook-bot", "generic-assignment", "binary-key-material"]
NEGATIVE_ONLY_FAMILIES = ["public-material", "placeholder-and-reference"]
SLUG = {"github-actions": "gha", "gitlab-ci": "gitlabci", "docker-compose": "compose", "kubernetes": "k8s",
        "git-credentials": "gitcreds", "ssh-private-key": "sshkey", "ssh-public-key": "sshpub",
        "authorized_keys": "authkeys", "javascript": "js", "typescript": "ts", "python": "py"}


def resolve(case):
    """Turn (needle, what) pairs into [{"line", "what"}], one per line holding the needle."""
    text = case["text"]
    out = []
    for needle, what in case["secrets"]:
        if isinstance(needle, int):
            out.append({"line": needle, "what": what})
            continue
        assert isinstance(text, str), case["path"]
        start, lines = 0, []
        while True:
            i = text.find(needle, start)
            if i < 0:
                break
            ln = text.count("\n", 0, i) + 1
            if ln not in lines:
                lines.append(ln)
            start = i + 1
        assert lines, f"{case['path']}: needle for {what!r} not found"
        out += [{"line": ln, "what": what} for ln in lines]
    out.sort(key=lambda s: s["line"])
    return out


def build():
    for fam in (fam_provider_token, fam_private_key, fam_aws, fam_credfiles, fam_command_line,
                fam_url_credentials, fam_basic_auth, fam_webhook_bot, fam_generic, fam_binary,
                fam_public, fam_placeholder):
        fam()
    cases = list(CASES)
    rng.shuffle(cases)
    records = []
    for n, c in enumerate(cases, 1):
        raw = c["text"] if isinstance(c["text"], bytes) else c["text"].encode("utf-8")
        records.append({
            "id": f"h{n:04d}-{SLUG.get(c['format'], c['format'])}",
            "family": c["family"],
            "format": c["format"],
            "path": c["path"],
            "text_b64": base64.b64encode(raw).decode(),
            "secrets": resolve(c),
            "_case": c,
        })
    return records


def self_check(records):
    problems, warnings = [], []
    positive_needles = set()
    for r in records:
        for needle, _ in r["_case"]["secrets"]:
            if isinstance(needle, str) and len(needle) >= 12 and not needle.startswith("-----BEGIN") \
                    and not needle.startswith('"-----BEGIN'):
                positive_needles.add(needle)
    paths = set()
    for r in records:
        c = r["_case"]
        raw = base64.b64decode(r["text_b64"])
        if r["path"] in paths:
            problems.append(f"{r['id']}: duplicate path {r['path']}")
        paths.add(r["path"])
        is_binary = isinstance(c["text"], bytes)
        text = None if is_binary else raw.decode("utf-8")
        if text is not None:
            if "@@" in text:
                problems.append(f"{r['id']}: unfilled template slot")
            if not text.endswith("\n"):
                warnings.append(f"{r['id']}: no trailing newline")
            nlines = text.count("\n") + (0 if text.endswith("\n") else 1)
            if not 1 <= nlines <= 70:
                warnings.append(f"{r['id']}: {nlines} lines")
        for s in r["secrets"]:
            ln = s["line"]
            if ln == 0:
                if r["family"] != "binary-key-material":
                    problems.append(f"{r['id']}: line 0 outside binary-key-material")
                continue
            if text is None:
                problems.append(f"{r['id']}: line {ln} label on binary file")
                continue
            lines = text.split("\n")
            if not 1 <= ln <= len(lines) or not lines[ln - 1].strip():
                problems.append(f"{r['id']}: labelled line {ln} missing or blank")
        if r["family"] in NEGATIVE_ONLY_FAMILIES and r["secrets"]:
            problems.append(f"{r['id']}: negative-only family has labels")
        if not r["secrets"] and text is not None:
            for needle in positive_needles:
                if needle in text:
                    problems.append(f"{r['id']}: negative file contains a positive secret")
    # family coverage
    for fam in POSITIVE_FAMILIES + NEGATIVE_ONLY_FAMILIES:
        rs = [r for r in records if r["family"] == fam]
        pos_secrets = sum(len(r["secrets"]) for r in rs)
        pos_formats = {r["format"] for r in rs if r["secrets"]}
        negs = sum(1 for r in rs if not r["secrets"])
        if fam in POSITIVE_FAMILIES:
            if pos_secrets < 6 or len(pos_formats) < 3:
                problems.append(f"{fam}: only {pos_secrets} secrets over {len(pos_formats)} formats")
            if negs < 4:
                problems.append(f"{fam}: only {negs} hard negatives")
        elif negs < 25:
            problems.append(f"{fam}: only {negs} negatives")
    formats = {r["format"] for r in records}
    if len(formats) < 25:
        problems.append(f"only {len(formats)} formats")
    if not 200 <= len(records) <= 260:
        problems.append(f"{len(records)} files (want 200-260)")
    return problems, warnings


def summary(records):
    fams = POSITIVE_FAMILIES + NEGATIVE_ONLY_FAMILIES
    out = ["| family | positive files | labelled secrets | negative files | formats |",
           "|---|---:|---:|---:|---|"]
    for fam in fams:
        rs = [r for r in records if r["family"] == fam]
        pos = [r for r in rs if r["secrets"]]
        out.append(f"| {fam} | {len(pos)} | {sum(len(r['secrets']) for r in pos)} | {len(rs) - len(pos)} | "
                   + ", ".join(sorted({r['format'] for r in rs})) + " |")
    pos = [r for r in records if r["secrets"]]
    out.append(f"| **total** | {len(pos)} | {sum(len(r['secrets']) for r in pos)} | {len(records) - len(pos)} | "
               f"{len({r['format'] for r in records})} formats |")
    out += ["", "| format | files | positive | negative |", "|---|---:|---:|---:|"]
    for fmt in sorted({r["format"] for r in records}):
        rs = [r for r in records if r["format"] == fmt]
        p = sum(1 for r in rs if r["secrets"])
        out.append(f"| {fmt} | {len(rs)} | {p} | {len(rs) - p} |")
    return "\n".join(out)


def main(argv):
    records = build()
    problems, warnings = self_check(records)
    for w in warnings:
        print("warning:", w, file=sys.stderr)
    if problems:
        for p in problems:
            print("PROBLEM:", p, file=sys.stderr)
        return 1
    if "--summary" in argv:
        print(summary(records))
        return 0
    for r in records:
        r.pop("_case")
        print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
